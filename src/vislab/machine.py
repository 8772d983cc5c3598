"""What this machine can really give a run: CPUs (affinity mask, cgroup quota), threads, memory.

Laptops, CI runners and shared servers are busy machines. A thread pool sized to ``os.cpu_count()`` on a machine
whose process may use fewer CPUs, or whose OpenMP threads spin while they wait for a core another process holds,
runs many times slower than its share (bench/under_load.py measures it). So vislab sizes torch's and BLAS's pools
from the CPUs this process may use, and its threads sleep instead of spinning while they wait (set in
``vislab/__init__.py``, before torch loads its OpenMP runtime).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import ConfigError

THREADS_ENV = "VISLAB_THREADS"


def available_cpus() -> int:
    """CPUs this process may run on: the affinity mask, capped by a cgroup CPU quota (containers, CI runners)."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    quota = cgroup_cpu_quota()
    if quota is not None:
        n = min(n, max(1, math.ceil(quota)))
    return max(1, n)


def cgroup_cpu_quota(root: str | os.PathLike = "/sys/fs/cgroup") -> float | None:
    """The CPU quota in CPUs (cgroup v2 ``cpu.max`` or v1 ``cpu.cfs_quota_us``), or None when unlimited/unknown."""
    root = Path(root)
    try:
        text = (root / "cpu.max").read_text().split()
        if len(text) == 2 and text[0] != "max":
            return int(text[0]) / int(text[1])
        if text:
            return None
    except (OSError, ValueError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


def parse_threads(value: str | int | None, source: str = "--threads") -> int | None:
    """A thread count from a flag or the environment: a positive integer, or None for "choose"."""
    if value is None or value == "" or value == "auto":
        return None
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{source} must be a positive integer or 'auto', got {value!r}") from None
    if not 1 <= n <= 1024:
        raise ConfigError(f"{source} must be between 1 and 1024, got {value!r}")
    return n


def choose_threads(requested: int | None = None) -> int:
    """The thread count to use: `requested`, else ``$VISLAB_THREADS``, else the CPUs this process may use that
    other processes are not keeping busy right now (at least 1).

    Why the load: two threads that must meet at every parallel region run at the pace of the one the scheduler
    left waiting; on a machine whose cores other work holds, one thread gets its share and never waits for a
    partner (bench/under_load.py: 1.5-1.7x the idle time at one thread against 2-7x at two)."""
    if requested is not None:
        return parse_threads(requested)
    env = parse_threads(os.environ.get(THREADS_ENV), source=f"${THREADS_ENV}")
    if env is not None:
        return env
    n = available_cpus()
    busy = busy_cpus() if n > 1 else None
    if busy is None:
        return n
    free = (os.cpu_count() or n) - busy
    return max(1, min(n, int(free + 0.5)))


def busy_cpus(window: float = 0.1) -> float | None:
    """CPUs other processes keep busy: the machine's non-idle time over `window` seconds while this process
    sleeps (/proc/stat); None where that cannot be read."""
    def sample() -> tuple[int, int]:
        with open("/proc/stat", encoding="ascii") as f:
            ticks = [int(v) for v in f.readline().split()[1:9]]
        return sum(ticks), ticks[3] + ticks[4]  # idle + iowait

    try:
        total0, idle0 = sample()
        time.sleep(window)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    if total1 <= total0:
        return None
    return (1 - (idle1 - idle0) / (total1 - total0)) * (os.cpu_count() or 1)


def configure_threads(requested: int | None = None) -> int:
    """Size torch's intra-op pool and the BLAS pools (numpy's OpenBLAS, MKL) to `choose_threads(requested)`."""
    import torch
    from threadpoolctl import threadpool_limits

    n = choose_threads(requested)
    torch.set_num_threads(n)
    threadpool_limits(limits=n, user_api="blas")
    return n


@contextlib.contextmanager
def thread_limits(requested: int | None = None) -> Iterator[int]:
    """`configure_threads` for a block: the pools' earlier sizes come back afterwards (a command run in-process,
    from a notebook or a test, does not leave its thread count behind)."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    saved = threadpool_limits(limits=None, user_api="blas")  # records the BLAS pools' sizes
    try:
        yield configure_threads(requested)
    finally:
        torch.set_num_threads(before)
        saved.restore_original_limits()


def available_memory() -> int | None:
    """Bytes this process could still allocate: MemAvailable, capped by a cgroup memory limit; None if unknown."""
    avail = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError, IndexError):
        pass
    for limit_file, usage_file in (("memory.max", "memory.current"),
                                   ("memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes")):
        try:
            limit = (Path("/sys/fs/cgroup") / limit_file).read_text().strip()
            usage = int((Path("/sys/fs/cgroup") / usage_file).read_text())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 2**60:
            left = max(0, int(limit) - usage)
            avail = left if avail is None else min(avail, left)
        break
    return avail


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def check_memory(needed_bytes: float, what: str, *, hint: str = "") -> None:
    """Refuse, before any work, a job whose estimated peak memory exceeds what this machine has available."""
    avail = available_memory()
    if avail is None or needed_bytes <= avail:
        return
    raise ConfigError(f"{what} needs about {format_bytes(needed_bytes)} of memory but only "
                      f"{format_bytes(avail)} is available{'; ' + hint if hint else ''}")
