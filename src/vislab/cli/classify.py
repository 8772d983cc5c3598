"""vislab classify IMAGE... : top-k ImageNet classes with probabilities."""

from __future__ import annotations

import argparse
import json

from .common import add_device, add_model, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("classify", help="top-k classes of images with a pretrained CNN",
                       description="Classify images (files, or sample:coffee etc.) with a pretrained ImageNet CNN.")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files, or sample:NAME for a built-in photo")
    add_model(p)
    p.add_argument("--topk", type=positive_int, default=5, help="classes to show per image (default 5)")
    p.add_argument("--json", action="store_true", help="print one JSON list instead of a table")
    p.add_argument("--batch-size", type=positive_int, default=32, help="images per forward pass (default 32)")
    add_device(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import backbones
    from ..backbones.predict import classify
    from ..images import load_image

    # Load every image first, so a bad file fails before any output is printed.
    imgs = [load_image(path) for path in args.images]
    bb = backbones.load(args.model, device=args.device, weights=args.weights)
    preds = classify(bb, imgs, topk=args.topk, batch_size=args.batch_size)
    if args.json:
        print(json.dumps([
            {"image": path, "top": [{"index": p.index, "name": p.name, "prob": round(p.prob, 6)} for p in top]}
            for path, top in zip(args.images, preds)
        ]))
        return 0
    for path, top in zip(args.images, preds):
        print(path)
        for p in top:
            print(f"  {p.prob:7.2%}  {p.index:4d}  {p.name}")
    return 0
