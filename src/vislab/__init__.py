"""vislab: seeing and generating with neural networks, written to be read and checked to be trusted."""

import os as _os

# Before torch loads its OpenMP runtime: threads that wait for work spin briefly (10,000 spins, well under a
# millisecond), then sleep. OpenMP's default spins ~300,000 times: on a busy machine such a pool burns the share
# it gets waiting for a partner thread the scheduler has not run (5x slower loaded, bench/under_load.py); never
# spinning makes small jobs up to 2x slower on an idle machine. A value the user set wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
_os.environ.setdefault("GOMP_SPINCOUNT", "10000")

__version__ = "0.1.0"


def capabilities():  # -> list[vislab.registry.Capability]
    """Every capability vislab offers (the records in `vislab.records`, plus any registered since)."""
    from .registry import capabilities as _capabilities

    return _capabilities()
