"""A stand-in for ``/api/info``'s ``"forms"`` while the registry's own is not served yet (see
/work/notes/REGISTRY_API.md): built from the settings dataclasses and `serve.capabilities`, so the page tests can
run against the same schema. `with_forms(info)` returns the server's answer unchanged once it has ``"forms"``.

Temporary: delete this file (and its two imports in the serve tests) when routes_info serves "forms".
"""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Any

IMAGE_FIELDS = {"images": "images", "styles": "images", "image": "image", "content": "image", "style": "image"}
CLASS_FIELDS = ("target", "class_")
NEEDS = {"caption": "caption-train", "gan-sample": "gan-train", "gan-eval": "gan-train"}
SUMMARIES = {"classify": "the classes a network sees in a picture", "saliency": "which pixels a class depends on",
             "fool": "a picture changed until the network sees another class",
             "dream": "a picture grown from noise until the network sees a class",
             "style": "a photo repainted in the style of a painting", "invert": "a picture rebuilt from its features",
             "texture": "a new picture with a painting's texture", "caption": "a sentence about a picture",
             "gan-sample": "digits from a trained GAN generator", "gan-eval": "how good a GAN generator's digits are"}
GROUPS = {"caption": "learn", "gan-sample": "generate", "gan-eval": "generate"}


def _choices(name: str) -> list[Any] | None:
    if name == "method":
        from vislab.visualize.maps import METHODS

        return list(METHODS)
    if name == "init":
        from vislab.style.settings import INITS

        return list(INITS)
    if name == "model":
        from vislab.serve.capabilities import MODELS

        return list(MODELS)
    return None


def _field(kind: str, f: Any) -> dict[str, Any]:
    default = None if f.default is MISSING else f.default
    if f.default_factory is not MISSING:
        default = f.default_factory()
    t = str(f.type).replace(" | None", "")
    choices = _choices(f.name)
    if f.name in IMAGE_FIELDS:
        typ, inp = IMAGE_FIELDS[f.name], IMAGE_FIELDS[f.name]
    elif f.name == "checkpoint":
        typ, inp, default = "checkpoint", f"checkpoint:{NEEDS[kind]}", None
    elif f.name in CLASS_FIELDS:
        typ, inp = "class", "class"
    elif choices:
        typ, inp = "choice", None
    elif t.startswith(("tuple", "list")):
        typ, inp = "list", None
    else:
        typ, inp = {"int": "int", "float": "float", "bool": "bool"}.get(t, "str"), None
    if isinstance(default, tuple):
        default = list(default)
    return {"name": f.name, "type": typ, "default": default, "choices": choices, "help": "",
            "required": f.default is MISSING and f.default_factory is MISSING,
            "min": 0 if typ in ("int", "float") and f.name != "linf" else None, "max": None, "input": inp}


def standin_forms() -> list[dict[str, Any]]:
    from vislab.serve.capabilities import CAPABILITIES

    out = []
    for cap in CAPABILITIES.values():
        by_name = {f.name: f for f in fields(cap.load(cap.settings))}
        out.append({"name": cap.name, "summary": SUMMARIES.get(cap.name, ""), "group": GROUPS.get(cap.name, "see"),
                    "show": "images", "fields": [_field(cap.name, by_name[n]) for n in cap.fields],
                    "needs": NEEDS.get(cap.name)})
    return out


def with_forms(info: dict[str, Any]) -> dict[str, Any]:
    return info if "forms" in info else {**info, "forms": standin_forms()}


def patch_info(monkeypatch) -> None:
    """Serve the stand-in forms from `/api/info` (a no-op once the server has its own)."""
    from vislab.serve import app, routes_info

    real = routes_info.info
    monkeypatch.setattr(app, "info", lambda *a, **k: with_forms(real(*a, **k)))
