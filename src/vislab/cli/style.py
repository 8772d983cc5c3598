"""vislab style CONTENT STYLE [STYLE...] : neural style transfer (Gatys et al.).

The flags map one to one onto `vislab.style.settings.StyleSettings` (defaults, choices and checks live there);
`vislab invert` and `vislab texture` share the flag groups below.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from ..jobs import flag_name
from .common import add_device, add_model, add_out, add_seed, run_job


def register(sub: argparse._SubParsersAction) -> None:
    from ..style.settings import StyleSettings as S

    p = sub.add_parser(
        "style", help="repaint a photo in the style of one or more paintings",
        description="Neural style transfer (Gatys et al.): optimize an image whose CNN features match the "
                    "content photo's and whose Gram matrices match the paintings'. Losses are relative "
                    "errors, so the weights mean the same on every backbone and at every size.")
    p.add_argument("content", metavar="CONTENT", help="content photo (an image file or sample:NAME)")
    p.add_argument("styles", nargs="*", metavar="STYLE",
                   help=f"style image(s); several are blended (default {' '.join(S.styles)})")
    add_output(p)
    p.add_argument("--style-blend-weights", type=float_list, default=S.style_blend_weights, metavar="W,W,...",
                   help="one weight per style image (default equal); normalized to sum 1")
    add_weight_flags(p, S, content=True, style=True)
    add_layer_flags(p, content=True)
    add_size_flags(p, S, style_scale=True)
    p.add_argument("--init", default=S.init, metavar="content|recolored|noise|FILE",
                   help=f"starting image; recolored: the content in the paintings' colours (default {S.init})")
    p.add_argument("--original-colors", action="store_true", default=S.original_colors,
                   help="transfer in luminance only and keep the content's colours")
    add_optim_flags(p, S)
    p.set_defaults(func=run)


def settings(args: argparse.Namespace):
    from ..style.settings import StyleSettings

    return StyleSettings(
        content=args.content, styles=tuple(args.styles) or StyleSettings.styles,
        style_blend_weights=args.style_blend_weights,
        content_weight=args.content_weight, style_weight=args.style_weight, content_layers=args.content_layers,
        content_layer_weights=args.content_layer_weights, style_layers=args.style_layers,
        style_layer_weights=args.style_layer_weights, style_scale=args.style_scale, init=args.init,
        original_colors=args.original_colors, **shared_settings(args))


def run(args: argparse.Namespace) -> int:
    from ..style.runners import run_style

    r = run_cli(run_style, settings(args), args, "style")
    print(f"{r.files['image']}  loss {r.start['total']:.4g} -> {r.final['total']:.4g} "
          f"({r.final['total'] / max(r.start['total'], 1e-12):.1%} of the start; content {r.final['content']:.3g}, "
          f"style {r.final['style']:.3g}, tv {r.final['tv']:.3g})")
    return 0


# -- flag groups shared with `vislab invert` and `vislab texture` --------------------------------------------

def add_output(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", metavar="FILE", default=None,
                   help="also write the result to this image file (.png/.jpg); it is always written as "
                        "result.png in the run folder")


def add_weight_flags(p: argparse.ArgumentParser, d: Any, *, content: bool = False, style: bool = False) -> None:
    if content:
        p.add_argument("--content-weight", type=float, default=d.content_weight, metavar="W",
                       help=f"weight of the content loss (default {d.content_weight:g})")
    if style:
        p.add_argument("--style-weight", type=float, default=d.style_weight, metavar="W",
                       help=f"weight of the style loss (default {d.style_weight:g})")
    p.add_argument("--tv-weight", type=float, default=d.tv_weight, metavar="W",
                   help=f"weight of the total-variation smoothness loss (default {d.tv_weight:g})")


def add_layer_flags(p: argparse.ArgumentParser, *, content: bool) -> None:
    if content:
        p.add_argument("--content-layers", type=name_list, default=None, metavar="NAME,...",
                       help="content layers (default: the backbone's); an unknown name lists them all")
        p.add_argument("--content-layer-weights", type=float_list, default=None, metavar="W,...",
                       help="one weight per content layer (default equal)")
    p.add_argument("--style-layers", type=name_list, default=None, metavar="NAME,...",
                   help="style layers (default: the backbone's); an unknown name lists the backbone's layers")
    p.add_argument("--style-layer-weights", type=float_list, default=None, metavar="W,...",
                   help="one weight per style layer (default equal)")


def add_size_flags(p: argparse.ArgumentParser, d: Any, *, style_scale: bool, what: str = "the output") -> None:
    p.add_argument("--image-size", type=int, default=d.image_size, metavar="PX",
                   help=f"longer side of {what} in pixels (default {d.image_size})")
    if style_scale:
        p.add_argument("--style-scale", type=float, default=d.style_scale, metavar="S",
                       help=f"style images' size relative to the output (default {d.style_scale:g}; smaller = "
                            "finer strokes)")


def add_optim_flags(p: argparse.ArgumentParser, d: Any) -> None:
    from ..style.settings import AUTO_COARSEST, OPTIMIZER_LR, STOP_WINDOW

    p.add_argument("--optimizer", choices=tuple(OPTIMIZER_LR), default=d.optimizer,
                   help=f"default {d.optimizer}")
    p.add_argument("--lr", type=float, default=d.lr,
                   help="step size (default " + "; ".join(f"{lr:g} for {k} (at most {top:g})"
                                                          for k, (lr, top) in OPTIMIZER_LR.items()) + ")")
    p.add_argument("--iterations", type=int, default=d.iterations, metavar="N",
                   help=f"most optimization steps at the finest scale (default {d.iterations})")
    auto = f"auto: halve the size while it stays >= {AUTO_COARSEST} px" if d.scales is None else d.scales
    p.add_argument("--scales", type=scales_arg, default=d.scales, metavar="K|auto",
                   help=f"coarse-to-fine scales, each twice the last (default {auto})")
    p.add_argument("--coarse-factor", type=float, default=d.coarse_factor, metavar="F",
                   help=f"each coarser scale may run F times the steps of the next finer (default {d.coarse_factor:g})")
    p.add_argument("--stop-tolerance", type=float, default=d.stop_tolerance, metavar="T",
                   help=f"end a scale when the loss fell by less than this fraction over {STOP_WINDOW} steps "
                        f"(default {d.stop_tolerance:g}; 0: run every step)")
    p.add_argument("--save-every", type=int, default=d.save_every, metavar="N",
                   help="also save the image every N steps into the run folder (default never)")
    add_model(p)
    add_device(p)
    add_seed(p, default=d.seed)
    add_out(p, p.prog.split()[-1])


def shared_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The `SynthesisSettings` every job has, from their flags."""
    return dict(image_size=args.image_size, iterations=args.iterations, scales=args.scales,
                coarse_factor=args.coarse_factor, stop_tolerance=args.stop_tolerance,
                optimizer=args.optimizer, lr=args.lr, tv_weight=args.tv_weight, seed=args.seed,
                save_every=args.save_every, output=args.output, model=args.model, weights=args.weights,
                device=args.device)


