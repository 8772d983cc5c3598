"""The robustness curve's work and its resumable state: which images stay correct at each budget.

Each finished budget is one file, ``eps/eps_<eps>.json``, holding per image whether it is still classified
correctly (under attack, and saved as 8 bits) and the settings that produced it, so a resumed run reuses exactly
the budgets that the same settings finished and refuses a folder made with other settings.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from .. import jobs
from ..backbones import Backbone
from ..errors import ConfigError
from ..fileio import write_json
from .base import fooled
from .projection import norms
from .quantize import to_8bit
from .runner import adversarial
from .settings import RobustnessSettings, eps_unit

NOT_IN_KEY = ("eps", "resume", "device")  # settings that do not change a budget's result
MINIMAL_FILE = "minimal.json"


class CurveState:
    """The per-budget result files of one run folder."""

    def __init__(self, run_dir: Path, settings: RobustnessSettings, names: Sequence[str]) -> None:
        self.dir = run_dir / "eps"
        self.settings = settings
        self.key = {**{k: v for k, v in settings.to_dict().items() if k not in NOT_IN_KEY}, "images": list(names)}
        self.key = json.loads(json.dumps(self.key))  # as it reads back (tuples -> lists)

    def path(self, eps: float) -> Path:
        return self.dir / f"eps_{eps:g}.json"

    def load(self, path: Path) -> dict[str, Any] | None:
        """A finished result made with these settings, None when absent; another run's settings are refused."""
        if not path.is_file():
            return None
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ConfigError(f"{path}: unreadable ({e}); remove it to measure that budget again") from None
        if payload.get("key") != self.key:
            raise ConfigError(f"{path}: made with other settings or images; resume with the same settings, or use "
                              "another folder")
        return payload

    def done(self, eps: float) -> dict[str, Any] | None:
        return self.load(self.path(eps))

    def save(self, path: Path, **payload: Any) -> None:
        path.parent.mkdir(exist_ok=True)
        write_json(path, {**payload, "key": self.key})

    def save_eps(self, eps: float, correct: Sequence[bool], correct_8bit: Sequence[bool]) -> None:
        self.save(self.path(eps), eps=eps, correct=list(correct), correct_8bit=list(correct_8bit))

    def curve(self) -> list[dict[str, Any]]:
        """One row per finished budget, in the settings' order."""
        rows = []
        for e in self.settings.eps:
            r = self.done(e)
            if r is None:
                continue
            n = len(r["correct"])
            rows.append({"eps": e, "eps_01": round(eps_unit(e, self.settings.curve_norm), 8),
                         "accuracy": sum(r["correct"]) / n, "accuracy_8bit": sum(r["correct_8bit"]) / n,
                         "correct": sum(r["correct"]), "images": n})
        return rows


def clean_correct(bb: Backbone, x0: torch.Tensor, labels: torch.Tensor, batch: int) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([bb.logits(x0[i:i + batch]).argmax(dim=1) for i in range(0, len(x0), batch)]) == labels


def robust_flags(bb: Backbone, x0: torch.Tensor, labels: torch.Tensor, s: RobustnessSettings, state: CurveState,
                 report: jobs.Progress, stop: jobs.StopCheck) -> bool:
    """fgsm/pgd once per budget on the clean-correct images; True when stopped (unfinished budgets unsaved)."""
    ok = clean_correct(bb, x0, labels, s.batch_size)
    idx = ok.nonzero()[:, 0]
    n, total, done = len(x0), len(x0) * len(s.eps), 0
    for e in s.eps:
        if state.done(e) is not None:
            done += n
            report(done, total, eps=e)
            continue
        eps01 = eps_unit(e, s.norm)
        correct, correct8 = ok.clone(), ok.clone()
        done += n - len(idx)  # wrong when clean: wrong at every budget, nothing to attack
        for b, chunk in enumerate(idx.split(s.batch_size) if e > 0 else ()):
            if stop():
                return True
            xb, yb = x0[chunk], labels[chunk]
            adv = adversarial(bb, xb, yb, s, eps=eps01, early_stop=s.early_stop, seed=s.seed + b)
            with torch.no_grad():
                correct[chunk] = ~fooled(bb.logits(adv), yb, False)
            correct8[chunk] = ~to_8bit(bb.logits, adv, xb, yb, targeted=False, eps=eps01, norm=s.norm)[1]
            done += len(chunk)
            report(done, total, eps=e, accuracy=float(correct.float().mean()))
        if e == 0:
            done += len(idx)
            report(done, total, eps=e, accuracy=float(correct.float().mean()))
        state.save_eps(e, correct.tolist(), correct8.tolist())
    return False


def minimal_norms(bb: Backbone, x0: torch.Tensor, labels: torch.Tensor, s: RobustnessSettings, state: CurveState,
                  report: jobs.Progress, stop: jobs.StopCheck) -> bool:
    """cw/deepfool once: each image's smallest L2 change found (None: none found; 0: wrong when clean); then an
    image is robust at eps when its change is larger. True when stopped."""
    found = state.load(state.dir / MINIMAL_FILE)
    if found is None:
        ok = clean_correct(bb, x0, labels, s.batch_size)
        l2 = [0.0] * len(x0)
        l2_8bit = [0.0] * len(x0)
        idx = ok.nonzero()[:, 0]
        done = len(x0) - len(idx)
        for chunk in idx.split(s.batch_size):
            if stop():
                return True
            xb, yb = x0[chunk], labels[chunk]
            adv = adversarial(bb, xb, yb, s, eps=math.inf)
            with torch.no_grad():
                hit = fooled(bb.logits(adv), yb, False)
            q, hit8 = to_8bit(bb.logits, adv, xb, yb, targeted=False)
            for j, i in enumerate(chunk.tolist()):
                l2[i] = float(norms(adv[j:j + 1] - xb[j:j + 1], "l2")) if hit[j] else None
                l2_8bit[i] = float(norms(q[j:j + 1] - xb[j:j + 1], "l2")) if hit8[j] else None
            done += len(chunk)
            report(done, len(x0))
        state.save(state.dir / MINIMAL_FILE, l2=l2, l2_8bit=l2_8bit)
        found = {"l2": l2, "l2_8bit": l2_8bit}
    for e in s.eps:
        if state.done(e) is None:
            # device: cpu-ok (flags for a results file)
            state.save_eps(e, *([v is None or v > e for v in found[k]] for k in ("l2", "l2_8bit")))
    return False
