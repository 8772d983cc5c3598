"""Neural style transfer, feature inversion and texture synthesis (Gatys et al.) on any vislab backbone.

Names are imported on first use, so ``vislab.style.settings`` (the CLI reads defaults) loads without torch.
"""

from __future__ import annotations

import importlib

_WHERE = {
    "content_loss": "losses", "gram_matrix": "losses", "style_loss": "losses", "tv_loss": "losses",
    "Objective": "objective", "Terms": "objective",
    "Settings": "settings", "INVERT_DEFAULTS": "settings", "TEXTURE_DEFAULTS": "settings",
    "Step": "transfer", "Result": "transfer", "style_transfer": "transfer", "invert": "transfer",
    "texture": "transfer",
}
__all__ = list(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