POSITIONAL = {"content": "CONTENT", "styles": "STYLE", "image": "IMAGE", "style": "STYLE"}
"""Settings given as positional arguments: messages name them by their metavar."""


def run_cli(run: Any, settings: Any, args: argparse.Namespace, desc: str) -> Any:
    """`run_job`, with every setting a message names worded as its flag (``content_weight and style_weight
    are both 0`` -> ``--content-weight and --style-weight ...``), not only the one at fault."""
    from ..errors import ConfigError

    try:
        return run_job(run, settings, args, desc)
    except ConfigError as e:
        if type(e) is not ConfigError:
            raise
        first, _, rest = str(e).partition(" ")
        first = next((meta for name, meta in POSITIONAL.items() if first == flag_name(name)), first)
        names = [n for n in type(settings).setting_names() if "_" in n]  # plain words may be English too
        rest = re.sub(r"\b(" + "|".join(map(re.escape, names)) + r")\b", lambda m: flag_name(m.group(1)), rest)
        raise ConfigError(f"{first} {rest}") from None


def float_list(s: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(v) for v in s.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {s!r}") from None
    if not vals:
        raise argparse.ArgumentTypeError("expected at least one number")
    return vals


def scales_arg(s: str) -> int | None:
    """A number of scales, or ``auto`` (None: the settings choose by the size)."""
    if s.strip().lower() == "auto":
        return None
    try:
        return int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number or auto, got {s!r}") from None


def name_list(s: str) -> tuple[str, ...]:
    vals = tuple(v.strip() for v in s.split(",") if v.strip())
    if not vals:
        raise argparse.ArgumentTypeError("expected comma-separated layer names")
    return vals
