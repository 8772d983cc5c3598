"""vislab invert IMAGE --layer NAME : what the generated command (`cli.build`) adds: --scales auto, and the line
it prints."""

from __future__ import annotations

import argparse
from typing import Any

from .style import TYPES  # noqa: F401 - the same --scales word as style


def show(result: Any, settings: Any, args: argparse.Namespace) -> int:
    m = result.numbers
    print(f"{result.files['image']}  layer {result.layer}: relative feature error {m['final_content']:.4g}, "
          f"PSNR {m['psnr']:.2f} dB, SSIM {m['ssim']:.3f} against the input")
    return 0
