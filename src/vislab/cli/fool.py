"""vislab fool IMAGE --target CLASS : change an image imperceptibly until the classifier calls it CLASS."""

from __future__ import annotations

import argparse

from ..visualize.settings import FoolSettings
from .common import add_device, add_model, add_out, add_seed, run_job, settings_from


def levels(s: str) -> float:
    """--linf is given in 0-255 levels, as people count pixel changes; the library takes [0, 1] pixel units.
    This is the one place that converts (the settings check the range)."""
    return float(s) / 255


def register(sub: argparse._SubParsersAction) -> None:
    s = FoolSettings
    p = sub.add_parser("fool", help="fooling image: a small change that makes the classifier say CLASS",
                       description="Make a fooling image: gradient ascent on the target class score with "
                                   "L2-normalized steps until the saved 8-bit image is classified as the "
                                   "target. Writes fooling.png (lossless, at the input's resolution) and "
                                   "figure.png (original | fooling | magnified difference). Exit status 1 "
                                   "when the image could not be fooled within --max-iters.")
    p.add_argument("image", metavar="IMAGE", help="image file, or sample:NAME for a built-in photo")
    p.add_argument("--target", metavar="CLASS", required=True, help="class name or index to reach")
    p.add_argument("--lr", type=float, default=s.lr,
                   help=f"L2 length of each step, in [0, 1] pixel units (default {s.lr})")
    p.add_argument("--max-iters", type=int, default=s.max_iters, help=f"most gradient steps (default {s.max_iters})")
    p.add_argument("--linf", type=levels, default=s.linf, metavar="EPS",
                   help="optional budget: change no pixel value by more than EPS, in 0-255 levels (e.g. 4); "
                        "default: no budget")
    p.add_argument("--margin", type=float, default=s.margin,
                   help=f"stop once the target's logit leads every other class by this much (default {s.margin})")
    add_model(p)
    add_out(p, "fool")
    add_seed(p, default=s.seed)
    add_device(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..visualize.fool_job import run as fool

    settings = settings_from(FoolSettings, args)
    result = run_job(fool, settings, args, "fooling")
    s = result.summary
    verdict = "fooled" if s["success"] else f"NOT fooled within {settings.max_iters} steps"
    if result.cancelled:
        verdict = "stopped"
    print(f"{settings.image}: {s['before_name']} ({s['before_prob']:.1%}) -> {s['after_name']} "
          f"({s['after_prob']:.1%}); target {s['target_name']} ({s['target']}): {verdict} after "
          f"{s['iterations']} steps; change L2 {s['l2'] * 255:.1f}, L-inf {s['linf'] * 255:.0f} (0-255 units)")
    print(f"wrote {result.files['image']} and {result.files['figure']}")
    return 0 if result.success else 1
