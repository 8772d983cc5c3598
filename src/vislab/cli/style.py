"""vislab style CONTENT [STYLE...] : what the generated command (`cli.build`) adds: --scales takes "auto", and the
line it prints. `vislab invert` and `vislab texture` share the --scales word."""

from __future__ import annotations

import argparse
from typing import Any


def scales_arg(s: str) -> int | None:
    """A number of scales, or ``auto`` (None: the settings choose by the size)."""
    if s.strip().lower() == "auto":
        return None
    try:
        return int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number or auto, got {s!r}") from None


TYPES = {"scales": scales_arg}


def show(result: Any, settings: Any, args: argparse.Namespace) -> int:
    r = result
    print(f"{r.files['image']}  loss {r.start['total']:.4g} -> {r.final['total']:.4g} "
          f"({r.final['total'] / max(r.start['total'], 1e-12):.1%} of the start; content {r.final['content']:.3g}, "
          f"style {r.final['style']:.3g}, tv {r.final['tv']:.3g})")
    return 0
