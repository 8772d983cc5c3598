"""Tour steps with a pretrained ImageNet network: classify, saliency, fool, dream (class visualization),
style."""

from __future__ import annotations

from pathlib import Path

import torch

from .. import runs
from ..fileio import write_json
from ..images import SAMPLE_IMAGES, load_image, overlay, save_image
from .annotate import labeled_grid
from .steps import Settings, backbone, start

MODEL = "efficientnet_lite0"


def classify(run_dir: Path, s: Settings) -> str:
    """Top-5 ImageNet classes of the built-in sample photos."""
    from ..backbones.predict import classify as top_k

    names = s.pick(full=SAMPLE_IMAGES, quick=SAMPLE_IMAGES, smoke=SAMPLE_IMAGES[:2])
    specs = [f"sample:{n}" for n in names]
    log = start(run_dir, {"model": MODEL, "images": specs, "topk": 5},
                f"vislab classify {' '.join(specs)} --topk 5")
    imgs = [load_image(p) for p in specs]
    preds = top_k(backbone(s.device), imgs, topk=5)
    # One row: per-image numbers are not a curve over steps (predictions.json has the details).
    log.log(0, **{f"top1_prob_{name}": round(top[0].prob, 4) for name, top in zip(names, preds)})
    write_json(run_dir / "predictions.json", {
        spec: [{"class": p.name, "index": p.index, "prob": round(p.prob, 4)} for p in top]
        for spec, top in zip(specs, preds)})
    labels = [[name, *(f"{p.prob:5.1%}  {p.name}" for p in top[:2])] for name, top in zip(names, preds)]
    save_image(labeled_grid(imgs, labels, size=200), run_dir / "predictions.png")
    return "predictions.png"


def saliency(run_dir: Path, s: Settings) -> str:
    """Saliency maps of sample photos for their top class: gradients, SmoothGrad (full: integrated
    gradients too)."""
    from ..visualize import maps as vis
    names = s.pick(full=["chelsea", "coffee", "astronaut", "rocket"], quick=["chelsea", "coffee"],
                   smoke=["coffee"])
    methods = s.pick(full=["vanilla", "smoothgrad", "ig"], quick=["vanilla", "smoothgrad"], smoke=["vanilla"])
    n_samples, n_steps = s.pick(full=(16, 32), quick=(8, 16), smoke=(2, 4))
    specs = [f"sample:{n}" for n in names]
    log = start(run_dir, {"model": MODEL, "images": specs, "methods": methods, "target": "top class",
                          "samples": n_samples, "steps": n_steps, "seed": s.seed},
                " ; ".join(f"vislab saliency {' '.join(specs)} --method {m} --samples {n_samples} "
                           f"--steps {n_steps}" for m in methods))
    bb = backbone(s.device)
    x = torch.cat([bb.prepare(load_image(p)) for p in specs])
    with torch.no_grad():
        probs = bb.logits(x).softmax(-1)
    targets = probs.argmax(-1)
    maps = {m: vis.saliency_maps(bb, x, targets, m, n_samples=n_samples, n_steps=n_steps, seed=s.seed).cpu()
            for m in methods}
    titles = {"vanilla": "gradient", "smoothgrad": "SmoothGrad", "ig": "integrated gradients"}
    pics, labels, row = [], [], {}
    for i, name in enumerate(names):
        cls, p = bb.class_name(int(targets[i])), float(probs[i, targets[i]])
        row[f"target_prob_{name}"], row[f"target_{name}"] = round(p, 4), cls
        pics.append(x[i].cpu())
        labels.append([name, f"{cls} ({p:.0%})"])
        for m in methods:
            heat = maps[m][i]
            # A few pixels dominate a gradient map: scale to its 99th percentile so the rest shows.
            heat = (heat / heat.flatten().quantile(0.99).clamp_min(1e-12)).clamp(0, 1)
            pics.append(overlay(x[i].cpu(), heat, alpha=0.65))
            labels.append([titles[m], ""])
    log.log(0, **row)
    save_image(labeled_grid(pics, labels, size=200, ncol=len(methods) + 1), run_dir / "saliency.png")
    return "saliency.png"


