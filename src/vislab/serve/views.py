"""What the page shows of a finished job: its pictures (as URLs under ``/runs``), a table, texts and numbers.

Built from the job's result and the files in its run folder, so a run from the history (or from the CLI) shows
the same way as one just finished.
"""

from __future__ import annotations

import contextlib
import functools
import math
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .paths import read_json
from .uploads import UPLOADS, upload_names

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MAX_IMAGES = 24


def file_url(root: Path, path: Path) -> str:
    rel = path.resolve().relative_to(root.resolve()).as_posix()
    return "/runs/" + quote(rel)


def result_view(root: Path, run_dir: Path, kind: str, result: Any = None) -> dict[str, Any]:
    """``{"images": [{"label", "url"}], "table": [...], "texts": [...], "numbers": {...}, "names": {token: file
    name}}`` for one run (names: the original file names of the uploads it read).

    Run folders may be copied in from elsewhere, so every JSON file is shape-checked: a file of the wrong shape
    makes the run show as ``"unreadable"`` (the page says which file), never an error page."""
    raw = read_json(run_dir / "status.json")
    status = _dict(raw)
    bad = bad_status(raw) + _bad_config(run_dir)
    files = {k: run_dir / v for k, v in _dict(status.get("files")).items() if isinstance(v, str) and v}
    images: dict[str, dict[str, str]] = {}  # url -> picture: two roles may name one file ("image", "result")
    for role, p in files.items():
        if p.suffix.lower() in IMAGE_SUFFIXES and _is_inside(run_dir, p):
            images.setdefault(file_url(root, p), {"label": role, "url": file_url(root, p)})
    view: dict[str, Any] = {"images": list(images.values())[:MAX_IMAGES], "numbers": _plain(status.get("numbers")),
                            "status": status.get("status") if isinstance(status.get("status"), str) else None,
                            "message": _text(status.get("message")),
                            "names": upload_names(root, _config(run_dir))}
    extra = _EXTRA.get(kind)
    if kind == "attack":  # its pictures may need finding in the folder, as URLs under the runs folder
        extra = functools.partial(_attack, root)
    if extra is not None:
        try:
            bad += extra(run_dir, view, result) or []
        except (TypeError, ValueError, AttributeError, KeyError, OSError):  # a shape not foreseen below
            bad.append("its result files")
    if bad:
        view["status"] = "unreadable"
        view["message"] = f"{', '.join(bad)}: not what vislab writes (a malformed or foreign file); not shown"
    return view


def _classify(run_dir: Path, view: dict, result: Any) -> list[str]:
    rows = read_json(run_dir / "predictions.json")
    good = [r for r in _list(rows) if isinstance(r, dict) and isinstance(r.get("image", ""), str)
            and all(isinstance(t, dict) for t in _list(r.get("top")))]
    view["table"] = [{**t, "image": Path(r.get("image", "")).name} for r in good for t in _list(r.get("top"))]
    return ["predictions.json"] if rows is not None and (not isinstance(rows, list) or len(good) < len(rows)) else []


def input_url(root: Path, spec: Any) -> str | None:
    """Where the page can show a job's input picture: a sample's thumbnail, or the stored upload."""
    if not isinstance(spec, str):
        return None
    if spec.startswith("sample:"):
        return "/api/sample/" + quote(spec[len("sample:"):])
    p = Path(spec)
    if p.parent.name == UPLOADS and _is_inside(root / UPLOADS, p):
        return "/uploads/" + quote(p.name)
    return None


def _fool(run_dir: Path, view: dict, result: Any) -> list[str]:
    raw = read_json(run_dir / "result.json")
    s = _dict(raw)
    original = input_url(run_dir.parent, _config(run_dir).get("image"))
    if original:
        view["images"].insert(0, {"label": "original", "url": original})
    view["texts"] = [f"before: {_text(s.get('before_name'))} ({_pct(s.get('before_prob'))})",
                     f"after: {_text(s.get('after_name'))} ({_pct(s.get('after_prob'))})",
                     f"target: {_text(s.get('target_name'))}, p {_pct(s.get('target_prob_before'))} -> "
                     f"{_pct(s.get('target_prob_after'))}; success: {s.get('success') is True}"]
    return ["result.json"] if raw is not None and not isinstance(raw, dict) else []


def _caption(run_dir: Path, view: dict, result: Any) -> list[str]:
    rows = read_json(run_dir / "captions.json")
    view["texts"] = [_text(r.get("caption")) for r in _list(rows) if isinstance(r, dict)]
    return ["captions.json"] if rows is not None and not isinstance(rows, list) else []


