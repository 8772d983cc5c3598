"""Render `RunInfo` records as one self-contained HTML page.

No scripts, no external fonts or stylesheets: CSS is inline, loss curves are embedded PNGs, result images are
linked relative to the page (or embedded with ``embed=True``, for a page that travels alone). Nothing on the
page depends on when it was made, so the same runs always give the same bytes.
"""

from __future__ import annotations

import base64
import json
import math
import os
import time
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import __version__
from .plots import plot_series
from .scan import NOT_PLOTTED, RunInfo, numeric_series, other_values

MAX_IMAGES = 24
"""Result images shown per run; a run with more (e.g. a sample grid every 100 steps) shows an even spread of
them, first and last included."""

MAX_SIDE, MIN_SIDE = 480, 160
"""Pictures are shown with their long side between these (in CSS pixels); the link opens the full size."""

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
figure img { display:block; border: 1px solid var(--line); border-radius: 4px; background: #fff; }
img.pixel { image-rendering: pixelated; }
img.curves { max-width: 100%; height: auto; }
ul.problems { margin: 6px 0; color: #8a5a00; }
details summary { cursor: pointer; color: var(--muted); margin: 4px 0; }
footer { color: var(--muted); font-size: 12px; text-align: center; }
"""


def render(runs: list[RunInfo], out_path: Path, *, embed: bool = False, title: str = "vislab report") -> str:
    """The page for `runs`, to be written at `out_path` (image links are made relative to it)."""
    base = out_path.resolve().parent
    states = [r.state for r in runs]
    counts = ", ".join(f"{states.count(s)} {s}" for s in sorted(set(states), key=_state_order))
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{CSS}</style></head><body><main>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="sub">{len(runs)} run{"s" * (len(runs) != 1)}: {escape(counts)}</p>' if runs else
        '<p class="sub">no runs</p>',
        _overview(runs, base),
        _highlights(runs, base, embed),
    ]
    for i, run in enumerate(runs, 1):
        parts.append(_run_section(i, run, base, embed))
    parts.append(f"<footer>made by vislab {escape(__version__)} &middot; <code>vislab report</code></footer>")
    parts.append("</main></body></html>\n")
    return "\n".join(parts)


# -- overview ------------------------------------------------------------------------------------------------
def _overview(runs: list[RunInfo], base: Path) -> str:
    if not runs:
        return ""
    rows = []
    for i, r in enumerate(runs, 1):
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


def _highlights(runs: list[RunInfo], base: Path, embed: bool) -> str:
    """One picture per run, side by side at the top: the whole story at a glance, each linking to its run."""
    figs = []
    for i, r in enumerate(runs, 1):
        im = headline(r)
        if im is None:
            continue
        w, h, pixel = _display_size(im.width, im.height, longest=220, shortest=110)
        cls = ' class="pixel"' if pixel else ""
        figs.append(f'<figure><a href="#run-{i}"><img{cls} src="{escape(_image_src(im.path, base, embed))}" '
                    f'width="{w}" height="{h}" alt="{escape(r.name)}: {escape(im.rel)}"></a>'
                    f"<figcaption>{escape(r.name)}</figcaption></figure>")
    if len(figs) < 2:
        return ""  # a single run's picture is right below anyway
    return f'<div class="card"><div class="gallery">{"".join(figs)}</div></div>'


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
def _run_section(i: int, r: RunInfo, base: Path, embed: bool) -> str:
    out = [f'<section class="card" id="run-{i}">',
           f'<div class="run-head"><h2><a href="#run-{i}">{i}. {escape(r.name)}</a></h2>{_badge(r.state)}'
           f'<span class="path">{escape(_display_path(r.path, base))}</span></div>']
    if r.status and r.status.get("message"):
        cls = "error" if r.state in ("failed", "interrupted") else ""
        out.append(f'<pre class="{cls}">{escape(str(r.status["message"]))}</pre>')
    if r.problems and r.state != "not available":  # a step that never ran has no files to miss
        out.append('<ul class="problems">' + "".join(f"<li>{escape(p)}</li>" for p in r.problems) + "</ul>")
    if r.command:
        out.append(f"<pre>{escape(r.command)}</pre>")
    out.append('<div class="cols">')
    out.append(f"<div><h3>Settings</h3>{_config_table(r)}</div>")
    out.append(f"<div><h3>Timing</h3>{_timing_table(r)}</div>")
    out.append("</div>")
    if r.images:
        out.append(_gallery(r, base, embed))
    series = numeric_series(r.rows)
    png = plot_series({k: v for k, v in series.items() if k not in NOT_PLOTTED})
    if png:
        out.append("<h3>Curves</h3>")
        out.append(f'<img class="curves" alt="metric curves of {escape(r.name)}" '
                   f'src="data:image/png;base64,{base64.b64encode(png).decode()}">')
    if series or other_values(r.rows):
        out.append(f"<h3>Metrics</h3>{_metrics_table(r, series)}")
    if r.texts:
        out.append("<h3>Outputs</h3>")
        for rel, text in r.texts:
            out.append(f"<details open><summary>{escape(rel)}</summary>"
                       f"<pre>{escape(_pretty(rel, text))}</pre></details>")
    if r.checkpoints:
        items = "".join(f"<li><code>{escape(rel)}</code> ({_fmt_bytes(n)})</li>" for rel, n in r.checkpoints)
        out.append(f"<h3>Checkpoints</h3><ul>{items}</ul>")
    out.append("</section>")
    return "\n".join(out)


def _config_table(r: RunInfo) -> str:
    rows = [("vislab version", r.version)] if r.version else []
    rows += [(k, _fmt_value(v)) for k, v in _flatten(r.config)]
    if not rows:
        return '<p class="sub">no settings recorded</p>'
    return "<table>" + "".join(f"<tr><th>{escape(k)}</th><td><code>{escape(v)}</code></td></tr>"
                               for k, v in rows) + "</table>"


def _timing_table(r: RunInfo) -> str:
    rows = []
    times = [row["time"] for row in r.rows if isinstance(row.get("time"), (int, float))
             and not isinstance(row.get("time"), bool) and math.isfinite(row["time"])]
    start = min(times) if times else (r.file_times[0] if r.file_times else None)
    if start is not None:
        rows.append(("started", time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(start))))
    dur = _duration(r)
    if dur:
        rows.append(("duration", f"{_fmt_seconds(dur[0])} ({dur[1]})"))
    cpu = (r.status or {}).get("cpu_seconds")
    if isinstance(cpu, (int, float)) and not isinstance(cpu, bool):
        rows.append(("CPU time", f"{_fmt_seconds(float(cpu))} (all threads)"))
    steps = [row["step"] for row in r.rows if isinstance(row.get("step"), int)]
    if steps:
        rows.append(("steps logged", f"{len(r.rows)} rows, last step {max(steps)}"))
        # Only for a real training log: a handful of rows (one per image, say) makes no meaningful rate.
        if len(r.rows) >= 10 and len(times) >= 2 and max(times) > min(times) and max(steps) > min(steps):
            rate = (max(steps) - min(steps)) / (max(times) - min(times))
            rows.append(("speed", f"{rate:.3g} steps/s"))
    if not rows:
        return '<p class="sub">no timing recorded</p>'
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _duration(r: RunInfo) -> tuple[float, str] | None:
    """(seconds, where the figure comes from): a driver's measurement, the metrics clock, or file times."""
    if r.status and isinstance(r.status.get("seconds"), (int, float)):
        return float(r.status["seconds"]), "measured by the driver"
    times = [row["time"] for row in r.rows if isinstance(row.get("time"), (int, float))
             and not isinstance(row.get("time"), bool) and math.isfinite(row["time"])]
    if len(times) >= 2:
        return max(times) - min(times), "first to last metrics row"
    if r.file_times and r.file_times[1] > r.file_times[0]:
        return r.file_times[1] - r.file_times[0], "from file times"
    return None


def _gallery(r: RunInfo, base: Path, embed: bool) -> str:
    shown = _spread(r.images, MAX_IMAGES)
    note = ""
    if len(shown) < len(r.images):
        note = f' <span class="sub">(showing {len(shown)} of {len(r.images)})</span>'
    figs = []
    for im in shown:
        w, h, pixel = _display_size(im.width, im.height)
        src = _image_src(im.path, base, embed)
        cls = ' class="pixel"' if pixel else ""
        link = src if not embed else None
        img = (f'<img{cls} src="{escape(src)}" width="{w}" height="{h}" loading="eager" '
               f'alt="{escape(im.rel)}" title="{escape(im.rel)} ({im.width}x{im.height})">')
        if link:
            img = f'<a href="{escape(link)}">{img}</a>'
        figs.append(f"<figure>{img}<figcaption>{escape(im.rel)}</figcaption></figure>")
    return f"<h3>Results{note}</h3><div class=\"gallery\">{''.join(figs)}</div>"


def _metrics_table(r: RunInfo, series: dict[str, list[tuple[float, float]]]) -> str:
    head = ('<table><thead><tr><th>metric</th><th>last</th><th>min</th><th>max</th><th>points</th>'
            "<th>last step</th></tr></thead><tbody>")
    rows = []
    for k, pts in series.items():
        ys = [y for _, y in pts]
        fin = [y for y in ys if math.isfinite(y)]
        rows.append(f"<tr><th>{escape(k)}</th><td class=\"num\">{_fmt_num(ys[-1])}</td>"
                    f"<td class=\"num\">{_fmt_num(min(fin)) if fin else ''}</td>"
                    f"<td class=\"num\">{_fmt_num(max(fin)) if fin else ''}</td>"
                    f"<td class=\"num\">{len(pts)}</td><td class=\"num\">{_fmt_num(pts[-1][0])}</td></tr>")
    for k, v in other_values(r.rows).items():
        rows.append(f'<tr><th>{escape(k)}</th><td colspan="5"><code>{escape(_fmt_value(v))}</code></td></tr>')
    return head + "".join(rows) + "</tbody></table>"


# -- helpers -------------------------------------------------------------------------------------------------
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


def _image_src(path: Path, base: Path, embed: bool) -> str:
    if not embed:
        try:
            return quote(Path(os.path.relpath(path, base)).as_posix())
        except ValueError:  # another drive (Windows): no relative path exists, so embed instead
            pass
    data = base64.b64encode(path.read_bytes()).decode()
    return f"data:{MIME.get(path.suffix.lower(), 'application/octet-stream')};base64,{data}"


def _display_path(p: Path, base: Path) -> str:
    try:
        rel = os.path.relpath(p, base)
    except ValueError:
        return str(p)
    return "." if rel == "." else Path(rel).as_posix()


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
    s = v if isinstance(v, str) else json.dumps(v, default=str)
    return _short(s, 240)


def _fmt_num(v: float) -> str:
    if math.isfinite(v) and v == int(v) and abs(v) < 1e12:
        return str(int(v))
    return f"{v:.4g}"


def _fmt_seconds(s: float) -> str:
    if s < 60:
        return f"{s:.1f} s"
    m, sec = divmod(round(s), 60)
    if m < 60:
        return f"{m} min {sec:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


def _fmt_bytes(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    size = float(n)
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            break
    return f"{size:.1f} {unit}"


def _pretty(rel: str, text: str) -> str:
    if rel.endswith(".json"):
        try:
            return json.dumps(json.loads(text), indent=2)[:8000]
        except ValueError:
            return text
    return text


def _short(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "\u2026"
