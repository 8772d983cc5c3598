"""The page's forms, described from the capability records and their settings' field metadata (served in
``/api/info`` as "forms"; the page builds its tabs and inputs from them, so its defaults are the library's):

    {"name": "gan sample", "kind": "gan-sample", "summary": ..., "group": "generate", "show": "images",
     "needs": "gan-train" | null, "positional": ["images"],
     "fields": [{"name", "type", "default", "choices", "help", "min", "max", "input", "required", "flag",
                 "flag_scale", "example"}, ...]}

type: int | float | bool | str | choice | image | images | checkpoint | class | list (with choices: several of
them). Only the settings a form may set are listed (`capabilities.page_fields`).
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import Any

from .. import registry
from .capabilities import page_capabilities, page_fields


def forms() -> list[dict[str, Any]]:
    return list(_forms(tuple(page_capabilities().values())))


@lru_cache(maxsize=4)
def _forms(caps: tuple[registry.Capability, ...]) -> tuple[dict[str, Any], ...]:
    return tuple(form(cap) for cap in caps)


def form(cap: registry.Capability) -> dict[str, Any]:
    hints = registry.field_types(cap.settings_class())
    fields = [form_field(f, hints[f.name]) for f in page_fields(cap)]
    needs = next((f["input"].partition(":")[2] for f in fields if f["type"] == "checkpoint"), None)
    return {"name": cap.name, "kind": cap.kind, "summary": cap.summary, "group": cap.group, "show": cap.show,
            "needs": needs, "positional": list(cap.positional), "fields": fields}


def form_field(f: dataclasses.Field, hint: Any) -> dict[str, Any]:
    meta = f.metadata
    scalar, is_list = registry.base_type(hint)
    choices = meta.get("page_choices", meta.get("choices"))
    put = meta.get("input")
    if put:
        kind = put.partition(":")[0]
    elif is_list:
        kind = "list"  # with choices: several of them
    elif choices is not None:
        kind = "choice"
    else:
        kind = {int: "int", float: "float", bool: "bool"}.get(scalar, "str")
    default = registry.field_default(f)
    return {"name": f.name, "type": kind, "default": list(default) if isinstance(default, tuple) else default,
            "choices": list(choices) if choices is not None else None, "help": meta.get("help", ""),
            "min": meta.get("min"), "max": meta.get("max"), "input": put, "required": registry.required(f),
            "flag": meta.get("flag"), "flag_scale": meta.get("flag_scale"),  # for the page's equivalent command
            "example": meta.get("example")}  # where the page starts when there is no default (dream's class_)
