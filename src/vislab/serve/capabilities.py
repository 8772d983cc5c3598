"""The capabilities the page offers, each mapped onto a library job: which settings a form may set, how its
image and checkpoint fields are resolved, which ``run`` to call, and what the page shows of the result.

A form sets only the settings listed here (anything else is refused by name): no output files, weights files,
``module:factory`` models or devices, so a request can neither read nor write outside the runs folder nor import
code. Values are checked by the job's own settings class, whose messages name the setting.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..jobs import JobSettings, SettingError, settings_from_dict
from .uploads import resolve_ref

MODELS = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")
"""The built-in classifiers a form may pick (never ``module:factory``: that would import code)."""
MAX_IMAGES = 32
"""Images one job may list: enough for any page; a longer list belongs on the command line."""
CHECKPOINT_KINDS = {"caption": "caption-train", "gan-sample": "gan-train", "gan-eval": "gan-train"}


@dataclass(frozen=True)
class Capability:
    name: str  # the job kind, as run folders record it
    settings: str  # "module:Class" of its settings
    runner: str  # "module:function" of its run(settings, out, progress=, should_stop=, ...)
    fields: tuple[str, ...]  # settings a form may set
    images: tuple[str, ...] = ()  # of those, the ones naming images (a list or one image)
    fixed: dict[str, Any] = field(default_factory=dict)  # settings the server sets

    def load(self, spec: str) -> Any:
        module, name = spec.split(":")
        return getattr(importlib.import_module(f"vislab.{module}"), name)


_MODEL = ("model",)
CAPABILITIES: dict[str, Capability] = {c.name: c for c in [
    Capability("classify", "backbones.classify_job:ClassifySettings", "backbones.classify_job:run",
               ("images", "topk", *_MODEL), images=("images",)),
    Capability("saliency", "visualize.settings:SaliencySettings", "visualize.saliency_job:run",
               ("images", "target", "method", "samples", "noise", "seed", *_MODEL), images=("images",)),
    Capability("fool", "visualize.settings:FoolSettings", "visualize.fool_job:run",
               ("image", "target", "linf", "max_iters", "lr", "seed", *_MODEL), images=("image",)),
    Capability("dream", "visualize.settings:DreamSettings", "visualize.dream_job:run",
               ("class_", "steps", "size", "seed", *_MODEL)),
    Capability("style", "style.settings:StyleSettings", "style.runners:run_style",
               ("content", "styles", "style_blend_weights", "content_weight", "style_weight", "tv_weight",
                "image_size", "iterations", "scales", "stop_tolerance", "style_scale", "original_colors", "init",
                "seed", *_MODEL),
               images=("content", "styles")),
    Capability("invert", "style.settings:InvertSettings", "style.runners:run_invert",
               ("image", "layer", "image_size", "iterations", "tv_weight", "seed", *_MODEL), images=("image",)),
    Capability("texture", "style.settings:TextureSettings", "style.runners:run_texture",
               ("style", "image_size", "iterations", "style_scale", "tv_weight", "seed", *_MODEL),
               images=("style",)),
    Capability("caption", "captioning.settings:CaptionSettings", "captioning.predict:run",
               ("images", "checkpoint", "beam"), images=("images",)),
    Capability("gan-sample", "gan.settings:GanSampleSettings", "gan.sample:run", ("checkpoint", "n", "seed", "raw")),
    Capability("gan-eval", "gan.settings:GanEvalSettings", "gan.score:run", ("checkpoint", "n", "seed", "raw")),
]}


def build_settings(kind: str, form: Any, root: Path, find_checkpoint: Callable[[str, str], str]) -> JobSettings:
    """The checked settings of a `kind` job from the page's `form` (a JSON object)."""
    cap = CAPABILITIES.get(kind) if isinstance(kind, str) else None
    if cap is None:
        raise ConfigError(f"unknown job kind {kind!r}; choose one of {', '.join(CAPABILITIES)}")
    if not isinstance(form, dict):
        raise ConfigError("settings must be a JSON object")
    unknown = sorted(set(form) - set(cap.fields))
    if unknown:
        raise SettingError(unknown[0], f"cannot be set from the page ({kind} takes {', '.join(cap.fields)})")
    values = dict(form)
    for name in cap.images:
        if name in values:
            v = values[name]
            if isinstance(v, list) and len(v) > MAX_IMAGES:
                raise SettingError(name, f"lists {len(v)} images; a job from the page takes at most {MAX_IMAGES}")
            values[name] = [resolve_ref(root, x) for x in v] if isinstance(v, list) else resolve_ref(root, v)
    for name in ("styles", "style_blend_weights"):  # tuples in the settings; JSON has only lists
        if isinstance(values.get(name), list):
            values[name] = tuple(values[name])
    if "init" in values and values["init"] not in ("recolored", "content", "noise"):  # any other names a file
        raise SettingError("init", f"must be recolored, content or noise; got {values['init']!r}")
    if "model" in values and values["model"] not in MODELS:
        raise SettingError("model", f"must be one of {', '.join(MODELS)}; got {values['model']!r}")
    if kind in CHECKPOINT_KINDS and "checkpoint" in values:
        values["checkpoint"] = find_checkpoint(values["checkpoint"], CHECKPOINT_KINDS[kind])
    if kind == "gan-eval":
        values["data"] = "auto"  # never a folder named by the page
    cls = cap.load(cap.settings)
    missing = [f.name for f in fields(cls) if f.name not in values and f.default is MISSING
               and f.default_factory is MISSING]
    if missing:
        raise SettingError(missing[0], f"must be given for a {kind} job")
    settings = settings_from_dict(cls, values, validate=False)  # each value checked against its field's type
    settings.validate()
    return settings


def runner(kind: str) -> Callable[..., Any]:
    cap = CAPABILITIES[kind]
    return cap.load(cap.runner)
