"""vislab style CONTENT STYLE [STYLE...] : neural style transfer (Gatys et al.)."""

from __future__ import annotations

import argparse

from .common import add_device, add_model, add_out, add_seed, nonneg_float, positive_float, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    from ..style.settings import Settings

    d = Settings()
    p = sub.add_parser(
        "style", help="repaint a photo in the style of one or more paintings",
        description="Neural style transfer (Gatys et al.): optimize an image whose CNN features match the "
                    "content photo's and whose Gram matrices match the paintings'. Losses are relative "
                    "errors, so the weights mean the same on every backbone and at every size.")
    p.add_argument("content", metavar="CONTENT", help="content photo")
    p.add_argument("styles", nargs="+", metavar="STYLE", help="style image(s); several are blended")
    p.add_argument("-o", "--output", metavar="FILE", default=None,
                   help="output image (.png/.jpg); default result.png in the run folder (always written "
                        "there too)")
    p.add_argument("--style-blend-weights", type=float_list, default=None, metavar="W,W,...",
                   help="one weight per style image (default equal); normalized to sum 1")
    add_weight_flags(p, d, content=True)
    add_layer_flags(p, content=True)
    p.add_argument("--image-size", type=positive_int, default=d.image_size, metavar="PX",
                   help=f"longer side of the output (default {d.image_size})")
    p.add_argument("--style-scale", type=positive_float, default=d.style_scale, metavar="S",
                   help="style images' size relative to the output (default 1; smaller = finer strokes)")
    p.add_argument("--init", default=d.init, metavar="content|noise|FILE",
                   help="starting image (default content)")
    p.add_argument("--original-colors", action="store_true",
                   help="transfer in luminance only and keep the content's colours")
    add_optim_flags(p, d)
    p.set_defaults(func=run)


# -- flag groups shared with `vislab invert` and `vislab texture` --------------------------------------------

def add_weight_flags(p: argparse.ArgumentParser, d, *, content: bool = False, style: bool = False) -> None:
    if content or not style:
        p.add_argument("--content-weight", type=nonneg_float, default=d.content_weight, metavar="W",
                       help=f"weight of the content loss (default {d.content_weight:g})")
    if style or content:
        p.add_argument("--style-weight", type=nonneg_float, default=d.style_weight, metavar="W",
                       help=f"weight of the style loss (default {d.style_weight:g})")
    p.add_argument("--tv-weight", type=nonneg_float, default=d.tv_weight, metavar="W",
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


def add_optim_flags(p: argparse.ArgumentParser, d) -> None:
    p.add_argument("--optimizer", choices=("lbfgs", "adam"), default=d.optimizer, help="default lbfgs")
    p.add_argument("--lr", type=positive_float, default=None,
                   help="step size (default 1 for lbfgs, 0.02 for adam)")
    p.add_argument("--iterations", type=positive_int, default=d.iterations, metavar="N",
                   help=f"optimization steps per scale (default {d.iterations})")
    p.add_argument("--scales", type=positive_int, default=d.scales, metavar="K",
                   help="coarse-to-fine scales, each twice the last (default 1); 2-3 for large outputs")
    p.add_argument("--save-every", type=positive_int, default=None, metavar="N",
                   help="also save the image every N steps into the run folder")
    add_model(p)
    add_device(p)
    add_seed(p)
    add_out(p, p.prog.split()[-1])


def float_list(s: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(v) for v in s.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {s!r}") from None
    if not vals:
        raise argparse.ArgumentTypeError("expected at least one number")
    return vals


def name_list(s: str) -> tuple[str, ...]:
    vals = tuple(v.strip() for v in s.split(",") if v.strip())
    if not vals:
        raise argparse.ArgumentTypeError("expected comma-separated layer names")
    return vals


def settings_from(args: argparse.Namespace, **fixed):
    """The library `Settings` for parsed flags (flags a command lacks keep the library defaults)."""
    from ..style.settings import Settings

    names = Settings.__dataclass_fields__
    given = {k: getattr(args, k) for k in names if hasattr(args, k)}
    given["blend_weights"] = getattr(args, "style_blend_weights", None)
    given.update(fixed)
    return Settings(**{k: v for k, v in given.items() if k in names})


def run(args: argparse.Namespace) -> int:
    from .. import backbones
    from ..images import load_image
    from ..style.session import check_output, run_in_folder
    from ..style.transfer import check_settings, style_transfer

    check_output(args.output)
    # Read every image first, so a bad file fails before the network is loaded or anything is written.
    content = load_image(args.content)
    styles = [load_image(p) for p in args.styles]
    init_image = None if args.init in ("content", "noise") else load_image(args.init)
    settings = settings_from(args, init=args.init if init_image is None else "image")
    bb = backbones.load(args.model, device=args.device, weights=args.weights)
    check_settings(bb, settings, content=True, n_styles=len(styles))
    config = {"content": args.content, "styles": args.styles,
              "init_file": None if init_image is None else args.init,
              "model": args.model, "weights": args.weights, "device": args.device, "output": args.output,
              "save_every": args.save_every, **settings.to_dict()}
    done = run_in_folder(
        "style", lambda on_step: style_transfer(bb, content, styles, settings, init_image=init_image,
                                                on_step=on_step, progress=True),
        out=args.out, overwrite=args.overwrite, output=args.output, save_every=args.save_every, config=config)
    r = done.result
    print(f"{done.image_path}  loss {r.start['total']:.4g} -> {r.final['total']:.4g} "
          f"({r.final['total'] / max(r.start['total'], 1e-12):.1%} of the start; "
          f"content {r.final['content']:.3g}, "
          f"style {r.final['style']:.3g}, tv {r.final['tv']:.3g})")
    return 0

