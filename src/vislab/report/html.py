"""Render `RunInfo` records as one self-contained HTML page.

No scripts, no external fonts or stylesheets: CSS is inline, loss curves are embedded PNGs, result images are
linked relative to the page (or embedded with ``embed=True``, for a page that travels alone). Nothing on the
page depends on when it was made, so the same runs always give the same bytes.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import __version__
from ..machine import format_bytes
from .data import data_line
from .plots import plot_series
from .safefiles import Unreadable, parse_json, read_bytes
from .scan import RunInfo, as_text, finite_number, numeric_series, other_values
from .series import ITEM_KEYS, MetricViews, cell, is_item_row, metric_views

MAX_IMAGES = 24
"""Result images shown per run; a run with more (e.g. a sample grid every 100 steps) shows an even spread of
them, first and last included."""

MAX_SIDE, MIN_SIDE = 480, 160
"""Pictures are shown with their long side between these (in CSS pixels); the link opens the full size."""

MAX_EMBED_BYTES = 32 * 2**20
"""An image bigger than this is linked, not embedded, even with ``embed=True``."""

MAX_ROWS = 300
"""Settings, metrics and history entries listed per run; the page says how many more there are."""

MAX_TEXTS = 50
"""Text outputs shown per run."""

OPEN_ROWS = 12
"""Settings and metrics tables up to this many rows are shown open; longer ones start collapsed."""

OPEN_LINES = 25
"""Text outputs up to this many lines are shown open; longer ones (pretty-printed JSON) start collapsed."""

MAX_LONG_TEXT = 20_000
"""Characters of a command or a driver's message shown (the rest is cut)."""

MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
        ".webp": "image/webp"}

CSS = """
:root { --fg:#1d2330; --muted:#5d6675; --line:#dfe3ea; --bg:#f6f7f9; --card:#fff; --accent:#3b5bdb; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 0; }
h3 { font-size: 15px; margin: 18px 0 8px; }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
.sub { color: var(--muted); margin: 0 0 18px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 16px 18px;
  margin: 0 0 18px; box-shadow: 0 1px 2px rgba(0,0,0,.04); }
.run-head { display:flex; gap:10px; align-items:baseline; flex-wrap:wrap; }
.path { color: var(--muted); font-size: 12px;
  font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
table { border-collapse: collapse; font-size: 13px; }
th, td { text-align: left; padding: 4px 10px 4px 0; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; padding-left: 10px; }
.overview { width: 100%; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; }
pre { background: #f1f3f6; border-radius: 6px; padding: 8px 10px; overflow-x: auto; white-space: pre-wrap;
  word-break: break-word; margin: 6px 0; }
pre.error { background: #fff1f0; color: #a61b1b; }
.cols { display: flex; gap: 28px; flex-wrap: wrap; } .cols > div { min-width: 260px; }
.badge { display:inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; }
.complete { background:#e6f6ea; color:#1e7b34; } .incomplete { background:#fff4db; color:#8a5a00; }
.failed, .interrupted { background:#fde8e8; color:#a61b1b; }
.unavailable { background:#eceef2; color:#5d6675; }
.gallery { display: flex; flex-wrap: wrap; gap: 14px; align-items: flex-end; }
figure { margin: 0; }
figcaption { font-size: 12px; color: var(--muted); max-width: 480px; word-break: break-all; }
figcaption .caption { display:block; color: var(--fg); font-size: 13px; word-break: normal; }
figcaption .warn { display:block; color: #a61b1b; word-break: normal; }
figure img { display:block; border: 1px solid var(--line); border-radius: 4px; background: #fff; }
img.pixel { image-rendering: pixelated; }
img.curves { max-width: 100%; height: auto; }
ul.problems { margin: 6px 0; color: #8a5a00; }
p.data { margin: 6px 0; font-weight: 600; }
ol.history { margin: 6px 0; padding-left: 22px; } ol.history li { word-break: break-word; }
details summary { cursor: pointer; color: var(--muted); margin: 4px 0; }
footer { color: var(--muted); font-size: 12px; text-align: center; }
"""


