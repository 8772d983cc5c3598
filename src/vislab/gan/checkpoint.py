"""GAN checkpoints: find and read them, check a resume against them, rebuild their generator.

A checkpoint (``checkpoint.pt`` in a run folder, kind ``"gan"``) holds the run's settings, both networks, both
optimizers, the weight average, the noise generator's state, the global RNG states and the step.
"""

from __future__ import annotations

import contextlib
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import runs
from ..errors import CheckpointError
from ..jobs import SettingError
from .models import build_pair
from .settings import GanTrainSettings, TrainConfig

CHECKPOINT = "checkpoint.pt"
KIND = "gan"


def resolve_checkpoint(path: str | Path) -> Path:
    """A run folder means its checkpoint.pt."""
    p = Path(path)
    return p / CHECKPOINT if p.is_dir() else p


def read_checkpoint(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """(the file, its state) for a checkpoint file or run folder; refuses FIFOs, devices and other kinds."""
    p = resolve_checkpoint(path)
    try:
        mode = p.stat().st_mode
    except OSError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        raise CheckpointError(f"{p}: not a checkpoint file (a FIFO, device or other special file)")
    return p, runs.load_checkpoint(p, kind=KIND)


@contextlib.contextmanager
def reading(setting: str) -> Iterator[None]:
    """Name the setting that pointed at a checkpoint which cannot be used (``checkpoint X: no such ...``)."""
    try:
        yield
    except CheckpointError as e:
        raise SettingError(setting, str(e)) from e


def saved_settings(state: dict[str, Any], path: Path) -> TrainConfig:
    """The training settings a checkpoint was made with (defaults for what older checkpoints lack), checked."""
    saved = state.get("config")
    if not isinstance(saved, dict):
        raise CheckpointError(f"{path}: GAN checkpoint without its settings")
    names = set(GanTrainSettings.DEFAULTS)
    try:
        settings = TrainConfig(**{k: v for k, v in saved.items() if k in names})
        settings.validate()
    except SettingError as e:
        raise CheckpointError(f"{path}: GAN checkpoint with a bad setting ({e})") from e
    return settings


def check_resumable(given: GanTrainSettings, saved: TrainConfig, path: Path) -> None:
    """Settings the weights, data order or noise depend on cannot change when a run continues."""
    for name in GanTrainSettings.FIXED_ON_RESUME:
        value, before = getattr(given, name), getattr(saved, name)
        if value is not None and value != before:
            raise SettingError(name, f"{before} was used to train {path}, not {value}: leave it out to "
                                     "continue that run")


@dataclass
class LoadedGenerator:
    """A checkpoint's generator (eval mode), the settings it was trained with and the checkpoint's state."""

    generator: nn.Module
    settings: TrainConfig
    state: dict[str, Any]
    path: Path

    @property
    def sampled_from(self) -> str:
        """"ema" (the weight average) or "raw"."""
        return self.state["sampled_from"]

    @property
    def dataset(self) -> str:
        return str(self.state.get("dataset", "mnist"))

    @property
    def step(self) -> int:
        return int(self.state.get("step", 0))

    def facts(self) -> dict[str, Any]:
        """What a sampling or scoring run records about the checkpoint it used (config.json)."""
        s = self.settings
        return {"checkpoint_file": str(self.path), "step": self.step, "arch": s.arch, "loss": s.loss,
                "noise_dim": s.noise_dim, "dataset": self.dataset, "generator": self.sampled_from}


def open_generator(checkpoint: str | Path | None, device: torch.device | str = "cpu", *,
                   raw: bool = False) -> LoadedGenerator:
    """The generator of a `vislab gan train` checkpoint: the weight average when the run kept one, unless
    `raw`. None or "shipped": the DCGAN MNIST generator that ships with vislab (`shipped`)."""
    from .shipped import is_shipped, open_shipped  # it builds on this module

    if is_shipped(checkpoint):
        return open_shipped(device, raw=raw)
    path, state = read_checkpoint(checkpoint)
    settings = saved_settings(state, path)
    G, _ = build_pair(settings.arch, settings.noise_dim, spectral_norm=settings.spectral_norm)
    key = "generator_ema" if not raw and state.get("generator_ema") is not None else "generator"
    load_weights(G, state, key, path, settings)
    state["sampled_from"] = "ema" if key == "generator_ema" else "raw"
    G.to(device).eval()
    return LoadedGenerator(G, settings, state, path)


def load_generator(checkpoint: str | Path, device: torch.device | str = "cpu", *,
                   raw: bool = False) -> tuple[nn.Module, TrainConfig, dict]:
    """(generator, settings, state) of a checkpoint; `state["sampled_from"]` says "ema" or "raw"."""
    g = open_generator(checkpoint, device, raw=raw)
    return g.generator, g.settings, g.state


def load_weights(module: nn.Module, state: dict, key: str, path: str | Path, settings: GanTrainSettings) -> None:
    """Load ``state[key]`` into `module`, or say which settings the weights do not fit."""
    try:
        module.load_state_dict(state[key])
    except (KeyError, RuntimeError, TypeError, AttributeError) as e:
        first = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path}: the {key} weights do not fit the settings arch {settings.arch}, "
                              f"noise_dim {settings.noise_dim} ({first})") from e
