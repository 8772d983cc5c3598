"""The one contract every capability offers: settings, ``run``, result.

    settings = FoolSettings(image="sample:chelsea", target="tarantula")   # defaults, choices, validation
    result = run(settings, "runs/fool-1", progress=print, should_stop=lambda: False)
    result.status, result.files["image"], result.numbers["target_prob"]

- A settings dataclass per job (subclass `JobSettings`) owns every default and validates itself in
  ``validate()``; a bad value raises `SettingError` naming the setting (``beta1 must be in [0, 1), got 5``). The
  CLI words it with the flag's name (`vislab.cli.build.flag_words`, from the field's metadata).
- ``run(settings, out, *, progress=None, should_stop=None, command=None, overwrite=False) -> JobResult`` makes the
  run folder with `start_run` (refusing one that holds another run), writes config.json (the command is passed
  in, never read from ``sys.argv``), metrics and outputs, and ends with `finish_run` (status.json). It calls
  ``progress(step, total, **numbers)`` as it goes and stops early, cleanly, when ``should_stop()`` is true: the
  result then says ``"cancelled"`` and the folder holds what was done so far, readable by ``vislab report``.
  Jobs that make a picture step by step (style, invert, texture, dream) may also pass ``preview=`` (the current
  (3, H, W) image in [0, 1], on the CPU) every few steps, for pages that show the picture as it forms; callbacks
  that only want numbers ignore values that are not scalars.
- Pixels are [0, 1] floats in and out; budgets in [0, 1] pixel units too.
"""

from __future__ import annotations

import collections.abc
import math
import os
import time
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

from . import runs
from .errors import ConfigError, SettingError  # SettingError: defined beside the other errors
from .fileio import write_json


class Progress(Protocol):
    def __call__(self, step: int, total: int | None, **numbers: Any) -> None: ...  # scalars; maybe preview=


StopCheck = Callable[[], bool]


