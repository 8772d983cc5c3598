"""Loss curves: every numeric metric of a run against its step, drawn with matplotlib into PNG bytes.

PNG through the Agg backend with the "Software" tag removed is byte-for-byte reproducible, which keeps the
report deterministic (SVG output would carry random ids).
"""

from __future__ import annotations

import io
import math
import warnings

MAX_PANELS = 12
"""At most this many metrics are drawn per run (the tables still list all of them)."""

PLOT_LIMIT = 1e100
"""Points with |step| or |value| beyond this are left out of the curves (the table still shows them): near the
float limit (1e308) the axis arithmetic overflows."""


def plot_series(series: dict[str, list[tuple[float, float]]], *, ncols: int = 3) -> bytes | None:
    """One small panel per metric with at least two finite points; None when nothing is worth drawing (or
    matplotlib cannot draw what is there)."""
    drawable = {}
    for k, pts in series.items():
        good = [(x, y) for x, y in pts if abs(x) <= PLOT_LIMIT and abs(y) <= PLOT_LIMIT]  # NaN fails too
        if len(good) >= 2:
            drawable[k] = good
    if not drawable:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # overflow/degenerate-axis warnings would clutter the terminal
            return _draw(drawable, ncols)
    except (ValueError, OverflowError, ArithmeticError, RuntimeError):  # odd data: no curves, not no page
        return None


def _draw(drawable: dict[str, list[tuple[float, float]]], ncols: int) -> bytes:
    from matplotlib.figure import Figure

    names = list(drawable)[:MAX_PANELS]
    ncols = min(ncols, len(names))
    nrows = math.ceil(len(names) / ncols)
    # A Figure made directly (not through pyplot) keeps no global state: building many reports leaks nothing.
    fig = Figure(figsize=(3.6 * ncols, 2.5 * nrows), dpi=100, layout="constrained")
    for i, name in enumerate(names):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        xs, ys = zip(*drawable[name])
        noisy = len(xs) > 50
        ax.plot(xs, ys, color="#4c72b0", linewidth=0.8 if noisy else 1.4, alpha=0.35 if noisy else 1.0,
                marker=None if len(xs) > 30 else "o", markersize=3)
        if noisy:  # the trend through the noise: a centred moving average over ~1/25 of the run
            ax.plot(xs, moving_average(list(ys), max(3, len(ys) // 25)), color="#4c72b0", linewidth=1.6)
        lo, hi = min(ys), max(ys)
        if lo > 0 and hi > 100 * lo:
            ax.set_yscale("log")
        # parse_math=False: a metric named "$x^$" is text, not broken mathtext that fails the whole figure.
        title = "".join(c if c.isprintable() else "\ufffd" for c in name[:60])  # no controls, no surrogates
        ax.set_title(title, fontsize=10, parse_math=False)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def moving_average(values: list[float], window: int) -> list[float]:
    """Centred moving average; the window shrinks at the ends so the output has the input's length."""
    half = window // 2
    prefix = [0.0]
    for v in values:
        prefix.append(prefix[-1] + v)
    out = []
    for i in range(len(values)):
        a, b = max(0, i - half), min(len(values), i + half + 1)
        out.append((prefix[b] - prefix[a]) / (b - a))
    return out
