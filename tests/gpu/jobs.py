"""Run one registered job on a device and compare two runs of it (the GPU's against the CPU's).

A job is run through the registry (`vislab.registry.get(name)`: its settings dataclass and ``run``), exactly as the
CLI, the tour and the web page run it; only ``device`` differs between the two runs. Compared: every finite number
of the results (`JobResult.numbers`, relative tolerance) and every picture both wrote (PNG, mean absolute
difference of [0, 1] pixels).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vislab.images import load_image
from vislab.jobs import JobResult
from vislab.registry import get

TIMING = ("seconds", "time", "wall", "per_s")
"""Numbers never compared: durations."""


@dataclass(frozen=True)
class Job:
    capability: str  # a registry name: "saliency", "gan sample", ...
    settings: dict[str, Any]
    rtol: float = 1e-3  # numbers: |gpu - cpu| <= rtol * max(|cpu|, floor) + atol
    atol: float = 1e-4
    pixels: float = 0.01  # pictures: mean |gpu - cpu| over pixels and channels, [0, 1] scale
    skip: tuple[str, ...] = ()  # numbers not compared (counts that may differ by a step, timings)
    why: str = ""  # why the tolerance is what it is
    extra: dict[str, Any] = field(default_factory=dict)


def run_job(job: Job, device: str, out: Path) -> tuple[JobResult, float]:
    """(the result, wall seconds) of `job` on `device`, writing into `out`."""
    cap = get(job.capability)
    settings = cap.settings_class()(**{**job.settings, "device": device})
    t0 = time.perf_counter()
    result = cap.runner()(settings, out)
    return result, time.perf_counter() - t0


def compare(job: Job, cpu: JobResult, gpu: JobResult) -> list[str]:
    """What differs beyond the job's tolerances (empty: the runs agree)."""
    problems = [f"status {gpu.status} (cpu {cpu.status})"] if gpu.status != cpu.status else []
    for k, a in cpu.numbers.items():
        if k in job.skip or any(t in k for t in TIMING) or k not in gpu.numbers:
            continue
        b = gpu.numbers[k]
        if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or isinstance(a, bool):
            continue
        if not (math.isfinite(a) and math.isfinite(b)):
            if math.isfinite(a) != math.isfinite(b):
                problems.append(f"{k}: cpu {a}, gpu {b}")
            continue
        if abs(a - b) > job.rtol * abs(a) + job.atol:
            problems.append(f"{k}: cpu {a:.6g}, gpu {b:.6g} (rtol {job.rtol:g})")
    for role, path in cpu.files.items():
        other = gpu.files.get(role)
        if other is not None and Path(path).suffix.lower() == ".json":
            problems += [f"{role}: {p}" for p in _json_numbers_differ(job, _read_json(path), _read_json(other))]
        if other is None or Path(path).suffix.lower() != ".png":
            continue
        x, y = load_image(path), load_image(other)
        if x.shape != y.shape:
            problems.append(f"{role}: shape {tuple(x.shape)} vs {tuple(y.shape)}")
            continue
        d = float((x - y).abs().mean())
        if d > job.pixels:
            problems.append(f"{role}: mean |pixel difference| {d:.4f} > {job.pixels}")
    return problems


def _read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def _json_numbers_differ(job: Job, a: Any, b: Any, where: str = "") -> list[str]:
    """The numbers of two results files that differ beyond the job's tolerance, by their path in the file
    (strings, such as class names and paths, are not compared: near ties may swap; the run folders differ)."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = [k for k in a if k in b and k not in job.skip and not any(t in k for t in TIMING)]
        return [p for k in keys for p in _json_numbers_differ(job, a[k], b[k], f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items vs {len(b)}"]
        return [p for i, (x, y) in enumerate(zip(a, b)) for p in _json_numbers_differ(job, x, y, f"{where}[{i}]")]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if math.isfinite(a) and math.isfinite(b) and abs(a - b) > job.rtol * abs(a) + job.atol:
            return [f"{where}: cpu {a:.6g}, gpu {b:.6g}"]
    return []
