"""vislab robustness FOLDER : what the generated command (`cli.build`) adds: the curve it prints."""

from __future__ import annotations

import argparse
from typing import Any


def show(result: Any, settings: Any, args: argparse.Namespace) -> int:
    unit = "/255" if settings.curve_norm == "linf" else " (L2)"
    for r in result.curve:
        print(f"eps {r['eps']:g}{unit}: accuracy {r['accuracy']:.1%} ({r['correct']}/{r['images']}), "
              f"as 8-bit PNGs {r['accuracy_8bit']:.1%}")
    if result.cancelled:
        print("stopped: run again with --resume and the same --out to finish the other budgets")
    for role in ("table", "figure"):
        if role in result.files:
            print(f"{role}: {result.files[role]}")
    return 0
