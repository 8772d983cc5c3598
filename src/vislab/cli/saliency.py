"""vislab saliency IMAGE... : which pixels a class score depends on (vanilla gradients, SmoothGrad, IG)."""

from __future__ import annotations

import argparse

from .common import add_device, add_model, add_out, add_seed, nonneg_float, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("saliency", help="saliency maps: which pixels the class score depends on",
                       description="Saliency maps of images for a class (default: the predicted class). "
                                   "Writes, per image, a heatmap PNG, an overlay PNG and a figure with a "
                                   "colour bar.")
    p.add_argument("images", nargs="+", metavar="IMAGE",
                   help="image files, or sample:NAME for a built-in photo")
    p.add_argument("--target", metavar="CLASS", default=None,
                   help="class name or index to explain (default: each image's predicted class)")
    p.add_argument("--method", choices=("vanilla", "smoothgrad", "ig"), default="vanilla",
                   help="vanilla gradients (default), smoothgrad (averaged over noisy copies) or ig "
                        "(integrated gradients from a black image)")
    p.add_argument("--samples", type=positive_int, default=25, help="smoothgrad: noisy copies (default 25)")
    p.add_argument("--noise", type=nonneg_float, default=0.15,
                   help="smoothgrad: noise standard deviation in pixel units, images being in [0, 1] "
                        "(default 0.15)")
    p.add_argument("--steps", type=positive_int, default=32,
                   help="ig: intervals the path starts with; the worst are refined (default 32)")
    p.add_argument("--max-steps", type=positive_int, default=512,
                   help="ig: most gradient evaluations per image (default 512)")
    p.add_argument("--tol", type=nonneg_float, default=0.01,
                   help="ig: refine until the attributions sum to the score difference within this fraction "
                        "(default 0.01)")
    p.add_argument("--batch-size", type=positive_int, default=16,
                   help="smoothgrad/ig: network inputs per forward pass; lower it to save memory "
                        "(default 16)")
    add_model(p)
    add_out(p, "saliency")
    add_seed(p)
    add_device(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import torch
    from tqdm.auto import tqdm

    from .. import backbones, runs
    from ..devices import seed_everything
    from ..errors import ConfigError
    from ..images import colorize, load_image, overlay, save_image
    from ..visualize.integrated_gradients import IntegratedGradients
    from ..visualize.maps import saliency_maps
    from ..visualize.plots import display_max, saliency_figure
    from ..visualize.saliency import channel_max

    # Everything a user can get wrong is checked before the run folder is made.
    imgs = [load_image(path) for path in args.images]
    bb = backbones.load(args.model, device=args.device, weights=args.weights)
    target = bb.class_index(args.target) if args.target is not None else None
    if args.method == "ig" and args.max_steps < args.steps:
        raise ConfigError(f"--max-steps {args.max_steps} is smaller than --steps {args.steps}")
    seed_everything(args.seed)
    run_dir = runs.make_run_dir(args.out, "saliency", overwrite=args.overwrite)
    runs.write_config(run_dir, {k: v for k, v in vars(args).items() if k != "func"})
    log = runs.MetricsLog(run_dir)
    label = {"vanilla": "|d score / d pixel|, max over RGB",
             "smoothgrad": "mean |d score / d pixel|, max over RGB",
             "ig": "|integrated gradient|, max over RGB"}[args.method]
    for k, (path, img) in enumerate(tqdm(list(zip(args.images, imgs)), desc="saliency", unit="image",
                                         disable=len(imgs) == 1)):
        view = bb.prepare(img)
        with torch.no_grad():
            probs = bb(view).softmax(dim=1)[0]
        pred = int(probs.argmax())
        t = pred if target is None else target
        extra = {}
        if args.method == "ig":
            ig = IntegratedGradients(bb, n_steps=args.steps, method="adaptive", tol=args.tol,
                                     max_steps=args.max_steps, internal_batch_size=args.batch_size)
            attr, delta = ig.attribute(view, t, return_convergence_delta=True)
            heat = channel_max(attr)[0].cpu()
            gap = float(attr.sum()) - float(delta[0])
            extra = {"ig_steps": ig.steps_used[0], "ig_score_gap": gap,
                     "ig_completeness_error": abs(float(delta[0])) / max(abs(gap), 1e-12)}
        else:
            heat = saliency_maps(bb, view, t, args.method, n_samples=args.samples, stdev=args.noise,
                                 internal_batch_size=args.batch_size, seed=args.seed)[0].cpu()
        stem = f"{k:02d}_{Path(path.removeprefix('sample:')).stem}"
        view_cpu = view[0].cpu()
        top = display_max(heat)  # the same colour scale as the figure's colour bar
        save_image(colorize(heat, "inferno", vmin=0.0, vmax=top), run_dir / f"{stem}_heatmap.png")
        save_image(overlay(view_cpu, heat.clamp(max=top)), run_dir / f"{stem}_overlay.png")
        title = f"target: {bb.class_name(t)} ({t}), p = {float(probs[t]):.1%}"
        if t != pred:
            title += f"\npredicted: {bb.class_name(pred)}, p = {float(probs[pred]):.1%}"
        saliency_figure(view_cpu, heat, run_dir / f"{stem}_figure.png", image_title=title,
                        map_title=f"{args.method} saliency ({bb.name})", colorbar_label=label)
        log.log(k, image=path, target=t, target_name=bb.class_name(t), target_prob=float(probs[t]),
                predicted=pred, predicted_name=bb.class_name(pred), predicted_prob=float(probs[pred]),
                **extra)
        note = ""
        if extra:
            note = (f" [ig: {extra['ig_steps']} gradients, attributions sum to the score difference within "
                    f"{extra['ig_completeness_error']:.2%}]")
        print(f"{path}: {title.replace(chr(10), '; ')}{note} -> {run_dir / (stem + '_figure.png')}")
    return 0