@dataclass
class JobSettings:
    """Base of every job's settings: `validate` checks every value; `to_dict` is what config.json records."""

    def validate(self) -> None:
        """Raise `SettingError` for the first bad value (subclasses check their own settings)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def setting_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


def settings_from_dict(cls: type[JobSettings], values: dict[str, Any], *, validate: bool = True) -> JobSettings:
    """`cls` built from plain values (a web form, JSON, a registry), each checked against the field's declared
    type, the same way for every job; then `validate`d. Raises `SettingError` naming the setting.

    An int field takes a whole float exactly (3.0 -> 3) and refuses 3.5 and booleans; a float field takes ints;
    a tuple or list field takes a list or tuple (each item checked); a str field takes only strings; ``X | None``
    takes None; unknown names and missing required settings are refused by name."""
    if not isinstance(values, dict):
        raise ConfigError(f"settings must be a mapping of names to values, got {type(values).__name__}")
    hints = typing.get_type_hints(cls)  # the field types as types (annotations are strings here)
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(str(k) for k in values if k not in known)
    if unknown:
        raise SettingError(unknown[0], f"is not a setting of {cls.__name__} (known: {', '.join(known)})")
    for name, f in known.items():
        if name not in values and f.default is MISSING and f.default_factory is MISSING:
            raise SettingError(name, "must be given")
    settings = cls(**{k: _typed(k, hints.get(k, Any), v) for k, v in values.items()})
    if validate:
        settings.validate()
    return settings


def _typed(name: str, tp: Any, value: Any) -> Any:
    """`value` as type `tp` (see `settings_from_dict`), or `SettingError`."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _typed(name, arg, value)
            except SettingError as e:
                errors.append(e.detail)
        raise SettingError(name, errors[0] if len(errors) == 1 else f"must be {_type_name(tp)}, got {value!r}")
    if origin is typing.Literal:
        if value in args:
            return value
        raise SettingError(name, f"must be one of {', '.join(map(repr, args))}; got {value!r}")
    if origin in (list, tuple, collections.abc.Sequence):
        return _typed_sequence(name, origin, args, value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise SettingError(name, f"must be true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value)
        raise SettingError(name, f"must be a whole number, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise SettingError(name, f"must be a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise SettingError(name, f"must be a string, got {value!r}")
    if tp is dict or origin is dict:
        if isinstance(value, dict):
            return value
        raise SettingError(name, f"must be a mapping, got {value!r}")
    if isinstance(tp, type) and issubclass(tp, os.PathLike) and isinstance(value, str):
        return tp(value)
    if isinstance(tp, type) and not isinstance(value, tp):
        raise SettingError(name, f"must be {_type_name(tp)}, got {value!r}")
    return value


def _typed_sequence(name: str, origin: Any, args: tuple, value: Any) -> Any:
    if not isinstance(value, (list, tuple)):
        raise SettingError(name, f"must be a list, got {value!r}")
    if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        if len(value) != len(args):
            raise SettingError(name, f"must be a list of {len(args)} values, got {value!r}")
        return tuple(_typed(name, a, v) for a, v in zip(args, value))
    item = args[0] if args else Any
    items = [_typed(name, item, v) for v in value]
    return tuple(items) if origin is tuple else items


def _type_name(tp: Any) -> str:
    names = {int: "a whole number", float: "a number", str: "a string", bool: "true or false",
             type(None): "null"}
    args = typing.get_args(tp)
    if args and typing.get_origin(tp) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args)
    return names.get(tp, getattr(tp, "__name__", str(tp)))


# -- checks that name the setting ------------------------------------------------------------------------------

def check_number(name: str, value: Any, *, lo: float | None = None, hi: float | None = None,
                 lo_open: bool = False, hi_open: bool = False, integer: bool = False) -> None:
    """`value` is a finite number (an int when `integer`) within [lo, hi] (open ends as asked)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingError(name, f"must be a number, got {value!r}")
    if integer and not (isinstance(value, int) or float(value).is_integer()):
        raise SettingError(name, f"must be a whole number, got {value!r}")
    if not math.isfinite(float(value)):
        raise SettingError(name, f"must be a finite number, got {value!r}")
    if lo is not None and (value <= lo if lo_open else value < lo):
        raise SettingError(name, f"must be {'>' if lo_open else '>='} {_bound(lo)}, got {value!r}")
    if hi is not None and (value >= hi if hi_open else value > hi):
        raise SettingError(name, f"must be {'<' if hi_open else '<='} {_bound(hi)}, got {value!r}")


def _bound(b: float) -> str:
    return f"{b:,}" if isinstance(b, int) else f"{b:g}"


def check_positive(name: str, value: Any, *, integer: bool = False, hi: float | None = None) -> None:
    check_number(name, value, lo=0, lo_open=True, integer=integer, hi=hi)


def check_seed(name: str, value: Any) -> None:
    """Seeds are what numpy and torch both accept: integers in [0, 2**63)."""
    check_number(name, value, lo=0, hi=2**63 - 1, integer=True)


COUNT_MAX = 2**31 - 1
"""The largest count a setting may hold: beyond it numpy's and torch's index types overflow."""


def check_count(name: str, value: Any, *, lo: int = 1, hi: int = COUNT_MAX) -> None:
    """A whole number in [lo, hi], with one message for every way of missing it."""
    try:
        check_number(name, value, lo=lo, hi=hi, integer=True)
    except SettingError:
        what = "a positive whole number" if lo == 1 else "a whole number"
        raise SettingError(name, f"must be {what} from {lo} to {hi}, got {value!r}") from None


def check_text(name: str, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise SettingError(name, f"must be a non-empty string, got {value!r}")


def check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise SettingError(name, f"must be true or false, got {value!r}")


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> None:
    choices = tuple(choices)
    if value not in choices:
        raise SettingError(name, f"must be one of {', '.join(map(str, choices))}; got {value!r}")


# -- the run folder's life ---------------------------------------------------------------------------------------

@dataclass
class JobResult:
    """What every job returns: where its files are and its headline numbers."""

    run_dir: Path
    status: str = "ok"  # "ok" | "cancelled"
    files: dict[str, Path] = field(default_factory=dict)  # role -> path, e.g. {"image": .../fooling.png}
    numbers: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"


def start_run(kind: str, settings: JobSettings, out: str | Path | None, *, command: str | None = None,
              overwrite: bool = False, resume: bool = False, extra: dict[str, Any] | None = None,
              checked: bool = False) -> Path:
    """Validate `settings`, make (and lock) the run folder, write config.json; return the folder. `checked`: the
    job validated them itself before reading its inputs (and planned from them), so they are not checked twice."""
    if not checked:
        settings.validate()
    run_dir = runs.make_run_dir(out, kind, resume=resume, overwrite=overwrite)
    config = {**settings.to_dict(), **(extra or {})}
    runs.write_config(run_dir, config, command=command or f"vislab {kind} (library call)", kind=kind,
                      resume=resume)
    return run_dir


def finish_run(result: JobResult, started: float, message: str = "") -> JobResult:
    """Stamp the duration and write status.json (what ``vislab report`` reads to call a run complete)."""
    result.seconds = time.perf_counter() - started
    write_json(result.run_dir / "status.json", {
        "status": result.status, "message": message, "seconds": round(result.seconds, 3),
        "files": {k: str(Path(v).name if Path(v).parent == result.run_dir else v) for k, v in result.files.items()},
        "numbers": result.numbers})
    return result


def stopper(should_stop: StopCheck | None) -> StopCheck:
    return should_stop if should_stop is not None else (lambda: False)


def reporter(progress: Progress | None) -> Progress:
    return progress if progress is not None else (lambda step, total, **numbers: None)
