"""``vislab tour``: every capability once, on data that ships with the install, then one report page.

    from vislab.tour import run_tour
    result = run_tour("runs/tour-quick", level="quick")    # result.report: runs/tour-quick/index.html

The steps are the capability records that have a tour step (`vislab.registry`, `TourStep`), in registry order:
a record's settings for the level run through its job, or its hand-written step (`see`, `learn`). Each step
writes its own run folder (``<out>/01-classify``, ...) and leaves a ``status.json`` there (ok / failed /
interrupted, the message, wall and CPU seconds). A step that fails is recorded and the next one runs; the page
shows what happened either way. The lock files of the folders it made are removed when the tour ends.
"""

from __future__ import annotations

import shutil
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import runs
from ..devices import resolve_device, seed_everything
from ..errors import ConfigError, VislabError
from ..fileio import LOCK_NAME, write_json, write_text
from .steps import StepFn, TourSettings, record_step


def steps() -> list[tuple[str, StepFn]]:
    """The tour, in order: (name, step) for every capability record with a tour step. Names are the commands'
    ("caption" for caption train)."""
    from ..registry import capabilities

    return [(c.tour.name or c.kind, record_step(c)) for c in capabilities() if c.tour is not None]

LEVELS = ("full", "quick", "smoke")
"""How much work each step does: "full" (the README figures), "quick" (``--quick``, ``make demo``), "smoke"
(seconds per step; for tests)."""

__all__ = ["run_tour", "redo_steps", "steps", "TourResult", "StepResult", "LEVELS", "TourSettings"]


@dataclass
class StepResult:
    name: str
    status: str  # "ok" | "failed" | "interrupted"
    seconds: float
    message: str = ""
    run_dir: Path | None = None
    cpu_seconds: float = 0.0  # CPU time of all threads: a view of the work done that other load does not skew


@dataclass
class TourResult:
    out: Path
    steps: list[StepResult] = field(default_factory=list)
    report: Path | None = None
    seconds: float = 0.0  # the whole tour, report included

    @property
    def failed(self) -> list[StepResult]:
        return [s for s in self.steps if s.status in ("failed", "interrupted")]


def run_tour(out: str | Path | None, *, level: str = "quick", seed: int = 0, device: str = "auto",
             only: Sequence[str] | None = None, say: Callable[[str], None] | None = None,
             overwrite: bool = False) -> TourResult:
    """Run the tour's steps (all, or those named in `only`, in tour order) into `out` (default
    ``runs/tour-<time>``), then write the report ``<out>/index.html``.

    A folder holding an earlier tour is refused unless `overwrite`. `say` gets one progress line per step
    (default: stderr). A KeyboardInterrupt stops the tour after recording the interrupted step and writing the
    report for what ran, then propagates.
    """
    if level not in LEVELS:
        raise ConfigError(f"unknown tour level {level!r}: choose {', '.join(LEVELS)}")
    tour = steps()
    _check_names(tour, only or (), "--steps: ")
    chosen = [(i, name, fn) for i, (name, fn) in enumerate(tour, 1) if not only or name in only]
    say = say or _to_stderr
    dev = str(resolve_device(device))

    out_dir = runs.make_run_dir(out, "tour", overwrite=overwrite)
    runs.write_config(out_dir, {"level": level, "seed": seed, "device": dev,
                                "steps": [n for _, n, _ in chosen]})
    log = runs.MetricsLog(out_dir)
    result = TourResult(out_dir)
    settings = TourSettings(level=level, seed=seed, device=dev)
    t0 = time.perf_counter()
    try:
        for k, (i, name, fn) in enumerate(chosen, 1):
            say(f"tour [{k}/{len(chosen)}] {name} ...")
            step = _run_step(out_dir / f"{i:02d}-{name}", name, fn, settings)
            result.steps.append(step)
            log.log(i, **{f"seconds_{name}": round(step.seconds, 2)})
            say(f"tour [{k}/{len(chosen)}] {name}: {step.status} ({step.seconds:.1f} s){_note(step)}")
            if step.status == "interrupted":
                raise KeyboardInterrupt
    finally:
        _finish(result, len(chosen), time.perf_counter() - t0)
        result.seconds = time.perf_counter() - t0
        _unlock([out_dir, *(step.run_dir for step in result.steps if step.run_dir)])
    return result


