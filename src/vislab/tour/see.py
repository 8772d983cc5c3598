"""Tour steps with a pretrained ImageNet network: classify, saliency, fool, dream (class visualization),
style. Each calls the capability's job (`run(settings, run_dir, ...)`) with the tour's own settings; the job owns
every other default and writes the run folder. The tour only adds its overview pictures."""

from __future__ import annotations

from pathlib import Path

from .. import runs
from ..images import SAMPLE_IMAGES, load_image, save_image
from .annotate import labeled_grid
from .steps import Settings, job_options

DREAM_QUICK = {"steps": 80, "size": 128}
"""The quick tour's class visualization: smaller and shorter than the defaults (224 px, 200 steps), yet a
flamingo: pink necks and heads over water, p(flamingo) 0.78 after a 1.33x zoom (0.46 at 50 steps; the
network's p of a picture that only fools it at one framing drops there). Chosen with the class-visualization
code of issue 14 as it stood mid-change (at 160 px it then saturated); recheck with quality/tour_grid.py."""

STYLE_QUICK = {"image_size": 256, "iterations": 100}
"""The quick tour's style transfer: half the default's size and two thirds of its iterations per scale (coarse to
fine, 128 then 256 px). Fewer iterations leave noise (256 px at 50 was still noise); the result takes the
painting's colours and strokes. Checked with quality/tour_grid.py (the style loss fraction it prints)."""


def classify(run_dir: Path, s: Settings) -> str:
    """Top-5 ImageNet classes of the built-in sample photos."""
    from ..backbones.classify_job import ClassifySettings, run

    names = s.pick(full=SAMPLE_IMAGES, quick=SAMPLE_IMAGES, smoke=SAMPLE_IMAGES[:2])
    settings = ClassifySettings(images=[f"sample:{n}" for n in names], device=s.device)
    result = run(settings, run_dir, **job_options("classify", settings, positional=("images",)))
    imgs = [load_image(p) for p in settings.images]
    labels = [[name, *(f"{p.prob:5.1%}  {p.name}" for p in top[:2])] for name, top in zip(names, result.predictions)]
    save_image(labeled_grid(imgs, labels, size=200), run_dir / "predictions.png")
    return "predictions.png"


def saliency(run_dir: Path, s: Settings) -> str:
    """Saliency maps of sample photos for their top class: gradients, SmoothGrad (full: integrated gradients
    too), one saliency run per method in a subfolder, and one overview grid."""
    from ..visualize.saliency_job import run
    from ..visualize.settings import SaliencySettings

    names = s.pick(full=["chelsea", "coffee", "astronaut", "rocket"], quick=["chelsea", "coffee"],
                   smoke=["coffee"])
    methods = s.pick(full=["vanilla", "smoothgrad", "ig"], quick=["vanilla", "smoothgrad"], smoke=["vanilla"])
    samples, steps = s.pick(full=(16, 32), quick=(8, 16), smoke=(2, 4))
    results, commands = {}, []
    for m in methods:
        settings = SaliencySettings(images=[f"sample:{n}" for n in names], method=m, samples=samples, steps=steps,
                                    seed=s.seed, device=s.device)
        options = job_options("saliency", settings, positional=("images",))
        results[m] = run(settings, run_dir / m, **options)
        commands.append(options["command"])
    # The step's folder holds one saliency run per method; its own config and metrics say which.
    runs.write_config(run_dir, {"methods": methods, "runs": methods}, command=" ; ".join(commands), kind="saliency")
    log = runs.MetricsLog(run_dir)
    for i, name in enumerate(names):
        log.log(i, image=name, **{f"target_prob_{m}": results[m].rows[i]["target_prob"] for m in methods})
    titles = {"vanilla": "gradient", "smoothgrad": "SmoothGrad", "ig": "integrated gradients"}
    pics, labels = [], []
    for i, name in enumerate(names):
        row = results[methods[0]].rows[i]
        pics.append(load_image(f"sample:{name}"))
        labels.append([name, f"{row['target_name']} ({row['target_prob']:.0%})"])
        for m in methods:
            pics.append(load_image(results[m].files[f"{i:02d}_{name}_overlay"]))
            labels.append([titles[m], ""])
    save_image(labeled_grid(pics, labels, size=200, ncol=len(methods) + 1), run_dir / "saliency.png")
    return "saliency.png"


def fool(run_dir: Path, s: Settings) -> str:
    """One fooling image: a sample photo changed imperceptibly until the network calls it a stingray."""
    from ..visualize.fool_job import run
    from ..visualize.settings import FoolSettings

    settings = FoolSettings(image="sample:chelsea", target="stingray", max_iters=s.pick(full=100, quick=100, smoke=2),
                            seed=s.seed, device=s.device)
    run(settings, run_dir, **job_options("fool", settings, positional=("image",)))
    return "figure.png"


def dream(run_dir: Path, s: Settings) -> str:
    """A class visualization: an image the network takes for a flamingo, grown from noise."""
    from ..visualize.dream_job import run
    from ..visualize.settings import DreamSettings

    # Full: the job's defaults (what `vislab dream --class flamingo` does). Quick: DREAM_QUICK.
    sizes = s.pick(full={}, quick=DREAM_QUICK, smoke={"steps": 2, "views": 1, "size": 64})
    settings = DreamSettings(class_="flamingo", seed=s.seed, device=s.device, **sizes)
    result = run(settings, run_dir, **job_options("dream", settings))
    return result.files["figure"].name


def style(run_dir: Path, s: Settings) -> str:
    """Style transfer of a built-in photo with the painterly style image made in code (`tour.painterly`)."""
    from ..style.runners import run_style
    from ..style.settings import StyleSettings
    from .painterly import painterly_image

    # Full: the job's defaults (what `vislab style PHOTO PAINTING` does). Quick: STYLE_QUICK.
    sizes = s.pick(full={}, quick=STYLE_QUICK, smoke={"image_size": 48, "iterations": 2})
    # The painting lives beside the step's run folder (the job wants an empty folder to start in).
    painting = save_image(painterly_image(256, seed=s.seed), run_dir.parent / f"{run_dir.name}-painting.png")
    settings = StyleSettings(content="sample:chelsea", styles=(str(painting),), seed=s.seed, device=s.device,
                             **sizes)
    run_style(settings, run_dir, **job_options("style", settings, positional=("content", "styles")))
    return "result.png"
