"""vislab invert IMAGE --layer NAME : feature inversion, an image rebuilt from one layer's activations."""

from __future__ import annotations

import argparse

from .common import positive_int
from .style import add_optim_flags, add_weight_flags


def register(sub: argparse._SubParsersAction) -> None:
    from ..style.settings import INVERT_DEFAULTS as d

    p = sub.add_parser(
        "invert", help="rebuild an image from one layer's features (what does the layer keep?)",
        description="Feature inversion: starting from noise, optimize an image whose activations at --layer "
                    "match IMAGE's (content loss only, plus a little smoothness). Prints PSNR/SSIM against "
                    "the input.")
    p.add_argument("image", metavar="IMAGE", help="image file (or sample:NAME)")
    p.add_argument("--layer", default=None, metavar="NAME",
                   help="layer to invert (default: the backbone's content layer); an unknown name lists them")
    p.add_argument("-o", "--output", metavar="FILE", default=None,
                   help="output image; default result.png in the run folder (always written there too)")
    add_weight_flags(p, d)
    p.add_argument("--image-size", type=positive_int, default=d.image_size, metavar="PX",
                   help=f"longer side of the image (default {d.image_size})")
    add_optim_flags(p, d)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import backbones
    from ..images import load_image
    from ..style.session import check_output, run_in_folder
    from ..style.similarity import psnr, ssim
    from ..style.transfer import check_settings, fit, invert
    from .style import settings_from

    check_output(args.output)
    image = load_image(args.image)
    bb = backbones.load(args.model, device=args.device, weights=args.weights)
    layer = args.layer or (bb.default_content_layers[0] if bb.default_content_layers else None)
    settings = settings_from(args, init="noise", style_weight=0.0, content_layers=(layer,) if layer else None)
    check_settings(bb, settings, content=True, n_styles=0, content_flag="--layer")
    config = {"image": args.image, "layer": layer, "model": args.model, "weights": args.weights,
              "device": args.device, "output": args.output, "save_every": args.save_every,
              **settings.to_dict()}
    ref = fit(image, settings.image_size)[0]
    done = run_in_folder("invert", lambda on_step: invert(bb, image, layer, settings, on_step=on_step,
                                                          progress=True),
                         out=args.out, overwrite=args.overwrite, output=args.output, save_every=args.save_every, config=config,
                         extra_metrics=lambda r: {"psnr": psnr(r.image, ref), "ssim": ssim(r.image, ref)})
    m = done.summary
    print(f"{done.image_path}  layer {layer}: relative feature error {m['final_content']:.4g}, "
          f"PSNR {m['psnr']:.2f} dB, SSIM {m['ssim']:.3f} against the input")
    return 0
