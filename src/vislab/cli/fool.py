"""vislab fool IMAGE --target CLASS : what the generated command (`cli.build`) prints, and exit status 1 when the
image was not fooled (--linf counts 0-255 levels: the field's flag_scale)."""

from __future__ import annotations

import argparse
from typing import Any


def show(result: Any, settings: Any, args: argparse.Namespace) -> int:
    s = result.summary
    verdict = "fooled" if s["success"] else f"NOT fooled within {settings.max_iters} steps"
    if result.cancelled:
        verdict = "stopped"
    print(f"{settings.image}: {s['before_name']} ({s['before_prob']:.1%}) -> {s['after_name']} "
          f"({s['after_prob']:.1%}); target {s['target_name']} ({s['target']}): {verdict} after "
          f"{s['iterations']} steps; change L2 {s['l2'] * 255:.1f}, L-inf {s['linf'] * 255:.0f} (0-255 units)")
    print(f"wrote {result.files['image']} and {result.files['figure']}")
    return 0 if result.success else 1
