"""Neural style transfer, feature inversion and texture synthesis (Gatys et al.) on any vislab backbone.

    result = run(StyleSettings(content="sample:chelsea", styles=("starry.jpg",)), "runs/style-1")

`run` (or `run_style`, `run_invert`, `run_texture`) is each job's entry point; `style_transfer`, `invert` and
`texture` are the course-style functions on tensors. Names are imported on first use, so
``vislab.style.settings`` (the CLI reads defaults) loads without torch.
"""

from __future__ import annotations

import importlib

_WHERE = {
    "content_loss": "losses", "gram_matrix": "losses", "style_loss": "losses", "tv_loss": "losses",
    "Objective": "objective", "Terms": "objective",
    "Settings": "settings", "SynthesisSettings": "settings", "StyleSettings": "settings",
    "InvertSettings": "settings", "TextureSettings": "settings", "INVERT_DEFAULTS": "settings",
    "TEXTURE_DEFAULTS": "settings",
    "Step": "transfer", "Result": "transfer", "style_transfer": "transfer", "invert": "transfer",
    "texture": "transfer",
    "SynthesisResult": "session", "InvertResult": "session",
    "run": "runners", "run_style": "runners", "run_invert": "runners", "run_texture": "runners",
}
__all__ = list(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
