"""vislab texture [STYLE] : what the generated command (`cli.build`) adds: --scales auto, and the line it
prints."""

from __future__ import annotations

import argparse
from typing import Any

from .style import TYPES  # noqa: F401 - the same --scales word as style


def show(result: Any, settings: Any, args: argparse.Namespace) -> int:
    r = result
    print(f"{r.files['image']}  style loss {r.start['style']:.4g} -> {r.final['style']:.4g} "
          f"({r.final['style'] / max(r.start['style'], 1e-12):.1%} of the start)")
    return 0