def redo_steps(out: str | Path, names: Sequence[str], *, device: str = "auto",
               say: Callable[[str], None] | None = None) -> list[StepResult]:
    """Run the steps `names` again in the finished tour folder `out`, at the tour's recorded level and seed
    (each step's folder is replaced; the others are kept), then rewrite its report page. For comparing one
    step's new settings without rerunning a long tour (the full GAN step takes many minutes on a CPU)."""
    out = Path(out)
    try:
        config = runs.read_config(out)
    except VislabError:
        config = {}
    if not isinstance(config, dict) or config.get("level") not in LEVELS:
        raise ConfigError(f"{out}: not a finished tour folder (its config.json records no tour level)")
    tour = steps()
    _check_names(tour, names)
    say = say or _to_stderr
    settings = TourSettings(level=config["level"], seed=int(config.get("seed", 0)),
                            device=str(resolve_device(device)))
    done = []
    for i, (name, fn) in enumerate(tour, 1):
        if name in names:
            run_dir = out / f"{i:02d}-{name}"
            shutil.rmtree(run_dir, ignore_errors=True)
            done.append(_run_step(run_dir, name, fn, settings))
            say(f"tour: {name} again: {done[-1].status} ({done[-1].seconds:.1f} s){_note(done[-1])}")
    _write_page(out)
    _unlock([d.run_dir for d in done if d.run_dir])
    return done


def _unlock(folders: list[Path]) -> None:
    """Release the folders' locks and remove their lock files: the tour is over, nothing writes there now (each
    job locked its own folder; the lock files would only be clutter in the folder a user opens)."""
    for folder in folders:
        for d in [folder, *(p.parent for p in folder.glob(f"*/{LOCK_NAME}"))]:
            runs.release_run_dir(d)
            (d / LOCK_NAME).unlink(missing_ok=True)


def _check_names(tour: list[tuple[str, StepFn]], names: Sequence[str], prefix: str = "") -> None:
    known = [name for name, _ in tour]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"{prefix}unknown step(s) {', '.join(unknown)}; the steps are {', '.join(known)}")


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _write_page(out: Path) -> Path:
    """The report page over the tour folder, ``<out>/index.html``."""
    from ..report import build_report

    return build_report([out], out / "index.html", title="vislab tour")


def _run_step(run_dir: Path, name: str, fn: StepFn, settings: TourSettings) -> StepResult:
    run_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(settings.seed)  # every step starts from the same seed, whichever steps ran before it
    t0, cpu0 = time.perf_counter(), time.process_time()
    status, message, headline = "ok", "", None
    try:
        headline = fn(run_dir, settings)
    except KeyboardInterrupt:
        status, message = "interrupted", "interrupted by the user"
    except Exception as e:  # noqa: BLE001 - one broken step must not stop the tour; the traceback is kept
        status, message = "failed", f"{type(e).__name__}: {e}"
        write_text(run_dir / "error.txt", traceback.format_exc())
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    message = message or _job_message(run_dir)  # e.g. the GAN job's "trained on ... digits, not MNIST"
    write_json(run_dir / "status.json", {"step": name, "status": status, "message": message,
                                         "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
                                         "headline": headline})
    return StepResult(name, status, seconds, message, run_dir, cpu)


def _job_message(run_dir: Path) -> str:
    """The message the step's own job left in its status.json (which the tour's status.json replaces)."""
    import json

    try:
        old = json.loads((run_dir / "status.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return ""
    message = old.get("message") if isinstance(old, dict) else None
    return message if isinstance(message, str) else ""


def _note(step: StepResult) -> str:
    """": <the first line of the step's message>" for the tour's output, when it has one."""
    return next((f": {line.strip()}" for line in step.message.splitlines() if line.strip()), "")


def _finish(result: TourResult, planned: int, seconds: float) -> None:
    """The tour's own status.json, then the report page over the tour folder."""
    states = [s.status for s in result.steps]
    summary = ", ".join(f"{states.count(k)} {k}" for k in dict.fromkeys(states))
    message = (f"{planned} steps: {summary}" if len(states) == planned
               else f"stopped after {len(states)} of {planned} steps: {summary}")
    cpu = sum(s.cpu_seconds for s in result.steps)
    write_json(result.out / "status.json", {"status": "failed" if result.failed else "ok", "message": message,
                                            "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2)})
    result.report = _write_page(result.out)
