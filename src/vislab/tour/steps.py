"""What a tour step is and the helpers steps share (the steps themselves: `see`, `learn`).

A step is ``fn(run_dir, settings) -> headline picture``: it calls one capability's public library API and
fills its own run folder with ``config.json`` (holding the equivalent ``vislab ...`` command, so a reader can
rerun it), ``metrics.jsonl`` and pictures. Work sizes come from `Settings.level`: "full" for the README
figures, "quick" for ``make demo``, "smoke" for the tests.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .. import runs
from ..fileio import write_json

T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    level: str = "quick"
    seed: int = 0
    device: str = "cpu"

    def pick(self, *, full: T, quick: T, smoke: T) -> T:
        """The value for this tour's level."""
        return {"full": full, "quick": quick, "smoke": smoke}[self.level]


@functools.lru_cache(maxsize=2)
def backbone(device: str):
    """The default ImageNet backbone, loaded once for all the steps that use it (frozen, so safe to share)."""
    from ..backbones import load

    return load("efficientnet_lite0", device=device)


def start(run_dir: Path, config: dict[str, Any], command: str) -> runs.MetricsLog:
    """Write the step's config.json (with its equivalent command line) and open its metrics log."""
    runs.write_config(run_dir, config, command=command)
    return runs.MetricsLog(run_dir)


def set_command(run_dir: Path, command: str) -> None:
    """Put the equivalent ``vislab ...`` command into a config.json that a library call wrote (that call saw
    the tour's own command line)."""
    path = run_dir / "config.json"
    payload = json.loads(path.read_text(encoding="utf-8"))
    payload["command"] = command
    write_json(path, payload)
