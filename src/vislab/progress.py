"""Progress on a terminal: the ``progress(step, total, **numbers)`` callback of the job contract as a tqdm bar."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

ProgressArg = Callable[..., None] | bool | None
"""The `progress` argument of functions a notebook calls directly (`make_fooling_image`, `load_scorer`, ...): a
``progress(step, total, **numbers)`` callback as the jobs take, or True for a bar on stderr, or None/False for
nothing."""


class ProgressBar:
    """A ``progress(step, total, **numbers)`` callback drawing one tqdm bar on stderr, made on the first call
    and closed when the job reaches its total (or by `close`)."""

    def __init__(self, desc: str, *, enabled: bool = True) -> None:
        self.desc, self.enabled, self.bar = desc, enabled, None
        self.ended: tuple[int, int | None] | None = None  # (step, total) where the last bar closed

    def __call__(self, step: int, total: int | None, **numbers: Any) -> None:
        from tqdm.auto import tqdm

        if not self.enabled:
            return
        if self.bar is None:
            if self.ended == (step, total):  # the end reported once more: no new bar for it
                return
            self.bar = tqdm(total=total, desc=self.desc, unit="it", dynamic_ncols=True, leave=False)
        self.bar.total = total
        # Only scalars go on the bar; a job may also pass pictures (``preview=``) for pages that show them.
        shown = {k: f"{v:.4g}" if isinstance(v, float) else v for k, v in numbers.items()
                 if isinstance(v, (int, float, str))}
        if shown:
            self.bar.set_postfix(shown, refresh=False)
        self.bar.update(step - self.bar.n)  # tqdm redraws at most every 0.1 s, so fast loops do not pay for it
        if total is not None and step >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.ended = (self.bar.n, self.bar.total)
            self.bar.close()
            self.bar = None  # a later call (a job's next phase, e.g. after training its scorer) starts a new bar


@contextlib.contextmanager
def terminal_progress(desc: str, *, enabled: bool = True) -> Iterator[ProgressBar]:
    """A `ProgressBar` that is closed when the block ends, however the job ended."""
    bar = ProgressBar(desc, enabled=enabled)
    try:
        yield bar
    finally:
        bar.close()


@contextlib.contextmanager
def as_progress(progress: ProgressArg, desc: str) -> Iterator[Callable[..., None]]:
    """`progress` as a callback: itself, a terminal bar for True, or one that does nothing."""
    if callable(progress):
        yield progress
        return
    if not progress:
        yield lambda step, total, **numbers: None
        return
    with terminal_progress(desc) as bar:
        yield bar
