"""The `progress` argument of the course-style functions (`make_fooling_image`, `create_class_visualization`):
a ``progress(step, total, **numbers)`` callback as the jobs take, or True for a bar on stderr (handy in a
notebook or the tour), or None/False for nothing."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ..jobs import Progress

ProgressArg = Progress | bool | None


@contextlib.contextmanager
def as_progress(progress: ProgressArg, desc: str) -> Iterator[Progress]:
    if callable(progress):
        yield progress
        return
    if not progress:
        yield lambda step, total, **numbers: None
        return
    from ..progress import terminal_progress

    with terminal_progress(desc) as bar:
        yield bar
