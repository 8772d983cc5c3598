"""vislab saliency IMAGE... : which pixels a class score depends on (vanilla gradients, SmoothGrad, IG)."""

from __future__ import annotations

import argparse

from ..visualize.baselines import BASELINES
from ..visualize.maps import METHODS
from ..visualize.settings import SaliencySettings
from .common import add_device, add_model, add_out, add_seed, run_job, settings_from


def register(sub: argparse._SubParsersAction) -> None:
    s = SaliencySettings
    p = sub.add_parser("saliency", help="saliency maps: which pixels the class score depends on",
                       description="Saliency maps of images for a class (default: the predicted class). "
                                   "Writes, per image, a heatmap PNG, an overlay PNG and a figure with a "
                                   "colour bar.")
    p.add_argument("images", nargs="+", metavar="IMAGE",
                   help="image files, or sample:NAME for a built-in photo")
    p.add_argument("--target", metavar="CLASS", default=s.target,
                   help="class name or index to explain (default: each image's predicted class)")
    p.add_argument("--method", choices=tuple(METHODS), default=s.method,
                   help=f"vanilla gradients, smoothgrad (averaged over noisy copies) or ig (integrated gradients "
                        f"from a --baseline image) (default {s.method})")
    p.add_argument("--samples", type=int, default=s.samples, help=f"smoothgrad: noisy copies (default {s.samples})")
    p.add_argument("--noise", type=float, default=s.noise,
                   help="smoothgrad: noise standard deviation in pixel units, images being in [0, 1] "
                        f"(default {s.noise})")
    p.add_argument("--steps", type=int, default=s.steps,
                   help=f"ig: intervals the path starts with; the worst are refined (default {s.steps})")
    p.add_argument("--max-steps", type=int, default=s.max_steps,
                   help=f"ig: most gradient evaluations per image (default {s.max_steps})")
    p.add_argument("--tol", type=float, default=s.tol,
                   help="ig: refine until the attributions sum to the score difference within this fraction "
                        f"(default {s.tol})")
    p.add_argument("--baseline", choices=BASELINES, default=s.baseline,
                   help="ig: the image the path starts from: blur (the image, widely blurred: attribution goes "
                        "to the object's detail), black (the paper's; favours bright pixels and outlines) or uniform "
                        f"(noise in [0, 1]) (default {s.baseline})")
    p.add_argument("--baseline-samples", type=int, default=s.baseline_samples,
                   help="ig: average over this many uniform-noise baselines; each costs a full path "
                        f"(default {s.baseline_samples})")
    p.add_argument("--batch-size", type=int, default=s.batch_size,
                   help=f"smoothgrad/ig: network inputs per forward pass; lower it to save memory "
                        f"(default {s.batch_size})")
    add_model(p)
    add_out(p, "saliency")
    add_seed(p, default=s.seed)
    add_device(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..visualize.saliency_job import run as saliency

    settings = settings_from(SaliencySettings, args)
    result = run_job(saliency, settings, args, "saliency")
    for row in result.rows:
        note = ""
        if "ig_steps" in row:
            note = (f" [ig: {row['ig_steps']} gradients from the {args.baseline} baseline, attributions sum to "
                    f"the score difference within {row['ig_completeness_error']:.2%}]")
        print(f"{row['image']}: {row['title'].replace(chr(10), '; ')}{note} -> {row['figure']}")
    return 0
