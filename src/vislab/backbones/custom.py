"""A user's own classifier, given as ``module:factory`` (``my_models:make_model``).

The factory returns either an ``nn.Module`` mapping normalized images to logits, with optional attributes
``mean``, ``std``, ``classes`` and ``input_size``, or a dict with keys ``model`` and those same optional keys.
Defaults: ImageNet mean/std, the 1000 ImageNet class names when the model has 1000 outputs, input size 224.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from torch import nn

from ..errors import ConfigError


def load_factory(spec: str) -> dict[str, Any]:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"--model {spec!r}: expected a built-in name or module:factory")
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # so a module next to the user's data is found
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ConfigError(f"--model {spec!r}: cannot import module {module_name!r} ({e})") from e
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ConfigError(f"--model {spec!r}: {module_name} has no callable {attr!r}")
    made = factory()
    info = dict(made) if isinstance(made, dict) else {"model": made}
    model = info.get("model")
    if not isinstance(model, nn.Module):
        raise ConfigError(f"--model {spec!r}: the factory must return an nn.Module (or a dict with 'model')")
    for key in ("mean", "std", "classes", "input_size"):
        if key not in info and hasattr(model, key):
            info[key] = getattr(model, key)
    return info
