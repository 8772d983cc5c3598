"""The `gan eval` job: MNIST score, Fréchet distance and class histogram of a checkpoint's generator.

    result = run(GanEvalSettings(checkpoint="runs/gan-1", n=10000), "runs/eval-1")
    result.scores["mnist_score"], result.files["scores"]

The scorer (`evaluate.load_scorer`) is read, or trained once and cached, before the run folder is made. The
run folder gets eval.json (the scores), config.json, metrics.jsonl and status.json; a stopped run scores the
samples drawn so far (at least 2).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import jobs, runs
from ..devices import resolve_device
from ..fileio import write_json
from ..jobs import JobResult, Progress, StopCheck
from .checkpoint import open_generator, reading
from .evaluate import generate, load_scorer, score_images
from .memory import eval_bytes, refuse_if_too_big
from .settings import MIN_SCORED, GanEvalSettings

KIND = "gan-eval"


@dataclass
class GanEvalResult(JobResult):
    """`scores`: what eval.json holds (empty when stopped before `MIN_SCORED` samples)."""

    scores: dict[str, Any] = field(default_factory=dict)


def run(settings: GanEvalSettings, out: str | Path | None = None, *, progress: Progress | None = None,
        should_stop: StopCheck | None = None, command: str | None = None,
        overwrite: bool = False) -> GanEvalResult:
    """Score `settings.n` samples of the checkpoint's generator."""
    started = time.perf_counter()
    settings.validate()
    device = resolve_device(settings.device)
    with reading("checkpoint"):
        g = open_generator(settings.checkpoint, device, raw=settings.raw)
    refuse_if_too_big("n", settings.n, eval_bytes(settings.n), f"scoring {settings.n} samples", device)
    scorer = load_scorer(g.dataset, data=settings.data, device=device, progress=progress,
                         log=lambda m: print(m, file=sys.stderr))
    run_dir = jobs.start_run(KIND, settings, out, command=command, overwrite=overwrite, extra=g.facts(),
                             checked=True)  # validated first, before the checkpoint was read
    x = generate(g.generator, g.settings.noise_dim, settings.n, seed=settings.seed, device=device,
                 progress=progress, should_stop=should_stop)
    result = GanEvalResult(run_dir, status="ok" if len(x) == settings.n else "cancelled")
    if len(x) >= MIN_SCORED:
        scores = score_images(scorer, x)
        scores.update(dataset=g.dataset, step=g.step, generator=g.sampled_from,
                      real_test_score=round(scorer.test_score, 4),
                      classifier_test_accuracy=round(scorer.test_accuracy, 4))
        write_json(run_dir / "eval.json", scores)
        result.scores, result.files["scores"] = scores, run_dir / "eval.json"
        result.numbers = {k: v for k, v in scores.items() if isinstance(v, (int, float)) and k != "step"}
    runs.MetricsLog(run_dir).log(g.step, samples=len(x), **result.numbers)
    return jobs.finish_run(result, started, "" if not result.cancelled else
                           f"stopped after {len(x)} of {settings.n} samples")
