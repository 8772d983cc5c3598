"""A stand-in for ``/api/info``'s ``"forms"`` while the server does not serve its own yet (schema in the registry
notes, REGISTRY_API.md): built from `vislab.registry` and the settings fields' metadata, so the page tests run
against the same schema. `with_forms(info)` returns the server's answer unchanged once it has ``"forms"``.

Temporary: delete this file (and its use in `browser_page`) once routes_info serves "forms".
"""

from __future__ import annotations

from typing import Any

from vislab import registry


def _type(f: Any, hint: Any) -> tuple[str, str | None]:
    inp = f.metadata.get("input")
    if inp in ("image", "images", "class"):
        return inp, inp
    if inp and inp.startswith("checkpoint"):
        return "checkpoint", inp
    if f.metadata.get("page_choices") or f.metadata.get("choices"):
        return "choice", None
    base, is_list = registry.base_type(hint)
    if is_list:
        return "list", None
    return {int: "int", float: "float", bool: "bool"}.get(base, "str"), None


def _field(f: Any, hint: Any) -> dict[str, Any]:
    typ, inp = _type(f, hint)
    default = registry.field_default(f)
    choices = f.metadata.get("page_choices") or f.metadata.get("choices")
    return {"name": f.name, "type": typ, "default": list(default) if isinstance(default, tuple) else default,
            "choices": list(choices) if choices else None, "help": f.metadata.get("help", ""),
            "min": f.metadata.get("min"), "max": f.metadata.get("max"), "input": inp,
            "required": registry.required(f), "flag": f.metadata.get("flag")}


def standin_forms() -> list[dict[str, Any]]:
    out = []
    for cap in registry.capabilities():
        if not cap.page:
            continue
        hints = registry.field_types(cap.settings_class())
        fields = [_field(f, hints[f.name]) for f in cap.fields() if f.metadata.get("page", True) is not False]
        needs = next((f["input"].split(":")[1] for f in fields if f["type"] == "checkpoint"), None)
        out.append({"name": cap.name, "kind": cap.kind, "summary": cap.summary, "group": cap.group, "show": cap.show,
                    "positional": list(cap.positional), "fields": fields, "needs": needs})
    return out


def with_forms(info: dict[str, Any]) -> dict[str, Any]:
    return info if "forms" in info else {**info, "forms": standin_forms()}


def patch_info(monkeypatch) -> None:
    """Serve the stand-in forms from `/api/info` (a no-op once the server has its own)."""
    from vislab.serve import app, routes_info

    real = routes_info.info
    monkeypatch.setattr(app, "info", lambda *a, **k: with_forms(real(*a, **k)))
