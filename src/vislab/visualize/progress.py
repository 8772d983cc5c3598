"""The `progress` argument of the course-style functions (`make_fooling_image`, `create_class_visualization`):
a ``progress(step, total, **numbers)`` callback as the jobs take, or True for a bar on stderr (handy in a
notebook or the tour), or None/False for nothing. Shared with the rest of the library: `vislab.progress`."""

from __future__ import annotations

from ..progress import ProgressArg, as_progress

__all__ = ["ProgressArg", "as_progress"]
