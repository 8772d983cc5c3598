"""vislab dream --class NAME | --channel LAYER:INDEX | ... : what the generated command (`cli.build`) prints."""

from __future__ import annotations

import argparse
from typing import Any


def show(result: Any, settings: Any, args: argparse.Namespace) -> int:
    files = f"{result.files['image']}, {result.files['figure']}"
    if "target_prob" not in result.numbers:  # a channel, neuron or DeepDream objective
        print(f"{result.target_name} = {result.numbers['objective']:.4g} after {result.numbers['steps']} steps "
              f"-> {files}")
        return 0
    print(f"{result.target_name} ({result.target}): p = {result.numbers['target_prob']:.1%} after "
          f"{result.numbers['steps']} steps -> {files}")
    return 0
