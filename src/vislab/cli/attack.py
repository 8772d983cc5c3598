"""vislab attack IMAGE... : what the generated command (`cli.build`) adds: the table it prints."""

from __future__ import annotations

import argparse
from typing import Any


def show(result: Any, settings: Any, args: argparse.Namespace) -> int:
    for r in result.rows:
        verdict = "fooled" if r["success"] else "not fooled"
        print(f"{r['image']}: {r['before_name']} ({r['before_prob']:.1%}) -> {r['after_name']} "
              f"({r['after_prob']:.1%}) {verdict}; change L-inf {r['linf_levels']:.0f}/255, L2 {r['l2']:.3f}")
    n = result.numbers
    print(f"{settings.attack}: {n['success_rate']:.0%} of {int(n['images'])} images fooled as saved 8-bit PNGs "
          f"({n['success_rate_before_rounding']:.0%} before rounding)")
    print(f"wrote {result.files['figure']} and {result.files['table']}")
    return 0
