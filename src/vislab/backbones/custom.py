"""A user's own classifier, given as ``module:factory`` (``my_models:make_model``).

The factory returns either an ``nn.Module`` mapping normalized images to logits, with optional attributes
``mean``, ``std``, ``classes`` and ``input_size``, or a dict with keys ``model`` and those same optional keys.
Defaults: ImageNet mean/std, the 1000 ImageNet class names when the model has 1000 outputs, input size 224.

Everything about the user's code is checked when it is loaded, before any job starts: the import, the factory
call, the extra keys, and one forward pass on a gray batch whose scores must be (N, classes) and finite. So a
broken model is one clear error instead of a crash in the middle of a run.
"""

from __future__ import annotations

import importlib
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError
from .backbone import Backbone
from .classes import imagenet_classes

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MAX_INPUT_SIZE = 4096


def load_custom(spec: str, device: torch.device, weights: str | None = None) -> Backbone:
    """The Backbone for ``module:factory`` `spec`; any problem with the user's code is a `ConfigError`."""
    info = load_factory(spec)
    model = info["model"]
    if weights:
        from .weights import load_state_dict_file

        load_state_dict_file(model, weights, spec)
    size = _input_size(spec, info.get("input_size", 224))
    mean = _triple(spec, "mean", info.get("mean", IMAGENET_MEAN))
    std = _triple(spec, "std", info.get("std", IMAGENET_STD), positive=True)
    n_out = probe_outputs(spec, model, size, mean, std)
    classes = info.get("classes")
    if classes is None:
        if n_out != 1000:
            raise ConfigError(f"model {spec!r}: the model has {n_out} outputs, not the 1000 ImageNet classes, so "
                              "give its class names (a 'classes' list from the factory)")
        classes = imagenet_classes()
    classes = _class_names(spec, classes)
    if len(classes) != n_out:
        raise ConfigError(f"model {spec!r}: the model has {n_out} outputs but {len(classes)} class names")
    return Backbone(spec, model, None, None, classes, mean, std, input_size=size, device=device)


def load_factory(spec: str) -> dict[str, Any]:
    """Import ``module``, call ``factory()`` and return its dict (``model`` plus optional keys)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"model {spec!r}: expected a built-in name or module:factory")
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # so a module next to the user's data is found
    try:
        module = importlib.import_module(module_name)
    except Exception as e:  # noqa: BLE001 - a syntax error or anything the module raises at import is the user's
        raise ConfigError(f"model {spec!r}: cannot import module {module_name!r} ({_describe(e)})") from e
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ConfigError(f"model {spec!r}: {module_name} has no callable {attr!r}")
    try:
        made = factory()
    except Exception as e:  # noqa: BLE001 - whatever the user's factory raises
        raise ConfigError(f"model {spec!r}: the factory {attr}() failed ({_describe(e)})") from e
    info = dict(made) if isinstance(made, dict) else {"model": made}
    model = info.get("model")
    if not isinstance(model, nn.Module):
        raise ConfigError(f"model {spec!r}: the factory must return an nn.Module (or a dict with 'model'), "
                          f"got {type(model).__name__}")
    for key in ("mean", "std", "classes", "input_size"):
        if key not in info and hasattr(model, key):
            info[key] = getattr(model, key)
    return info


def probe_outputs(spec: str, model: nn.Module, size: int, mean: Sequence[float], std: Sequence[float]) -> int:
    """Run the model once on two gray images; return its number of classes, or say what is wrong."""
    model.eval()
    param = next(model.parameters(), None)
    # device: cpu-ok (a probe made from settings, moved to the model's device below)
    gray = ((0.5 - torch.tensor(mean)) / torch.tensor(std)).view(1, 3, 1, 1).expand(2, 3, size, size)
    gray = gray.to(param.device if param is not None else "cpu")
    try:
        with torch.no_grad():
            scores = model(gray.contiguous())
    except Exception as e:  # noqa: BLE001 - the user's forward pass
        raise ConfigError(f"model {spec!r}: a forward pass on a (2, 3, {size}, {size}) batch failed "
                          f"({_describe(e)})") from e
    if not isinstance(scores, torch.Tensor):
        raise ConfigError(f"model {spec!r}: the model must return a tensor of class scores, got "
                          f"{type(scores).__name__}")
    if scores.dim() != 2 or scores.shape[0] != 2 or scores.shape[1] < 1:
        raise ConfigError(f"model {spec!r}: the model must return class scores of shape (N, classes); for a "
                          f"batch of 2 images it returned shape {tuple(scores.shape)}")
    if not torch.isfinite(scores).all():
        raise ConfigError(f"model {spec!r}: the model returns NaN or infinite scores for a gray image")
    return int(scores.shape[1])


def _input_size(spec: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_INPUT_SIZE:
        raise ConfigError(f"model {spec!r}: input_size must be a whole number from 1 to {MAX_INPUT_SIZE}, "
                          f"got {value!r}")
    return value


def _triple(spec: str, key: str, value: Any, *, positive: bool = False) -> tuple[float, float, float]:
    try:
        t = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        t = ()
    if len(t) != 3 or not all(math.isfinite(v) and (v > 0 or not positive) for v in t):
        need = "three positive numbers" if positive else "three numbers"
        raise ConfigError(f"model {spec!r}: {key} must be {need} (one per RGB channel), got {value!r}")
    return t  # type: ignore[return-value]


def _class_names(spec: str, classes: Any) -> tuple[str, ...]:
    if isinstance(classes, str) or not isinstance(classes, Sequence) or not classes:
        raise ConfigError(f"model {spec!r}: classes must be a non-empty list of names, got {classes!r:.80}")
    return tuple(str(c) for c in classes)


def _describe(e: BaseException) -> str:
    return " ".join(f"{type(e).__name__}: {e}".split())[:300]
