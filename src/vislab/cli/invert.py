"""vislab invert IMAGE --layer NAME : feature inversion, an image rebuilt from one layer's activations.

The flags map one to one onto `vislab.style.settings.InvertSettings`.
"""

from __future__ import annotations

import argparse

from .style import add_optim_flags, add_output, add_size_flags, add_weight_flags, run_cli, shared_settings


def register(sub: argparse._SubParsersAction) -> None:
    from ..style.settings import InvertSettings as S

    p = sub.add_parser(
        "invert", help="rebuild an image from one layer's features (what does the layer keep?)",
        description="Feature inversion: starting from noise, optimize an image whose activations at --layer "
                    "match IMAGE's (content loss only, plus a little smoothness). Prints PSNR/SSIM against "
                    "the input.")
    p.add_argument("image", metavar="IMAGE", help="image file (or sample:NAME)")
    p.add_argument("--layer", default=S.layer, metavar="NAME",
                   help="layer to invert (default: the backbone's content layer); an unknown name lists them")
    add_output(p)
    add_weight_flags(p, S, content=True)
    add_size_flags(p, S, style_scale=False, what="the image")
    add_optim_flags(p, S)
    p.set_defaults(func=run)


def settings(args: argparse.Namespace):
    from ..style.settings import InvertSettings

    return InvertSettings(image=args.image, layer=args.layer, content_weight=args.content_weight,
                          **shared_settings(args))


def run(args: argparse.Namespace) -> int:
    from ..style.runners import run_invert

    r = run_cli(run_invert, settings(args), args, "invert")
    m = r.numbers
    print(f"{r.files['image']}  layer {r.layer}: relative feature error {m['final_content']:.4g}, "
          f"PSNR {m['psnr']:.2f} dB, SSIM {m['ssim']:.3f} against the input")
    return 0
