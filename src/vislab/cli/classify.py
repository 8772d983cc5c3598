"""vislab classify IMAGE... : top-k ImageNet classes with probabilities."""

from __future__ import annotations

import argparse
import json

from ..backbones.classify_job import ClassifySettings
from .common import add_device, add_model, run_job, settings_from


def register(sub: argparse._SubParsersAction) -> None:
    s = ClassifySettings
    p = sub.add_parser("classify", help="top-k classes of images with a pretrained CNN",
                       description="Classify images (files, or sample:coffee etc.) with a pretrained ImageNet CNN.")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files, or sample:NAME for a built-in photo")
    add_model(p)
    p.add_argument("--topk", type=int, default=s.topk, help=f"classes to show per image (default {s.topk})")
    p.add_argument("--json", action="store_true", help="print one JSON list instead of a table")
    p.add_argument("--batch-size", type=int, default=s.batch_size,
                   help=f"images per forward pass (default {s.batch_size})")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="also write a run folder with predictions.json and config.json (default: write nothing)")
    p.add_argument("--overwrite", action="store_true", help="replace the results of the vislab run already in --out")
    add_device(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..backbones.classify_job import run as classify

    settings = settings_from(ClassifySettings, args)
    result = run_job(classify, settings, args, "classify")
    if args.json:
        print(json.dumps(result.as_json()))
        return 0
    for path, top in zip(result.images, result.predictions):
        print(path)
        for p in top:
            print(f"  {p.prob:7.2%}  {p.index:4d}  {p.name}")
    return 0
