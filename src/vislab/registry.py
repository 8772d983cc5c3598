"""The capability registry: one record per capability, which every front end (CLI, web page, tour) reads.

    from vislab.registry import Capability, register
    register(Capability("saliency", "which pixels a class score depends on",
                        settings="vislab.visualize.settings:SaliencySettings",
                        run="vislab.visualize.saliency_job:run", positional=("images",)))

A record names its settings dataclass and its ``run`` by "module:attribute" and imports them only when asked,
so listing the commands stays fast. vislab's own records live in `vislab.records` (loaded on first use); a
test or a plug-in may `register` more. What a field means to a front end is the settings field's metadata
(keys in `FIELD_KEYS`); see REGISTRY_API.md in the notes and DEVELOPERS.md.
"""

from __future__ import annotations

import dataclasses
import importlib
import typing
from dataclasses import MISSING, dataclass, field
from typing import Any

from .errors import ConfigError

FIELD_KEYS = ("help", "choices", "aliases", "flag", "short", "metavar", "flag_scale", "cli", "page", "page_choices",
              "min", "max", "input", "example", "optional")
"""Field metadata keys a front end reads (all optional): help; choices; aliases (other words for choices); flag
(when not --name-with-dashes); short ("-n"); metavar; flag_scale (the flag's value is the setting times this:
fool's --linf in 0-255 levels); cli (False: no CLI flag); page (False: never settable from the
web page: paths, weights, devices, module:factory); page_choices (the page offers only these values); min / max
(numbers); input ("image" | "images" | "checkpoint:<run kind>" | "folder" | "class"); example (a value the page
starts from where the setting has no default but a run needs one: dream's class_); optional (True: a positional
setting that may be left out because another setting stands in for it: robustness's folder, or its images)."""

GROUPS = ("see", "generate", "learn", "tools")


@dataclass(frozen=True, eq=False)
class TourStep:
    """How `vislab tour` runs a capability: settings overrides shared by every level and per level, or a
    hand-written step ("module:function", called as ``fn(run_dir, tour_settings) -> headline file``)."""

    settings: dict[str, Any] = field(default_factory=dict)  # every level
    full: dict[str, Any] = field(default_factory=dict)  # on top of `settings`, per level
    quick: dict[str, Any] = field(default_factory=dict)
    smoke: dict[str, Any] = field(default_factory=dict)
    step: str | None = None  # "module:function": a hand-written step instead of the generic run
    name: str | None = None  # the step's name (default: the capability's name, dashed)
    headline: str | None = None  # the result file role standing for the step (default: "figure", else "image")

    def overrides(self, level: str) -> dict[str, Any]:
        return {**self.settings, **getattr(self, level)}


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: a record is one capability
class Capability:
    """One capability: what it is called, its settings and run (lazy "module:attribute"), and how front ends
    show it."""

    name: str  # the command words: "saliency", "gan sample"; the run kind is `kind` ("gan-sample")
    summary: str  # one line for `vislab --help`, the page's tab, the report
    settings: str  # "vislab.visualize.settings:SaliencySettings"
    run: str  # "vislab.visualize.saliency_job:run": run(settings, out, *, progress, should_stop, command, overwrite)
    positional: tuple[str, ...] = ()  # settings taken as positional CLI arguments, in order
    group: str = "see"  # see | generate | learn | tools: order in --help and on the page
    tour: TourStep | None = None  # None: not in the tour
    show: str = "images"  # how the page / report shows the result: images | table | captions | scores
    page: bool = True  # offered as a form on the web page
    description: str = ""  # the CLI's longer description (default: the summary)

    @property
    def kind(self) -> str:
        """The run kind (config.json, the page's job kind): the command words joined by dashes."""
        return "-".join(self.name.split())

    def settings_class(self) -> type:
        return load(self.settings)

    def runner(self) -> Any:
        return load(self.run)

    def fields(self) -> list[dataclasses.Field]:
        return list(dataclasses.fields(self.settings_class()))

    def defaults(self) -> dict[str, Any]:
        """Every setting's default (None for the required ones)."""
        return {f.name: field_default(f) for f in self.fields()}


