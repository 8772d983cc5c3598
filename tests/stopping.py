"""Stopping a training run at a given step from its progress callback, as Ctrl-C would (resume tests)."""


class Stop(KeyboardInterrupt):
    pass


def stop_at(n: int):
    """A ``progress`` callback that raises `Stop` when the run reports step `n`."""
    def hook(step, total, **numbers):
        if step == n:
            raise Stop
    return hook
