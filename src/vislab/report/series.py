"""Which logged metrics are curves and which are tables.

Only a real series is drawn against "step": a value measured again and again as a run goes on (a loss, a
probability over the iterations). Three other kinds of log are tables:

- per-item records: rows that name an item (an ``"image"``, a ``"budget"``), one per picture of a classify or
  saliency run, one per budget of a robustness curve;
  their "step" is the item's position, so a class index or a probability "over steps" would draw a line
  through unrelated pictures. Shown as one table row per item.
- stages: whole-number settings that hold for a stretch of steps and then change a few times (style
  transfer's ``scale``, ``height``, ``width``). Shown as one table row per stretch.
- values logged once (final losses, a tour's seconds per step): the metrics table alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .scan import NOT_PLOTTED, as_number, numeric_series

ITEM_KEYS = ("image", "budget")
"""A metrics row holding one of these (as text) is a record of one item, not a point of a series (a robustness
run logs one row per attack budget)."""

MAX_STAGES = 6
"""A whole-number metric that changes value at most this many times minus one is a stage marker."""


@dataclass
class MetricViews:
    """A run's metrics sorted by how the page shows them."""

    curves: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)  # per-item records, in log order
    item_columns: list[str] = field(default_factory=list)
    stages: list[tuple[float, float, dict[str, float]]] = field(default_factory=list)  # (first, last step, values)
    stage_columns: list[str] = field(default_factory=list)


def is_item_row(row: dict[str, Any]) -> bool:
    return any(isinstance(row.get(k), str) for k in ITEM_KEYS)


def metric_views(rows: list[dict[str, Any]]) -> MetricViews:
    """Split `rows` (metrics.jsonl) into curves, per-item records and stages."""
    views = MetricViews()
    views.items = [r for r in rows if is_item_row(r)]
    views.item_columns = _columns(views.items)
    series = {k: v for k, v in numeric_series([r for r in rows if not is_item_row(r)]).items()
              if k not in NOT_PLOTTED}
    views.stage_columns = [k for k, pts in series.items() if is_stage(pts)]
    views.curves = {k: pts for k, pts in series.items()
                    if k not in views.stage_columns and len({x for x, _ in pts}) >= 2}
    views.stages = stretches(series, views.stage_columns)
    return views


def is_stage(points: list[tuple[float, float]]) -> bool:
    """Whole numbers held over two points or more each on average, changing at most `MAX_STAGES` - 1 times."""
    ys = [y for _, y in points]
    if len(ys) < 2 or not all(math.isfinite(y) and y == int(y) for y in ys):
        return False
    changes = sum(a != b for a, b in zip(ys, ys[1:]))
    return changes < MAX_STAGES and len(ys) >= 2 * (changes + 1)


def stretches(series: dict[str, list[tuple[float, float]]],
              names: list[str]) -> list[tuple[float, float, dict[str, float]]]:
    """Consecutive steps over which every stage metric in `names` keeps its value: (first, last step, values)."""
    at: dict[float, dict[str, float]] = {}
    for name in names:
        for x, y in series[name]:
            at.setdefault(x, {})[name] = y
    out: list[tuple[float, float, dict[str, float]]] = []
    for x in sorted(at):
        values = at[x]
        if out and out[-1][2] == values:
            out[-1] = (out[-1][0], x, values)
        else:
            out.append((x, x, values))
    return out


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    """The keys of `rows` in first-seen order, the item's name first, step and time left out."""
    cols: list[str] = [k for k in ITEM_KEYS if any(k in r for r in rows)]
    for r in rows:
        cols.extend(str(k) for k in r if k not in cols and k not in ("step", "time"))
    return cols


def cell(v: Any) -> tuple[str, bool]:
    """(text, is a number) of one table cell."""
    x = as_number(v)
    if x is None:
        return (v if isinstance(v, str) else "" if v is None else str(v)), False
    if math.isfinite(x) and x == int(x) and abs(x) < 1e12:
        return str(int(x)), True
    return f"{x:.4g}", True