_REGISTRY: dict[str, Capability] = {}
_loaded = False


def register(cap: Capability) -> Capability:
    """Add `cap` (or replace the record of the same name); returns it."""
    if cap.group not in GROUPS:
        raise ValueError(f"capability {cap.name!r}: group must be one of {', '.join(GROUPS)}, got {cap.group!r}")
    _REGISTRY[cap.name] = cap
    return cap


def unregister(name: str) -> None:
    """Remove a record (tests that register a toy capability clean up with this)."""
    _REGISTRY.pop(name, None)


def capabilities() -> list[Capability]:
    """Every registered capability, by group, then in the order registered."""
    _load_records()
    return sorted(_REGISTRY.values(), key=lambda c: GROUPS.index(c.group))


def get(name: str) -> Capability:
    """The capability called `name` (command words "gan sample" or run kind "gan-sample")."""
    _load_records()
    cap = _REGISTRY.get(name) or next((c for c in _REGISTRY.values() if c.kind == name), None)
    if cap is None:
        raise ConfigError(f"unknown capability {name!r}; choose one of {', '.join(_REGISTRY)}")
    return cap


def _load_records() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        importlib.import_module("vislab.records")


def load(spec: str) -> Any:
    """The object a "module:attribute" spec names."""
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


# -- what front ends read from a settings field ------------------------------------------------------------------

def field_default(f: dataclasses.Field) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return None


def required(f: dataclasses.Field) -> bool:
    return f.default is MISSING and f.default_factory is MISSING


def field_types(cls: type) -> dict[str, Any]:
    """The settings class's field annotations, resolved (the modules use ``from __future__ import annotations``)."""
    return typing.get_type_hints(cls)


def base_type(hint: Any) -> tuple[type, bool]:
    """(the scalar type, whether it is a list) of an annotation: ``int | None`` -> (int, False), ``tuple[float,
    ...] | None`` -> (float, True), ``str | int`` -> (str, False)."""
    args = [a for a in typing.get_args(hint) if a is not type(None)] if _is_union(hint) else [hint]
    if len(args) > 1:
        return (str, False) if str in args else (args[0], False)
    one = args[0]
    origin = typing.get_origin(one)
    if origin in (list, tuple):
        inner = [a for a in typing.get_args(one) if a is not Ellipsis]
        return (inner[0] if inner else str), True
    return one, False


def _is_union(hint: Any) -> bool:
    import types

    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def redefault(base: type, name: str, default: Any, **metadata: Any) -> Any:
    """A subclass's field `name` with a new default, keeping the base field's metadata (a redeclared dataclass
    field otherwise loses it); `metadata` replaces single keys (e.g. help)."""
    old = {f.name: f for f in dataclasses.fields(base)}[name]
    return field(default=default, metadata={**old.metadata, **metadata})


def command_line(cap: Capability, settings: Any) -> str:
    """The ``vislab ...`` command line that runs `settings` (for run folders, the tour, the page): `cap`'s
    positional settings first, then a flag (the field's "flag" metadata, else --name-with-dashes) for every setting
    that differs from its default; lists comma-separated."""
    import shlex

    words = ["vislab", *cap.name.split()]
    by_name = {f.name: f for f in dataclasses.fields(settings)}
    for name in cap.positional:
        value = getattr(settings, name)
        if by_name[name].metadata.get("optional") and value == field_default(by_name[name]):
            continue  # left out: another setting stands in for it
        words.extend(str(v) for v in (value if isinstance(value, (list, tuple)) else [value]))
    for name, f in by_name.items():
        value = getattr(settings, name)
        if name in cap.positional or value is None or value == field_default(f):
            continue
        flag = f.metadata.get("flag") or "--" + name.replace("_", "-")
        if "flag_scale" in f.metadata:
            value = f"{value * f.metadata['flag_scale']:g}"
        if isinstance(value, bool):
            words += [flag] if value else [f"--no-{name.replace('_', '-')}"] if field_default(f) is True else []
        elif isinstance(value, (list, tuple)):
            words += [flag, ",".join(str(v) for v in value)]
        else:
            words += [flag, str(value)]
    return shlex.join(words)
