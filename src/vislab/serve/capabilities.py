"""The capabilities the page offers, read from the registry (`vislab.registry`): a form per record with
``page=True``, holding the settings whose field metadata does not say ``page: False``.

A form sets only those settings (anything else is refused by name): no output files, weights files,
``module:factory`` models or devices, so a request can neither read nor write outside the runs folder nor import
code. Pictures are uploads or samples (`uploads.resolve_ref`), checkpoints are runs in the runs folder, a field
with ``page_choices`` takes only those values. Values are typed by `jobs.settings_from_dict` and checked by the
job's own settings class, whose messages name the setting.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import registry
from ..errors import ConfigError
from ..jobs import JobSettings, SettingError, settings_from_dict
from .uploads import resolve_ref

MAX_IMAGES = 32
"""Images one job may list: enough for any page; a longer list belongs on the command line."""


def page_capabilities() -> dict[str, registry.Capability]:
    """The capabilities with a form on the page, by run kind ("gan-sample")."""
    return {c.kind: c for c in registry.capabilities() if c.page}


def page_fields(cap: registry.Capability) -> list[dataclasses.Field]:
    """The settings a form may set."""
    return [f for f in cap.fields() if f.metadata.get("page", True) is not False]


def models() -> tuple[str, ...]:
    """The classifiers a form may pick."""
    from ..backbones.settings import PAGE_MODELS

    return PAGE_MODELS


def build_settings(kind: str, form: Any, root: Path, find_checkpoint: Callable[[str, str], str]) -> JobSettings:
    """The checked settings of a `kind` job from the page's `form` (a JSON object)."""
    caps = page_capabilities()
    cap = caps.get(kind) if isinstance(kind, str) else None
    if cap is None:
        raise ConfigError(f"unknown job kind {kind!r}; choose one of {', '.join(caps)}")
    if not isinstance(form, dict):
        raise ConfigError("settings must be a JSON object")
    allowed = {f.name: f for f in page_fields(cap)}
    unknown = sorted(set(form) - set(allowed))
    if unknown:
        raise SettingError(unknown[0], f"cannot be set from the page ({kind} takes {', '.join(allowed)})")
    values = {}
    for name, value in form.items():
        value = _page_value(allowed[name], value, root, find_checkpoint)
        if value is not _DEFAULT:
            values[name] = value
    missing = [f.name for f in cap.fields() if registry.required(f) and f.name not in values]
    if missing:
        raise SettingError(missing[0], f"must be given for a {kind} job")
    return settings_from_dict(cap.settings_class(), values)


_DEFAULT = object()
"""A form value that means "the setting's default" (an empty checkpoint choice)."""


def _page_value(f: dataclasses.Field, value: Any, root: Path, find_checkpoint: Callable[[str, str], str]) -> Any:
    """A form's value for field `f`, with pictures and checkpoints resolved inside the runs folder."""
    name, meta = f.name, f.metadata
    put = meta.get("input") or ""
    if put in ("image", "images"):
        if isinstance(value, list) and len(value) > MAX_IMAGES:
            raise SettingError(name, f"lists {len(value)} images; a job from the page takes at most {MAX_IMAGES}")
        return [resolve_ref(root, x) for x in value] if isinstance(value, list) else resolve_ref(root, value)
    if put.startswith("checkpoint:"):
        if value in (None, "", registry.field_default(f)):
            return _DEFAULT
        return find_checkpoint(value, put.partition(":")[2])
    choices = meta.get("page_choices")
    if choices is not None and value not in choices:
        raise SettingError(name, f"must be one of {', '.join(map(str, choices))}; got {value!r}")
    return value


def runner(kind: str) -> Callable[..., Any]:
    return page_capabilities()[kind].runner()
