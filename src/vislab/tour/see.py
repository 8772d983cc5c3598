"""The hand-written tour steps with a pretrained ImageNet network, classify and saliency: each calls the
capability's job with the tour's own settings and adds an overview picture (the other capabilities' steps are
their records' tour settings, `steps.record_step`)."""

from __future__ import annotations

from pathlib import Path

from .. import runs
from ..images import SAMPLE_PHOTOS, load_image, save_image
from .annotate import labeled_grid
from .steps import TourSettings, job_options


def classify(run_dir: Path, s: TourSettings) -> str:
    """Top-5 ImageNet classes of the built-in sample photos."""
    from ..backbones.classify_job import ClassifySettings, run

    names = s.pick(full=SAMPLE_PHOTOS, quick=SAMPLE_PHOTOS, smoke=SAMPLE_PHOTOS[:2])
    settings = ClassifySettings(images=[f"sample:{n}" for n in names], device=s.device)
    result = run(settings, run_dir, **job_options("classify", settings, positional=("images",)))
    imgs = [load_image(p) for p in settings.images]
    labels = [[name, *(f"{p.prob:5.1%}  {p.name}" for p in top[:2])] for name, top in zip(names, result.predictions)]
    save_image(labeled_grid(imgs, labels, size=200), run_dir / "predictions.png")
    return "predictions.png"


def saliency(run_dir: Path, s: TourSettings) -> str:
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