def _gan_eval(run_dir: Path, view: dict, result: Any) -> list[str]:
    raw = read_json(run_dir / "eval.json")
    view["table"] = [{"score": k, "value": v} for k, v in _dict(raw).items()
                     if isinstance(v, (int, float, str)) and not isinstance(v, bool)]
    return ["eval.json"] if raw is not None and not isinstance(raw, dict) else []


def _gan_sample(run_dir: Path, view: dict, result: Any) -> list[str]:
    """The score of the same checkpoint, when a `gan eval` run of it is in the runs folder (the newest)."""
    checkpoint = _config(run_dir).get("checkpoint")
    if not isinstance(checkpoint, str) or not checkpoint:
        return [] if checkpoint is None else ["config.json"]
    evals = []
    for p in run_dir.parent.glob("gan-eval-*/eval.json"):
        scores = read_json(p)
        if isinstance(scores, dict) and _config(p.parent).get("checkpoint") == checkpoint:
            with contextlib.suppress(OSError):
                evals.append((p.stat(follow_symlinks=False).st_mtime, p.parent.name, scores))
    if evals:
        _, name, scores = max(evals, key=lambda t: t[0])
        view["texts"] = [f"{k}: {_text(scores[k])}" for k in ("mnist_score", "frechet_distance", "n") if k in scores]
        view["texts"].append(f"(from {name})")
    return []


def _saliency(run_dir: Path, view: dict, result: Any) -> list[str]:
    rows = [r for r in _list(getattr(result, "rows", None)) if isinstance(r, dict)]
    view["texts"] = [f"{Path(_text(r.get('image'))).name}: target {_text(r.get('target_name'))} "
                     f"({_pct(r.get('target_prob'))}), predicted {_text(r.get('predicted_name'))} "
                     f"({_pct(r.get('predicted_prob'))})" for r in rows]
    return []


MAX_ROWS = 100
"""Rows of a table file shown (saliency-eval writes one per method)."""


def _saliency_eval(run_dir: Path, view: dict, result: Any) -> list[str]:
    """faithfulness.csv: one row per method (its scores averaged over the images), the columns under the
    headings of faithfulness.md; "(low)" / "(high)" say which way is more faithful."""
    import csv

    from ..report.safefiles import Unreadable, read_bytes
    from ..visualize.saliency_eval import COLUMNS

    try:
        text = read_bytes(run_dir / "faithfulness.csv", run_dir, 2**20).decode("utf-8")
    except Unreadable:  # missing, a link out of the run, a FIFO: not shown, as with the JSON files
        return []
    except UnicodeDecodeError:
        return ["faithfulness.csv"]
    try:
        rows = list(csv.reader(text.splitlines()))
    except csv.Error:  # a field over csv's size limit, a stray NUL
        return ["faithfulness.csv"]
    head, body = (rows[0], rows[1:MAX_ROWS + 1]) if rows else ([], [])
    if head[:2] != ["method", "images"] or any(len(r) != len(head) for r in body):
        return ["faithfulness.csv"]
    table = []
    for r in body:
        numbers = [_number(x) for x in r[1:]]
        if any(x is None for x in numbers) or not r[0]:
            return ["faithfulness.csv"]
        table.append({"method": _text(r[0], 80),
                      **{_text(COLUMNS.get(k, k), 80): x for k, x in zip(head[1:], numbers)}})
    view["table"] = table
    return []


def _number(s: str) -> float | int | None:
    try:
        x = float(s)
    except ValueError:
        return None
    return int(x) if x.is_integer() and "." not in s and "e" not in s.lower() else x if math.isfinite(x) else None


def _json_rows(path: Path, key: str) -> tuple[dict, list[dict]] | list[str]:
    """A JSON file's object and its list of objects under `key`, or the problems to report instead: none when
    the file is missing (nothing to show), its name when it holds something else."""
    raw = read_json(path)
    if raw is None:
        return []
    rows = _dict(raw).get(key)
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        return [path.name]
    return raw, rows


