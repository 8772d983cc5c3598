"""vislab texture STYLE : texture synthesis, a new image with the style image's Gram matrices.

The flags map one to one onto `vislab.style.settings.TextureSettings`.
"""

from __future__ import annotations

import argparse

from .style import (
    add_layer_flags,
    add_optim_flags,
    add_output,
    add_size_flags,
    add_weight_flags,
    run_cli,
    shared_settings,
)


def register(sub: argparse._SubParsersAction) -> None:
    from ..style.settings import TextureSettings as S

    p = sub.add_parser(
        "texture", help="synthesize a texture with the statistics of an image",
        description="Texture synthesis (Gatys et al.): starting from noise, optimize an image whose Gram "
                    "matrices match STYLE's (style loss only). Prints the final style loss (the mean "
                    "relative Gram error).")
    p.add_argument("style", nargs="?", default=S.style, metavar="STYLE",
                   help=f"texture / style image (an image file or sample:NAME; default {S.style})")
    add_output(p)
    add_weight_flags(p, S, style=True)
    add_layer_flags(p, content=False)
    add_size_flags(p, S, style_scale=True, what="the output, same aspect as STYLE")
    add_optim_flags(p, S)
    p.set_defaults(func=run)


def settings(args: argparse.Namespace):
    from ..style.settings import TextureSettings

    return TextureSettings(style=args.style, style_weight=args.style_weight, style_layers=args.style_layers,
                           style_layer_weights=args.style_layer_weights, style_scale=args.style_scale,
                           **shared_settings(args))


def run(args: argparse.Namespace) -> int:
    from ..style.runners import run_texture

    r = run_cli(run_texture, settings(args), args, "texture")
    print(f"{r.files['image']}  style loss {r.start['style']:.4g} -> {r.final['style']:.4g} "
          f"({r.final['style'] / max(r.start['style'], 1e-12):.1%} of the start)")
    return 0
