"""vislab dream --class NAME : synthesize an image the classifier takes for that class."""

from __future__ import annotations

import argparse

from .common import add_device, add_model, add_out, add_seed, nonneg_float, nonneg_int, positive_float, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dream", help="class visualization: an image the network takes for a class",
                       description="Class visualization by gradient ascent on the class score, from "
                                   "noise. --param fourier (default): decorrelated Fourier image, Adam, "
                                   "random zoom/rotate/shift; --param pixel: the classic loop with jitter, "
                                   "blur and an L2 penalty. Unset settings take the parameterization's "
                                   "defaults. Writes dream.png and figure.png.")
    p.add_argument("--class", dest="class_", metavar="NAME_OR_INDEX", required=True,
                   help="class name or index, e.g. tarantula or 76")
    p.add_argument("--param", choices=("fourier", "pixel"), default="fourier",
                   help="image parameterization (default fourier)")
    p.add_argument("--steps", type=nonneg_int, default=None, help="optimization steps (default 200)")
    p.add_argument("--lr", type=positive_float, default=None,
                   help="fourier: Adam learning rate (default 0.05); pixel: L2 length of a step in pixels "
                        "(default 6)")
    p.add_argument("--l2-reg", type=nonneg_float, default=None,
                   help="weight of the ||image - gray||^2 penalty (default: fourier 0, pixel 1e-3)")
    p.add_argument("--blur-every", type=nonneg_int, default=None,
                   help="pixel: blur every N steps, 0 = never (default 10)")
    p.add_argument("--blur-sigma", type=positive_float, default=0.5,
                   help="pixel: blur width in pixels (default 0.5)")
    p.add_argument("--jitter", type=nonneg_int, default=None,
                   help="largest random shift per step, in pixels (default 16)")
    p.add_argument("--views", type=positive_int, default=None,
                   help="fourier: randomly transformed copies averaged per step (default 2)")
    p.add_argument("--size", type=positive_int, default=224, help="image side in pixels (default 224)")
    add_model(p)
    add_out(p, "dream")
    add_seed(p)
    add_device(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import backbones, runs
    from ..devices import seed_everything
    from ..errors import ConfigError
    from ..images import save_image
    from ..visualize.class_viz import DEFAULTS, create_class_visualization
    from ..visualize.plots import dream_figure

    if args.size < 32:
        raise ConfigError(f"--size {args.size} is too small: use at least 32 pixels")
    bb = backbones.load(args.model, device=args.device, weights=args.weights)
    target = bb.class_index(args.class_)
    seed_everything(args.seed)
    settings = {k: getattr(args, k) for k in ("steps", "lr", "l2_reg", "blur_every", "jitter", "views")}
    settings = {k: DEFAULTS[args.param][k] if v is None else v for k, v in settings.items()}
    run_dir = runs.make_run_dir(args.out, "dream", overwrite=args.overwrite)
    config = {k: v for k, v in vars(args).items() if k not in ("func", "class_")}
    runs.write_config(run_dir, {**config, **settings, "class": args.class_, "target": target})
    log = runs.MetricsLog(run_dir)
    curve: tuple[list[int], list[float]] = ([], [])

    def on_step(step: int, logit: float, prob: float) -> None:
        log.log(step, target_logit=logit, target_prob=prob)
        curve[0].append(step)
        curve[1].append(prob)

    res = create_class_visualization(target, bb, param=args.param, size=args.size, steps=settings["steps"],
                                     lr=settings["lr"], l2_reg=settings["l2_reg"],
                                     blur_every=settings["blur_every"], blur_sigma=args.blur_sigma,
                                     jitter_px=settings["jitter"], views=settings["views"], seed=args.seed,
                                     progress=True, on_step=on_step)
    name = bb.class_name(target)
    log.log(res.steps, target_prob=res.prob, final=True)
    save_image(res.image, run_dir / "dream.png")
    title = f"{name} ({target}): p = {res.prob:.1%}\n{bb.name}, {args.param}, {res.steps} steps"
    dream_figure(res.image.cpu(), run_dir / "figure.png", title=title, steps=curve[0], probs=curve[1],
                 target_name=name)
    print(f"{name} ({target}): p = {res.prob:.1%} after {res.steps} steps -> {run_dir / 'dream.png'}, "
          f"{run_dir / 'figure.png'}")
    return 0