def _attack(root: Path, run_dir: Path, view: dict, result: Any) -> list[str]:
    """result.json's rows: per image the class before and after (with probabilities), fooled as saved, and the
    change in 0-255 levels (L-inf) and [0, 1] units (L2). The pictures are the files status.json names; where it
    names none (a tour's step keeps the tour's status.json), the folder's NN_NAME_{clean,adv,perturbation}.png."""
    got = _json_rows(run_dir / "result.json", "rows")
    if not isinstance(got, tuple):
        return got
    _, rows = got
    table = []
    for r in rows[:MAX_ROWS]:
        numbers = [r.get(k) for k in ("before_prob", "after_prob", "linf_levels", "l2")]
        if not all(_is_number(x) for x in numbers) or not isinstance(r.get("success"), bool):
            return ["result.json"]
        table.append({"image": _text(r.get("image")), "before": _text(r.get("before_name"), 80),
                      "before_prob": numbers[0], "after": _text(r.get("after_name"), 80), "after_prob": numbers[1],
                      "fooled": "yes" if r["success"] else "no", "linf_levels": numbers[2], "l2": numbers[3]})
    view["table"] = table
    if not view["images"]:
        view["images"] = _attack_pictures(root, run_dir)
    return []


def _attack_pictures(root: Path, run_dir: Path) -> list[dict[str, str]]:
    pictures = []
    for clean in sorted(run_dir.glob("[0-9][0-9]_*_clean.png"))[: (MAX_IMAGES - 1) // 3]:  # and the figure
        stem = clean.name[: -len("_clean.png")]
        for suffix, role in (("clean", "original"), ("adv", "adversarial"), ("perturbation", "change")):
            p = run_dir / f"{stem}_{suffix}.png"
            if _is_inside(run_dir, p):
                pictures.append({"label": f"{stem}: {role}", "url": file_url(root, p)})
    figure = run_dir / "figure.png"
    return pictures + ([{"label": "figure", "url": file_url(root, figure)}] if _is_inside(run_dir, figure) else [])


def _robustness(run_dir: Path, view: dict, result: Any) -> list[str]:
    """robustness.json's curve: accuracy under attack (and as 8-bit PNGs) per budget; the plot is
    robustness.png, the figure status.json names."""
    got = _json_rows(run_dir / "robustness.json", "curve")
    if not isinstance(got, tuple):
        return got
    raw, curve = got
    keys = ("eps", "accuracy", "accuracy_8bit", "correct", "images")
    table = [{k: r.get(k) for k in keys} for r in curve[:MAX_ROWS]]
    if not all(_is_number(x) for r in table for x in r.values()):
        return ["robustness.json"]
    view["table"] = table
    view["texts"] = [f"{_text(raw.get('attack'), 40)}, {_text(raw.get('steps'), 20)} steps; "
                     f"eps in {_text(raw.get('eps_units'), 80)}"]
    return []


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


_EXTRA = {"classify": _classify, "fool": _fool, "caption": _caption, "gan-eval": _gan_eval, "saliency": _saliency,
          "gan-sample": _gan_sample, "saliency-eval": _saliency_eval, "attack": _attack,
          "robustness": _robustness}


def _pct(v: Any) -> str:
    return f"{v:.1%}" if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else "?"


def _plain(numbers: Any) -> dict:
    return {k: v for k, v in _dict(numbers).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}


def _dict(v: Any) -> dict:
    return v if isinstance(v, dict) else {}


def _list(v: Any) -> list:
    return v if isinstance(v, list) else []


def _text(v: Any, limit: int = 500) -> str:
    """A value for the page as a short string (None: empty)."""
    return "" if v is None else (v if isinstance(v, str) else str(v))[:limit]


def _config(run_dir: Path) -> dict:
    """The ``config`` part of the run's config.json ({} when missing or malformed)."""
    return _dict(_dict(read_json(run_dir / "config.json")).get("config"))


def bad_status(raw: Any) -> list[str]:
    """["status.json"] when it was read but is not shaped as `vislab.jobs.finish_run` writes it."""
    if raw is None:  # missing, or not read (a link out of the run, a FIFO): the run is incomplete, not malformed
        return []
    ok = (isinstance(raw, dict) and isinstance(raw.get("status", ""), str) and isinstance(raw.get("files", {}), dict)
          and isinstance(raw.get("numbers", {}), dict) and isinstance(raw.get("message", ""), str))
    return [] if ok else ["status.json"]


def _bad_config(run_dir: Path) -> list[str]:
    raw = read_json(run_dir / "config.json")
    ok = raw is None or (isinstance(raw, dict) and isinstance(raw.get("config", {}), dict))
    return [] if ok else ["config.json"]


def _is_inside(folder: Path, p: Path) -> bool:
    try:
        p.resolve().relative_to(folder.resolve())
        return p.is_file()
    except (OSError, ValueError):
        return False

