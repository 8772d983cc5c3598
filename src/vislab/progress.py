"""Progress on a terminal: the ``progress(step, total, **numbers)`` callback of the job contract as a tqdm bar."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def terminal_progress(desc: str, *, enabled: bool = True) -> Iterator[Callable[..., None]]:
    """A ``progress(step, total, **numbers)`` callback drawing one tqdm bar on stderr (closed on exit)."""
    from tqdm.auto import tqdm

    bar = None

    def progress(step: int, total: int | None, **numbers: float) -> None:
        nonlocal bar
        if not enabled:
            return
        if bar is None:
            bar = tqdm(total=total, desc=desc, unit="it", dynamic_ncols=True, leave=False)
        bar.total = total
        if numbers:
            bar.set_postfix({k: f"{v:.4g}" if isinstance(v, float) else v for k, v in numbers.items()},
                            refresh=False)
        bar.update(step - bar.n)  # tqdm redraws at most every 0.1 s, so fast loops do not pay for the bar

    try:
        yield progress
    finally:
        if bar is not None:
            bar.close()
