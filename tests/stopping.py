"""Stopping a training run at a given step from its progress callback, as Ctrl-C would (resume tests)."""


class Stop(KeyboardInterrupt):
    pass


def stop_at(n: int):
    """A ``progress`` callback that raises `Stop` when the run reports step `n`."""
    def hook(step, total, **numbers):
        if step == n:
            raise Stop
    return hook


def stop_after_save(n: int):
    """A captioning ``on_step`` callback that raises `Stop` right after the checkpoint written at step `n` (a
    mid-epoch one when `n` is not a multiple of the epoch's steps)."""
    def hook(step: int, saved: bool) -> None:
        if saved and step == n:
            raise Stop
    return hook
