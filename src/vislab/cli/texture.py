"""vislab texture STYLE : texture synthesis, a new image with the style image's Gram matrices."""

from __future__ import annotations

import argparse

from .common import positive_float, positive_int
from .style import add_layer_flags, add_optim_flags, add_weight_flags


def register(sub: argparse._SubParsersAction) -> None:
    from ..style.settings import TEXTURE_DEFAULTS as d

    p = sub.add_parser(
        "texture", help="synthesize a texture with the statistics of an image",
        description="Texture synthesis (Gatys et al.): starting from noise, optimize an image whose Gram "
                    "matrices match STYLE's (style loss only). Prints the final style loss (the mean "
                    "relative Gram error).")
    p.add_argument("style", metavar="STYLE", help="texture / style image")
    p.add_argument("-o", "--output", metavar="FILE", default=None,
                   help="output image; default result.png in the run folder (always written there too)")
    add_weight_flags(p, d, style=True)
    add_layer_flags(p, content=False)
    p.add_argument("--image-size", type=positive_int, default=d.image_size, metavar="PX",
                   help=f"longer side of the output, same aspect as STYLE (default {d.image_size})")
    p.add_argument("--style-scale", type=positive_float, default=d.style_scale, metavar="S",
                   help="style image's size relative to the output (default 1)")
    add_optim_flags(p, d)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import backbones
    from ..images import load_image
    from ..style.session import check_output, run_in_folder
    from ..style.transfer import check_settings, texture
    from .style import settings_from

    check_output(args.output)
    style = load_image(args.style)
    bb = backbones.load(args.model, device=args.device, weights=args.weights)
    settings = settings_from(args, init="noise", content_weight=0.0)
    check_settings(bb, settings, content=False, n_styles=1)
    config = {"style": args.style, "model": args.model, "weights": args.weights, "device": args.device,
              "output": args.output, "save_every": args.save_every, **settings.to_dict()}
    done = run_in_folder("texture",
                         lambda on_step: texture(bb, style, settings, on_step=on_step, progress=True),
                         out=args.out, overwrite=args.overwrite, output=args.output, save_every=args.save_every, config=config)
    r = done.result
    print(f"{done.image_path}  style loss {r.start['style']:.4g} -> {r.final['style']:.4g} "
          f"({r.final['style'] / max(r.start['style'], 1e-12):.1%} of the start)")
    return 0
