"""vislab fool IMAGE --target CLASS : change an image imperceptibly until the classifier calls it CLASS."""

from __future__ import annotations

import argparse

from .common import add_device, add_model, add_out, add_seed, nonneg_float, nonneg_int, positive_float


def _linf(s: str) -> float:
    v = float(s)
    if not 0 < v <= 255:
        raise argparse.ArgumentTypeError(f"must be in (0, 255] (0-255 pixel units), got {s}")
    return v


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fool", help="fooling image: a small change that makes the classifier say CLASS",
                       description="Make a fooling image: gradient ascent on the target class score with "
                                   "L2-normalized steps until the saved 8-bit image is classified as the "
                                   "target. Writes fooling.png (lossless, at the input's resolution) and "
                                   "figure.png (original | fooling | magnified difference). Exit status 1 "
                                   "when the image could not be fooled within --max-iters.")
    p.add_argument("image", metavar="IMAGE", help="image file, or sample:NAME for a built-in photo")
    p.add_argument("--target", metavar="CLASS", required=True, help="class name or index to reach")
    p.add_argument("--lr", type=positive_float, default=0.25,
                   help="L2 length of each step, in [0, 1] pixel units (default 0.25)")
    p.add_argument("--max-iters", type=nonneg_int, default=100, help="most gradient steps (default 100)")
    p.add_argument("--linf", type=_linf, default=None, metavar="EPS",
                   help="optional budget: change no pixel value by more than EPS (0-255 units, e.g. 4)")
    p.add_argument("--margin", type=nonneg_float, default=0.01,
                   help="stop once the target's logit leads every other class by this much (default 0.01)")
    add_model(p)
    add_out(p, "fool")
    add_seed(p)
    add_device(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import backbones, runs
    from ..devices import seed_everything
    from ..fileio import write_json
    from ..images import load_image, save_image
    from ..visualize.fooling import make_fooling_image
    from ..visualize.plots import fooling_figure

    img = load_image(args.image)
    bb = backbones.load(args.model, device=args.device, weights=args.weights)
    target = bb.class_index(args.target)
    seed_everything(args.seed)
    run_dir = runs.make_run_dir(args.out, "fool", overwrite=args.overwrite)
    runs.write_config(run_dir, {k: v for k, v in vars(args).items() if k != "func"})
    log = runs.MetricsLog(run_dir)
    res = make_fooling_image(img, target, bb, lr=args.lr, max_iters=args.max_iters,
                             linf=None if args.linf is None else args.linf / 255, margin=args.margin,
                             progress=True, on_step=lambda it, _idx, p: log.log(it, target_prob=float(p[0])))
    s = res.summary(0)
    named = {"target_name": bb.class_name(target), "before_name": bb.class_name(s["before_class"]),
             "after_name": bb.class_name(s["after_class"])}
    save_image(res.image[0], run_dir / "fooling.png")
    fooling_figure(img, res.image[0].cpu(), run_dir / "figure.png",
                   original_title=f"original: {named['before_name']} ({s['before_prob']:.1%})\n"
                                  f"p({named['target_name']}) = {s['target_prob_before']:.2%}",
                   fooling_title=f"fooling: {named['after_name']} ({s['after_prob']:.1%})\n"
                                 f"after {s['iterations']} steps", linf=s["linf"], l2=s["l2"])
    write_json(run_dir / "result.json", {**s, **named, "image": args.image, "model": bb.name})
    verdict = "fooled" if s["success"] else f"NOT fooled within {args.max_iters} steps"
    print(f"{args.image}: {named['before_name']} ({s['before_prob']:.1%}) -> {named['after_name']} "
          f"({s['after_prob']:.1%}); target {named['target_name']} ({target}): {verdict} after "
          f"{s['iterations']} steps; change L2 {s['l2']:.1f}, L-inf {s['linf']:.0f} (0-255 units)")
    print(f"wrote {run_dir / 'fooling.png'} and {run_dir / 'figure.png'}")
    return 0 if s["success"] else 1