def render(runs: list[RunInfo], out_path: Path, *, embed: bool = False, title: str = "vislab report") -> str:
    """The page for `runs`, to be written at `out_path` (image links are made relative to it)."""
    base = out_path.resolve().parent
    parts = _parts(runs)
    shown = [(i, r) for i, r in enumerate(runs, 1) if i - 1 not in parts]  # parts show inside their run
    states = [r.state for _, r in shown]
    counts = ", ".join(f"{states.count(s)} {s}" for s in sorted(set(states), key=_state_order))
    page = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{CSS}</style></head><body><main>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="sub">{len(shown)} run{"s" * (len(shown) != 1)}: {escape(counts)}</p>' if runs else
        '<p class="sub">no runs</p>',
        _overview(shown, base),
        _highlights(runs, base, embed, skip=set(parts)),
    ]
    for i, run in shown:
        page.append(_run_section(i, run, base, embed, _part_sections(i - 1, runs, parts, base, embed)))
    page.append(f"<footer>made by vislab {escape(__version__)} &middot; <code>vislab report</code></footer>")
    page.append("</main></body></html>\n")
    # Every string went through `escape`, which drops lone surrogates; this only guards the file write.
    return "\n".join(page).encode("utf-8", "replace").decode("utf-8")


def _parts(runs: list[RunInfo]) -> dict[int, int]:
    """Index of each run that another run of the page lists as one of its parts (config.json ``"runs"``: the
    names of its sub-folders, as a tour's saliency step lists one run per method) -> that run's index."""
    at = {r.path: i for i, r in enumerate(runs)}
    out: dict[int, int] = {}
    for i, r in enumerate(runs):
        names = r.config.get("runs")
        for name in names if isinstance(names, list) else ():
            j = at.get(r.path / name) if isinstance(name, str) and name and Path(name).name == name else None
            if j is not None and j != i and i not in _holders(out, j):
                out[j] = i
    return out


def _holders(parts: dict[int, int], i: int) -> list[int]:
    """The runs `i` is a part of, nearest first (a part listing its holder would make a loop)."""
    chain: list[int] = []
    while i in parts and parts[i] not in chain:
        i = parts[i]
        chain.append(i)
    return chain


def _part_sections(holder: int, runs: list[RunInfo], parts: dict[int, int], base: Path, embed: bool) -> list[str]:
    """The sections of `holder`'s parts (with their own parts inside), each folded under its name."""
    out = []
    for j in sorted(j for j, h in parts.items() if h == holder):
        inner = _run_section(j + 1, runs[j], base, embed, _part_sections(j, runs, parts, base, embed))
        out.append(f"<details><summary>{escape(runs[j].name)} {_badge(runs[j].state)}</summary>{inner}</details>")
    return out


