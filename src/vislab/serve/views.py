"""What the page shows of a finished job: its pictures (as URLs under ``/runs``), a table, texts and numbers.

Built from the job's result and the files in its run folder, so a run from the history (or from the CLI) shows
the same way as one just finished.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .paths import read_json
from .uploads import UPLOADS

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MAX_IMAGES = 24


def file_url(root: Path, path: Path) -> str:
    rel = path.resolve().relative_to(root.resolve()).as_posix()
    return "/runs/" + quote(rel)


def result_view(root: Path, run_dir: Path, kind: str, result: Any = None) -> dict[str, Any]:
    """``{"images": [{"label", "url"}], "table": [...], "texts": [...], "numbers": {...}}`` for one run."""
    status = read_json(run_dir / "status.json") or {}
    files = {k: run_dir / v for k, v in (status.get("files") or {}).items() if isinstance(v, str)}
    images: dict[str, dict[str, str]] = {}  # url -> picture: two roles may name one file ("image", "result")
    for role, p in files.items():
        if p.suffix.lower() in IMAGE_SUFFIXES and _is_inside(run_dir, p):
            images.setdefault(file_url(root, p), {"label": role, "url": file_url(root, p)})
    view: dict[str, Any] = {"images": list(images.values())[:MAX_IMAGES],
                            "numbers": _plain(status.get("numbers") or {}),
                            "status": status.get("status"), "message": status.get("message", "")}
    extra = _EXTRA.get(kind)
    if extra is not None:
        extra(run_dir, view, result)
    return view


def _classify(run_dir: Path, view: dict, result: Any) -> None:
    rows = read_json(run_dir / "predictions.json") or []
    view["table"] = [{"image": Path(r.get("image", "")).name, **t} for r in rows for t in r.get("top", [])]


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


def _fool(run_dir: Path, view: dict, result: Any) -> None:
    s = read_json(run_dir / "result.json") or {}
    original = input_url(run_dir.parent, ((read_json(run_dir / "config.json") or {}).get("config") or {}).get("image"))
    if original:
        view["images"].insert(0, {"label": "original", "url": original})
    view["texts"] = [f"before: {s.get('before_name')} ({_pct(s.get('before_prob'))})",
                     f"after: {s.get('after_name')} ({_pct(s.get('after_prob'))})",
                     f"target: {s.get('target_name')}, p {_pct(s.get('target_prob_before'))} -> "
                     f"{_pct(s.get('target_prob_after'))}; success: {bool(s.get('success'))}"]


def _caption(run_dir: Path, view: dict, result: Any) -> None:
    rows = read_json(run_dir / "captions.json") or []
    view["texts"] = [str(r.get("caption", "")) for r in rows if isinstance(r, dict)]


def _gan_eval(run_dir: Path, view: dict, result: Any) -> None:
    scores = read_json(run_dir / "eval.json") or {}
    view["table"] = [{"score": k, "value": v} for k, v in scores.items() if isinstance(v, (int, float, str))]


def _gan_sample(run_dir: Path, view: dict, result: Any) -> None:
    """The score of the same checkpoint, when a `gan eval` run of it is in the runs folder (the newest)."""
    checkpoint = ((read_json(run_dir / "config.json") or {}).get("config") or {}).get("checkpoint")
    evals = [p for p in run_dir.parent.glob("gan-eval-*/eval.json")
             if ((read_json(p.parent / "config.json") or {}).get("config") or {}).get("checkpoint") == checkpoint]
    if checkpoint and evals:
        newest = max(evals, key=lambda p: p.stat().st_mtime)
        scores = read_json(newest) or {}
        view["texts"] = [f"{k}: {scores[k]}" for k in ("mnist_score", "frechet_distance", "n") if k in scores]
        view["texts"].append(f"(from {newest.parent.name})")


def _saliency(run_dir: Path, view: dict, result: Any) -> None:
    rows = getattr(result, "rows", None) or []
    view["texts"] = [f"{Path(r.get('image', '')).name}: target {r.get('target_name')} ({_pct(r.get('target_prob'))}),"
                     f" predicted {r.get('predicted_name')} ({_pct(r.get('predicted_prob'))})" for r in rows]


_EXTRA = {"classify": _classify, "fool": _fool, "caption": _caption, "gan-eval": _gan_eval, "saliency": _saliency,
          "gan-sample": _gan_sample}


def _pct(v: Any) -> str:
    return f"{v:.1%}" if isinstance(v, (int, float)) else "?"


def _plain(numbers: dict) -> dict:
    return {k: v for k, v in numbers.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}


def _is_inside(folder: Path, p: Path) -> bool:
    try:
        p.resolve().relative_to(folder.resolve())
        return p.is_file()
    except (OSError, ValueError):
        return False

