"""vislab classify IMAGE... : what the generated command (`cli.build`) adds: --json, and the table it prints."""

from __future__ import annotations

import argparse
import json
from typing import Any

OUT_HELP = "also write a run folder with predictions.json and config.json (default: write nothing)"


def add_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON list instead of a table")


def show(result: Any, settings: Any, args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps(result.as_json()))
        return 0
    for path, top in zip(result.images, result.predictions):
        print(path)
        for p in top:
            print(f"  {p.prob:7.2%}  {p.index:4d}  {p.name}")
    return 0