# -- overview ------------------------------------------------------------------------------------------------
def _overview(runs: list[tuple[int, RunInfo]], base: Path) -> str:
    if not runs:
        return ""
    rows = []
    for i, r in runs:
        dur = _duration(r)
        rows.append(
            f'<tr><td class="num">{i}</td>'
            f'<td><a href="#run-{i}">{escape(_display_path(r.path, base))}</a></td>'
            f"<td><code>{escape(_short(r.command or '', 70))}</code></td><td>{_badge(r.state)}</td>"
            f'<td class="num">{escape(_fmt_seconds(dur[0]) if dur else "")}</td>'
            f'<td class="num">{len(r.images)}</td><td class="num">{len(r.rows)}</td></tr>'
        )
    return ('<div class="card"><table class="overview"><thead><tr><th>#</th><th>run</th><th>command</th>'
            '<th>state</th><th>time</th><th>images</th><th>metric rows</th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table></div>")


def _highlights(runs: list[RunInfo], base: Path, embed: bool, skip: set[int]) -> str:
    """One picture per run, side by side at the top: the whole story at a glance, each linking to its run
    (not for the runs in `skip`: parts of another run)."""
    figs = []
    nested = _nested(runs)
    for i, r in enumerate(runs, 1):
        im = headline(r) if i - 1 not in skip else None
        # A run inside another (a saliency method's run in a tour step) or holding others (the tour's own
        # folder) is a part or a summary: its picture only if a driver named it, so each step shows once.
        if im is None or (i - 1 in nested and im.rel != (r.status or {}).get("headline")):
            continue
        w, h, pixel = _display_size(im.width, im.height, longest=220, shortest=110)
        cls = ' class="pixel"' if pixel else ""
        figs.append(f'<figure><a href="#run-{i}"><img{cls} src="{escape(_image_src(im.path, r.path, base, embed))}" '
                    f'width="{w}" height="{h}" alt="{escape(r.name)}: {escape(im.rel)}"></a>'
                    f"<figcaption>{escape(r.name)}{_caption_html(r, im.rel, w)}</figcaption></figure>")
    if len(figs) < 2:
        return ""  # a single run's picture is right below anyway
    return f'<div class="card"><div class="gallery">{"".join(figs)}</div></div>'


def _nested(runs: list[RunInfo]) -> set[int]:
    """Indexes of the runs that lie inside another run of the page or hold one."""
    at: dict[Path, list[int]] = {}
    for i, r in enumerate(runs):
        at.setdefault(r.path, []).append(i)
    out: set[int] = set()
    for i, r in enumerate(runs):  # each run's ancestors looked up, not every pair compared (a page of many runs)
        for holder in (j for parent in r.path.parents for j in at.get(parent, ())):
            out.update((i, holder))
    return out


def headline(r: RunInfo):
    """The picture that stands for a run: the one a driver named in status.json ("headline"), else the first
    top-level image that is not a plot of training curves (those are redrawn on the page anyway)."""
    named = (r.status or {}).get("headline")
    for im in r.images:
        if im.rel == named:
            return im
    plots = ("loss", "curve", "plot")
    for pool in ([im for im in r.images if "/" not in im.rel], r.images):
        for im in pool:
            if not any(w in im.rel.lower() for w in plots):
                return im
    return None


# -- one run -------------------------------------------------------------------------------------------------
def _run_section(i: int, r: RunInfo, base: Path, embed: bool, parts: list[str] | None = None) -> str:
    out = [f'<section class="card" id="run-{i}">',
           f'<div class="run-head"><h2><a href="#run-{i}">{i}. {escape(r.name)}</a></h2>{_badge(r.state)}'
           f'<span class="path">{escape(_display_path(r.path, base))}</span></div>']
    data = data_line(r.config)
    if data:
        out.append(f'<p class="data">{escape(data)}</p>')
    if r.status and r.status.get("message"):
        cls = "error" if r.state in ("failed", "interrupted") else ""
        msg = r.status["message"]
        out.append(f'<pre class="{cls}">{escape(_short(as_text(msg), MAX_LONG_TEXT))}</pre>')
    if r.problems and r.state != "not available":  # a step that never ran has no files to miss
        out.append('<ul class="problems">' + "".join(f"<li>{escape(p)}</li>" for p in r.problems) + "</ul>")
    if r.command:
        out.append(f"<pre>{escape(_short(r.command, MAX_LONG_TEXT))}</pre>")
    if r.history:
        out.append(_history(r))
    out.append('<div class="cols">')
    out.append(f"<div><h3>Settings</h3>{_config_table(r)}</div>")
    out.append(f"<div><h3>Timing</h3>{_timing_table(r)}</div>")
    out.append("</div>")
    if r.images:
        out.append(_gallery(r, base, embed))
    out.extend(_metrics_html(r))
    if r.texts:
        out.append("<h3>Outputs</h3>" + _more(len(r.texts), MAX_TEXTS, "outputs"))
        for rel, text in r.texts[:MAX_TEXTS]:
            out.append(_output(rel, text))
    if r.checkpoints:
        items = "".join(f"<li><code>{escape(rel)}</code> ({format_bytes(n)})</li>" for rel, n in r.checkpoints)
        out.append(f"<h3>Checkpoints</h3><ul>{items}</ul>")
    if parts:
        out.append(f"<h3>Parts ({len(parts)})</h3>" + "".join(parts))
    out.append("</section>")
    return "\n".join(out)


def _output(rel: str, text: str) -> str:
    """A text output: open when short, collapsed (one summary line saying how long) when long, so a tour's
    80 caption records do not make the page metres tall."""
    pretty = _pretty(rel, text)
    lines = pretty.count("\n") + 1
    if lines <= OPEN_LINES:
        return f"<details open><summary>{escape(rel)}</summary><pre>{escape(pretty)}</pre></details>"
    return (f"<details><summary>{escape(rel)} ({lines} lines; click to show)</summary>"
            f"<pre>{escape(pretty)}</pre></details>")


def _history(r: RunInfo) -> str:
    """config.json's "history" (a resumed run's earlier commands): one line per entry, oldest first."""
    items = []
    for h in r.history[:MAX_ROWS]:
        when = f'<span class="path">{escape(_short(h["time"], 40))}</span> ' if "time" in h else ""
        action = f"{escape(_short(h['action'], 40))} " if "action" in h else ""
        cmd = f"<code>{escape(_short(h['command'], 2000))}</code>" if "command" in h else ""
        items.append(f"<li>{when}{action}{cmd}</li>")
    return (f"<h3>History</h3>{_more(len(r.history), MAX_ROWS, 'entries')}"
            f'<ol class="history">{"".join(items)}</ol>')


def _config_table(r: RunInfo) -> str:
    rows = [("vislab version", _short(r.version, 80))] if r.version else []
    settings = _flatten(r.config)
    rows += [(_short(k, 200), _fmt_value(v)) for k, v in settings[:MAX_ROWS]]
    if not rows:
        return '<p class="sub">no settings recorded</p>'
    table = ("<table>" + "".join(f"<tr><th>{escape(k)}</th><td><code>{escape(v)}</code></td></tr>"
                                 for k, v in rows) + "</table>" + _more(len(settings), MAX_ROWS, "settings"))
    return _collapsed(table, len(rows), "settings")


def _collapsed(table: str, rows: int, what: str) -> str:
    """A table of more than `OPEN_ROWS` rows starts collapsed, so a tour's dozen runs stay a page to scroll,
    not metres of settings."""
    if rows <= OPEN_ROWS:
        return table
    return f"<details><summary>{rows} {what} (click to show)</summary>{table}</details>"


def _more(n: int, shown: int, what: str) -> str:
    return f'<p class="sub">({n - shown} more {what} not shown)</p>' if n > shown else ""


def _timing_table(r: RunInfo) -> str:
    rows = []
    times = _times(r)
    start = min(times) if times else (r.file_times[0] if r.file_times else None)
    if start is not None:
        rows.append(("started", _fmt_date(start)))
    dur = _duration(r)
    if dur:
        rows.append(("duration", f"{_fmt_seconds(dur[0])} ({dur[1]})"))
    cpu = finite_number((r.status or {}).get("cpu_seconds"))
    if cpu is not None:
        rows.append(("CPU time", f"{_fmt_seconds(cpu)} (all threads)"))
    steps = [s for s in (finite_number(row.get("step")) for row in r.rows) if s is not None]
    if r.rows and all(is_item_row(row) for row in r.rows):  # a record per picture: its "step" is no progress
        item = next(k for k in ITEM_KEYS if isinstance(r.rows[0].get(k), str))  # image, or a robustness budget
        rows.append(("logged", f"{len(r.rows)} row{'s' * (len(r.rows) != 1)}, one per {item}"))
    elif steps:
        rows.append(("steps logged", f"{len(r.rows)} rows, last step {_fmt_num(max(steps))}"))
        # Only for a real training log: a handful of rows (one per image, say) makes no meaningful rate.
        if len(r.rows) >= 10 and len(times) >= 2 and max(times) > min(times) and max(steps) > min(steps):
            rate = (max(steps) - min(steps)) / (max(times) - min(times))
            if math.isfinite(rate):
                rows.append(("speed", f"{rate:.3g} steps/s"))
    if not rows:
        return '<p class="sub">no timing recorded</p>'
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _duration(r: RunInfo) -> tuple[float, str] | None:
    """(seconds, where the figure comes from): the run's own measurement (status.json), the metrics clock, or
    file times. A recorded 0 (or a negative figure) is no measurement: the timestamps are used instead."""
    seconds = finite_number((r.status or {}).get("seconds"))
    if seconds is not None and seconds > 0:
        return seconds, "measured by the run"
    times = _times(r)
    if len(times) >= 2:
        return max(times) - min(times), "first to last metrics row"
    if r.file_times and r.file_times[1] > r.file_times[0]:
        return r.file_times[1] - r.file_times[0], "from file times"
    return None


def _times(r: RunInfo) -> list[float]:
    """The finite "time" stamps of the metrics rows."""
    return [t for t in (finite_number(row.get("time")) for row in r.rows) if t is not None]


def _gallery(r: RunInfo, base: Path, embed: bool) -> str:
    shown = _spread(r.images, MAX_IMAGES)
    note = ""
    if len(shown) < len(r.images):
        note = f' <span class="sub">(showing {len(shown)} of {len(r.images)})</span>'
    figs = []
    for im in shown:
        w, h, pixel = _display_size(im.width, im.height)
        src = _image_src(im.path, r.path, base, embed)
        cls = ' class="pixel"' if pixel else ""
        link = src if not src.startswith("data:") else None
        img = (f'<img{cls} src="{escape(src)}" width="{w}" height="{h}" loading="eager" '
               f'alt="{escape(im.rel)}" title="{escape(im.rel)} ({im.width}x{im.height})">')
        if link:
            img = f'<a href="{escape(link)}">{img}</a>'
        figs.append(f"<figure>{img}<figcaption>{escape(im.rel)}{_caption_html(r, im.rel, w)}</figcaption>"
                    "</figure>")
    return f"<h3>Results{note}</h3><div class=\"gallery\">{''.join(figs)}</div>"


def _metrics_html(r: RunInfo) -> list[str]:
    """Curves for the real series only; per-item records, stages and the rest as tables (`series`)."""
    out = []
    views = metric_views(r.rows)
    png = plot_series(views.curves)
    if png:
        out.append("<h3>Curves</h3>")
        out.append(f'<img class="curves" alt="metric curves of {escape(r.name)}" '
                   f'src="data:image/png;base64,{base64.b64encode(png).decode()}">')
    if views.stages:
        out.append(f"<h3>Stages</h3>{_stages_table(views)}")
    if views.items:
        out.append(f"<h3>Per {views.item_columns[0] if views.item_columns else 'item'}</h3>{_items_table(views)}")
    rest = [row for row in r.rows if not is_item_row(row)]
    series = {k: v for k, v in numeric_series(rest).items() if k not in views.stage_columns}  # shown as stages
    if series or other_values(rest):
        out.append(f"<h3>Metrics</h3>{_metrics_table(rest, series)}")
    return out


def _items_table(views: MetricViews) -> str:
    """One row per item (a picture of a classify or saliency run), one column per logged value."""
    cols = views.item_columns[:40]
    head = "".join(f"<th>{escape(_short(c, 60))}</th>" for c in cols)
    body = []
    for row in views.items[:MAX_ROWS]:
        cells = [cell(row.get(c)) for c in cols]
        body.append("<tr>" + "".join(f'<td class="num">{escape(_short(t, 200))}</td>' if num else
                                     f"<td>{escape(_short(t, 200))}</td>" for t, num in cells) + "</tr>")
    table = (f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
             + _more(len(views.items), MAX_ROWS, "rows"))
    return _collapsed(table, len(body), "rows")


def _stages_table(views: MetricViews) -> str:
    """One row per stretch of steps over which the stage values (scale, height, width) held."""
    cols = views.stage_columns
    head = "<th>steps</th>" + "".join(f"<th>{escape(_short(c, 60))}</th>" for c in cols)
    body = []
    for first, last, values in views.stages[:MAX_ROWS]:
        steps = _fmt_num(first) if first == last else f"{_fmt_num(first)}\u2013{_fmt_num(last)}"
        body.append(f"<tr><td>{escape(steps)}</td>" + "".join(
            f'<td class="num">{escape(cell(values.get(c))[0])}</td>' for c in cols) + "</tr>")
    return (f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            + _more(len(views.stages), MAX_ROWS, "stages"))


def _metrics_table(metric_rows: list[dict[str, Any]], series: dict[str, list[tuple[float, float]]]) -> str:
    head = ('<table><thead><tr><th>metric</th><th>last</th><th>min</th><th>max</th><th>points</th>'
            "<th>last step</th></tr></thead><tbody>")
    rows = []
    others = other_values(metric_rows)
    total = len(series) + len(others)
    for k, pts in list(series.items())[:MAX_ROWS]:
        ys = [y for _, y in pts]
        fin = [y for y in ys if math.isfinite(y)]
        rows.append(f"<tr><th>{escape(_short(k, 200))}</th><td class=\"num\">{_fmt_num(ys[-1])}</td>"
                    f"<td class=\"num\">{_fmt_num(min(fin)) if fin else ''}</td>"
                    f"<td class=\"num\">{_fmt_num(max(fin)) if fin else ''}</td>"
                    f"<td class=\"num\">{len(pts)}</td><td class=\"num\">{_fmt_num(pts[-1][0])}</td></tr>")
    for k, v in list(others.items())[:max(0, MAX_ROWS - len(series))]:
        rows.append(f'<tr><th>{escape(_short(k, 200))}</th><td colspan="5"><code>{escape(_fmt_value(v))}</code>'
                    "</td></tr>")
    return _collapsed(head + "".join(rows) + "</tbody></table>" + _more(total, MAX_ROWS, "metrics"), len(rows),
                      "metrics")


# -- helpers -------------------------------------------------------------------------------------------------
def _caption_html(r: RunInfo, rel: str, width: int) -> str:
    """A picture's caption (from the run's captions.json) and its warning, if any, sized to the picture."""
    c = r.captions.get(rel)
    if c is None:
        return ""
    style = f' style="max-width:{max(width, 120)}px"'
    out = f'<span class="caption"{style}>{escape(c.text)}</span>'
    if c.warning:
        out += f'<span class="warn"{style}>&#9888; {escape(c.warning)}</span>'
    return out


def _spread(items: list, k: int) -> list:
    if len(items) <= k:
        return items
    idx = sorted({round(i * (len(items) - 1) / (k - 1)) for i in range(k)})
    return [items[i] for i in idx]


def _display_size(w: int, h: int, longest: int = 0, shortest: int = 0) -> tuple[int, int, bool]:
    """On-page size: long side at most MAX_SIDE px; tiny images (MNIST grids, 32px textures) scaled up by a
    whole factor and drawn pixelated so they stay crisp."""
    top, bottom = longest or MAX_SIDE, shortest or MIN_SIDE
    long = max(w, h, 1)
    if long > top:
        s = top / long
        return max(1, round(w * s)), max(1, round(h * s)), False
    if long < bottom:
        f = max(1, min(-(-bottom // long), top // long))
        return w * f, h * f, True
    return w, h, False


def _image_src(path: Path, root: Path, base: Path, embed: bool) -> str:
    """A link relative to the page, or the image itself as a data URI (read the guarded way, from `root`)."""
    try:
        rel = os.path.relpath(path, base)
    except ValueError:  # another drive (Windows): no relative path exists, so embed instead
        rel, embed = None, True
    if embed:
        try:
            data = base64.b64encode(read_bytes(path, root, MAX_EMBED_BYTES)).decode()
            return f"data:{MIME.get(path.suffix.lower(), 'application/octet-stream')};base64,{data}"
        except Unreadable:  # too large (or changed since the scan): link it instead
            pass
    # fsencode: a file name that is not UTF-8 keeps its bytes (quote would fail on the surrogates).
    return quote(os.fsencode(Path(rel or path).as_posix()))


def _display_path(p: Path, base: Path) -> str:
    """The run's folder relative to the page; the folder's own name when the page lies inside it (never ".")."""
    try:
        rel = os.path.relpath(p, base)
    except ValueError:
        return str(p)
    if rel == ".":
        return p.name or str(p)
    return Path(rel).as_posix()


def _badge(state: str) -> str:
    cls = {"complete": "complete", "incomplete": "incomplete", "failed": "failed",
           "interrupted": "interrupted"}.get(state, "unavailable")
    return f'<span class="badge {cls}">{escape(state)}</span>'


def _state_order(s: str) -> tuple[int, str]:
    order = ["complete", "incomplete", "failed", "interrupted"]
    return (order.index(s) if s in order else len(order), s)


def _flatten(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.extend(_flatten(v, key + "."))
        else:
            out.append((key, v))
    return out


def _fmt_value(v: Any) -> str:
    return _short(as_text(v), 240)


def _fmt_num(v: float) -> str:
    if math.isfinite(v) and v == int(v) and abs(v) < 1e12:
        return str(int(v))
    return f"{v:.4g}"


def _fmt_date(t: float) -> str:
    """A Unix time as a UTC date; one outside years 1970..9999 (a corrupt clock) as the plain number."""
    if 0 <= t < 253_402_300_800:
        try:
            return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))
        except (OverflowError, ValueError, OSError):
            pass
    return f"{t:.6g} (not a plausible time)"


def _fmt_seconds(s: float) -> str:
    if not math.isfinite(s) or abs(s) >= 1e9:  # nonsense from a corrupt log: shown, not formatted as h/min
        return f"{s:.3g} s"
    if 0 < s < 0.005:
        return "< 0.01 s"
    if s < 1:  # quick jobs (an evaluation on cached features): two decimals, not "0.0 s"
        return f"{s:.2f} s"
    if s < 60:
        return f"{s:.1f} s"
    m, sec = divmod(round(s), 60)
    if m < 60:
        return f"{m} min {sec:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"



def _pretty(rel: str, text: str) -> str:
    if rel.endswith(".json"):
        try:
            return json.dumps(parse_json(text), indent=2)[:8000]
        except (Unreadable, ValueError, RecursionError):
            return text
    return text


# C0/C1 controls (but tab, newline, form feed, carriage return), lone surrogates (from non-UTF-8 file names or
# JSON "\ud800") and noncharacters: not allowed in an HTML page, and surrogates cannot even be written as UTF-8.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")


def escape(s: str) -> str:
    """`html.escape` (quotes too) that also replaces characters an HTML page must not hold with U+FFFD."""
    return html.escape(_BAD_CHARS.sub("\ufffd", s))


def _short(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "\u2026"
