"""The subcommands built from the capability records: one flag per setting, typed, with the default, choices and
help of the settings field, plus the shared --out, --overwrite and --threads.

A capability needs no CLI code. An optional module ``cli/<name>.py`` (``cli/gan_sample.py`` for "gan sample",
``cli/saliency_eval.py`` for "saliency-eval")
adds what really differs, by defining any of:

    TYPES = {"scales": scales_arg}  # setting -> argparse type, where the flag's words differ (units: flag_scale)
    OUT_HELP = "..."                # --out's help, where the command writes no folder by default
    def add_flags(parser): ...      # flags that are not settings (--json)
    def show(result, settings, args) -> int | None: ...   # what the command prints (default: the files written)

A module that defines ``register(subparsers)`` instead builds its command by hand (caption, gan).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from types import ModuleType
from typing import Any

from ..registry import Capability, base_type, field_default, field_types, required
from .common import add_out, add_threads, run_job


def add_command(sub: argparse._SubParsersAction, cap: Capability, extras: ModuleType | None = None) -> None:
    """Add `cap`'s subcommand (nested under its first word for "gan sample") to `sub`."""
    *parents, word = cap.name.split()
    for parent in parents:
        sub = _subcommands(sub, parent)
    cls = cap.settings_class()
    p = sub.add_parser(word, help=cap.summary, description=cap.description or cap.summary)
    hints, types = field_types(cls), getattr(extras, "TYPES", {})
    by_name = {f.name: f for f in dataclasses.fields(cls)}
    for name in cap.positional:
        _add_positional(p, by_name[name], hints[name], types.get(name))
    for f in by_name.values():
        if f.name not in cap.positional and f.metadata.get("cli", True):
            _add_flag(p, f, hints[f.name], types.get(f.name))
    if hasattr(extras, "add_flags"):
        extras.add_flags(p)
    add_out(p, cap.kind, getattr(extras, "OUT_HELP", None))
    add_threads(p)
    p.set_defaults(func=lambda args: run_command(cap, extras, args))


def _subcommands(sub: argparse._SubParsersAction, word: str) -> argparse._SubParsersAction:
    """The sub-subcommands of `word` (made on first use: "gan" for "gan sample")."""
    parser = sub.choices.get(word)
    if parser is None:
        parser = sub.add_parser(word, help=f"{word}: see `vislab {word} --help`")
        parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])
    nested = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    return nested or parser.add_subparsers(dest=f"{word}_command", metavar="ACTION", parser_class=type(parser))


def _add_positional(p: argparse.ArgumentParser, f: dataclasses.Field, hint: Any, conv: Any) -> None:
    scalar, is_list = base_type(hint)
    default = field_default(f)
    if is_list:
        nargs = "*" if default else "+"
    else:
        nargs = "?" if default not in (None, "") or f.metadata.get("optional") else None
    kwargs = {"default": default} if nargs in ("*", "?") else {}
    p.add_argument(f.name, nargs=nargs, type=conv or _scalar_type(f, scalar),
                   metavar=f.metadata.get("metavar", f.name.upper()), help=_help(f, default), **kwargs)


def _add_flag(p: argparse.ArgumentParser, f: dataclasses.Field, hint: Any, conv: Any) -> None:
    meta = f.metadata
    names = [n for n in (meta.get("short"), flag_name(f)) if n]
    default = field_default(f)
    kwargs: dict[str, Any] = {"dest": f.name, "default": default, "help": _help(f, default)}
    scalar, is_list = base_type(hint)
    if scalar is bool and not conv:
        kwargs["action"] = argparse.BooleanOptionalAction if default is True else "store_true"
        p.add_argument(*names, **kwargs)
        return
    if required(f):
        kwargs["required"] = True
    if "metavar" in meta:
        kwargs["metavar"] = meta["metavar"]
    if "choices" in meta and not is_list:
        kwargs["choices"] = tuple(meta["choices"])
    kwargs["type"] = conv or (_list_type(scalar) if is_list else _scalar_type(f, scalar))
    p.add_argument(*names, **kwargs)


def flag_name(f: dataclasses.Field) -> str:
    """A setting's flag: its metadata's "flag", else ``--`` and the name with dashes."""
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def _help(f: dataclasses.Field, default: Any) -> str:
    text = f.metadata.get("help", "")
    if default not in (None, "", (), []) and "default" not in text and not isinstance(default, bool):
        shown = ",".join(map(_fmt, default)) if isinstance(default, (list, tuple)) else _fmt(default)
        text = f"{text} (default {shown})" if text else f"default {shown}"
    return text.replace("%", "%%")  # argparse formats help with %


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _scalar_type(f: dataclasses.Field, scalar: Any) -> Any:
    aliases, scale = f.metadata.get("aliases"), f.metadata.get("flag_scale")
    if aliases:
        return lambda s: aliases.get(s, s)
    if scale:  # the flag counts in other units (--linf in 0-255 levels): the one place that converts
        return lambda s: float(s) / scale
    return scalar if scalar in (int, float) else str


def _list_type(scalar: Any) -> Any:
    """Comma-separated values: ``1,0.5`` -> (1.0, 0.5); ``conv1,conv2`` -> ("conv1", "conv2")."""
    def parse(s: str) -> tuple:
        words = [w.strip() for w in s.split(",") if w.strip()]
        what = "numbers" if scalar in (int, float) else "names"
        if not words:
            raise argparse.ArgumentTypeError(f"expected comma-separated {what}")
        try:
            return tuple(scalar(w) if scalar in (int, float) else w for w in words)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {what}, got {s!r}") from None

    return parse


# -- running a generated command -----------------------------------------------------------------------------------

def settings_of(cap: Capability, args: argparse.Namespace) -> Any:
    """`cap`'s settings filled from the parsed flags (lists from nargs become tuples where the field is one)."""
    cls = cap.settings_class()
    hints = field_types(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if not hasattr(args, f.name):
            continue
        v = getattr(args, f.name)
        if isinstance(v, list) and "tuple" in str(hints[f.name]):
            v = tuple(v)
        values[f.name] = v
    return cls(**values)


def run_command(cap: Capability, extras: ModuleType | None, args: argparse.Namespace) -> int:
    settings = settings_of(cap, args)
    result = run_job(cap.runner(), settings, args, cap.name, words=lambda message: flag_words(cap, message))
    show = getattr(extras, "show", None) or _show_files
    return int(show(result, settings, args) or 0)


def flag_words(cap: Capability, message: str) -> str:
    """A library message worded for the terminal: its settings named as the command's flags (``content_weight and
    style_weight are both 0`` -> ``--content-weight and --style-weight ...``), positional ones by their metavar."""
    names = {}
    for f in cap.fields():
        names[f.name] = f.metadata.get("metavar", f.name.upper()) if f.name in cap.positional else flag_name(f)
    first, _, rest = message.partition(" ")
    first = names.get(first, first)
    words = [n for n in names if "_" in n]  # plain words may be English too: only the first is taken for a name
    if words:
        rest = re.sub(r"(?<![\w-])(" + "|".join(map(re.escape, words)) + r")\b", lambda m: names[m.group(1)], rest)
    return f"{first} {rest}"


def _show_files(result: Any, settings: Any, args: argparse.Namespace) -> int:
    for role, path in getattr(result, "files", {}).items():
        print(f"{role}: {path}")
    return 0
