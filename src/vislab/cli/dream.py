"""vislab dream --class NAME : synthesize an image the classifier takes for that class."""

from __future__ import annotations

import argparse

from ..visualize.parameterizations import PARAMETERIZATIONS, FourierParameterization, PixelParameterization
from ..visualize.settings import DREAM_MIN_SIZE, DreamSettings
from .common import add_device, add_model, add_out, add_seed, run_job, settings_from


def register(sub: argparse._SubParsersAction) -> None:
    s, f, px = DreamSettings, FourierParameterization, PixelParameterization
    p = sub.add_parser("dream", help="class visualization: an image the network takes for a class",
                       description="Class visualization by gradient ascent on the class score, from "
                                   "noise. --param fourier (default): decorrelated Fourier image, Adam, "
                                   "random zoom/rotate/shift; --param pixel: the classic loop with jitter, "
                                   "blur and an L2 penalty. Unset settings take the parameterization's "
                                   "defaults; a setting the parameterization does not use is an error. "
                                   "Writes dream.png and figure.png.")
    p.add_argument("--class", dest="class_", metavar="NAME_OR_INDEX", required=True,
                   help="class name or index, e.g. tarantula or 76")
    p.add_argument("--param", choices=tuple(PARAMETERIZATIONS), default=s.param,
                   help=f"image parameterization (default {s.param})")
    p.add_argument("--steps", type=int, default=s.steps, help=f"optimization steps (default {s.steps})")
    p.add_argument("--lr", type=float, default=s.lr,
                   help=f"fourier: Adam learning rate (default {f.lr}); pixel: L2 length of a step in pixels "
                        f"(default {px.lr})")
    p.add_argument("--l2-reg", type=float, default=s.l2_reg,
                   help=f"weight of the ||image - gray||^2 penalty (default: fourier {f.l2_reg}, pixel {px.l2_reg})")
    p.add_argument("--blur-every", type=int, default=s.blur_every,
                   help=f"pixel: blur every N steps, 0 = never (default {px.blur_every})")
    p.add_argument("--blur-sigma", type=float, default=s.blur_sigma,
                   help=f"pixel: blur width in pixels (default {px.blur_sigma})")
    p.add_argument("--jitter", type=int, default=s.jitter,
                   help=f"largest random shift per step, in pixels (default: fourier {f.jitter}, pixel {px.jitter})")
    p.add_argument("--views", type=int, default=s.views,
                   help=f"fourier: randomly transformed copies averaged per step (default {f.views})")
    p.add_argument("--size", type=int, default=s.size,
                   help=f"image side in pixels, at least {DREAM_MIN_SIZE} (default {s.size})")
    add_model(p)
    add_out(p, "dream")
    add_seed(p, default=s.seed)
    add_device(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..visualize.dream_job import run as dream

    settings = settings_from(DreamSettings, args)
    result = run_job(dream, settings, args, f"dream ({settings.param})")
    print(f"{result.target_name} ({result.target}): p = {result.numbers['target_prob']:.1%} after "
          f"{result.numbers['steps']} steps -> {result.files['image']}, {result.files['figure']}")
    return 0
