"""vislab dream --class NAME : what the generated command (`cli.build`) prints."""

from __future__ import annotations

import argparse
from typing import Any


def show(result: Any, settings: Any, args: argparse.Namespace) -> int:
    print(f"{result.target_name} ({result.target}): p = {result.numbers['target_prob']:.1%} after "
          f"{result.numbers['steps']} steps -> {result.files['image']}, {result.files['figure']}")
    return 0