def fool(run_dir: Path, s: Settings) -> str:
    """One fooling image: a sample photo changed imperceptibly until the network calls it a stingray."""
    from ..visualize import fooling, plots
    image, target_name, lr = "sample:chelsea", "stingray", 0.25
    max_iters = s.pick(full=100, quick=100, smoke=2)
    log = start(run_dir, {"model": MODEL, "image": image, "target": target_name, "lr": lr,
                          "max_iters": max_iters, "seed": s.seed},
                f"vislab fool {image} --target {target_name} --lr {lr} --max-iters {max_iters}")
    bb = backbone(s.device)
    img = load_image(image)
    target = bb.class_index(target_name)
    res = fooling.make_fooling_image(img, target, bb, lr=lr, max_iters=max_iters, progress=True,
                                     on_step=lambda it, _idx, p: log.log(it, target_prob=float(p[0])))
    r = res.summary(0)
    before, after = bb.class_name(r["before_class"]), bb.class_name(r["after_class"])
    save_image(res.image[0], run_dir / "fooling.png")
    plots.fooling_figure(img, res.image[0].cpu(), run_dir / "figure.png",
                         original_title=f"original: {before} ({r['before_prob']:.1%})",
                         fooling_title=f"fooling: {after} ({r['after_prob']:.1%})\n"
                                       f"after {r['iterations']} steps",
                         linf=r["linf"], l2=r["l2"])
    write_json(run_dir / "result.json",
               {**r, "target_name": bb.class_name(target), "before_name": before, "after_name": after})
    return "figure.png"


def dream(run_dir: Path, s: Settings) -> str:
    """Two class visualizations: images the network takes for a flamingo and a tarantula, grown from noise."""
    from ..visualize import class_viz as cv
    from ..visualize import plots
    classes = ("flamingo", "tarantula")
    steps, views, size = s.pick(full=(160, 2, 192), quick=(50, 2, 128), smoke=(2, 1, 64))
    log = start(run_dir, {"model": MODEL, "classes": list(classes), "param": "fourier", "steps": steps,
                          "views": views, "size": size, "seed": s.seed},
                " ; ".join(f"vislab dream --class {c} --steps {steps} --views {views} --size {size}"
                           for c in classes))
    bb = backbone(s.device)
    for name in classes:
        curve: tuple[list[int], list[float]] = ([], [])

        def on_step(step: int, logit: float, prob: float, name: str = name, curve=curve) -> None:
            log.log(step, **{f"p_{name}": prob})
            curve[0].append(step)
            curve[1].append(prob)

        res = cv.create_class_visualization(bb.class_index(name), bb, param="fourier", size=size, steps=steps,
                                            views=views, seed=s.seed, progress=True,
                                            log_every=max(1, steps // 30), on_step=on_step)
        save_image(res.image, run_dir / f"{name}.png")
        plots.dream_figure(res.image.cpu(), run_dir / f"{name}_figure.png",
                           title=f"{name}: p = {res.prob:.1%} after {res.steps} steps", steps=curve[0],
                           probs=curve[1], target_name=name)
    return f"{classes[0]}.png"


def style(run_dir: Path, s: Settings) -> str:
    """Style transfer of a built-in photo with the painterly style image made in code (`tour.painterly`)."""
    from ..style import recorder, transfer
    from .painterly import painterly_image

    content_spec = "sample:chelsea"
    # The library's default weights; fewer iterations than its default 300 for quick, but not below ~100:
    # before that L-BFGS has not yet moved the photo's colours toward the painting's.
    size, iterations, scales = s.pick(full=(256, 300, 1), quick=(192, 150, 1), smoke=(48, 2, 1))
    settings = transfer.Settings(image_size=size, iterations=iterations, scales=scales, seed=s.seed)
    painting = painterly_image(256, seed=s.seed)
    save_image(painting, run_dir / "style.png")
    runs.write_config(run_dir, {"content": content_spec, "model": MODEL,
                                "style": f"style.png (tour.painterly, seed {s.seed})", **settings.to_dict()},
                      command=f"vislab style {content_spec} style.png --image-size {size} --iterations "
                              f"{iterations} --scales {scales}")
    result = transfer.style_transfer(backbone(s.device), load_image(content_spec), [painting], settings,
                                     on_step=recorder.Recorder(run_dir), progress=True)
    save_image(result.image, run_dir / "result.png")
    return "result.png"

