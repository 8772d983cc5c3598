"""The job queue: at most `workers` jobs run at once, each in its own thread calling the library's ``run``; the
rest wait in order and know their place. Every job gets a fresh run folder under the runs folder.

Stopping (`JobQueue.shutdown`) sets every running job's stop flag, so the jobs end through their own cancel path
with complete folders, then marks them and every job still waiting as ``interrupted``: a waiting job gets a run
folder of its own (config.json with its settings, status.json saying it never started), so no submitted job is
lost without a trace.
"""

from __future__ import annotations

import collections
import os
import secrets
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import jobs, registry
from ..errors import VislabError
from ..runs import release_run_dir
from .job import Job
from .paths import read_json
from .recovery import ended, started

KEEP_JOBS = 1000
"""Jobs the server remembers (with their progress and preview); their folders stay on disk regardless."""
MAX_WAITING = 100
"""Jobs that may wait at once; more are refused (HTTP 429) until some have run."""


class QueueFull(VislabError):
    status = 429


class JobQueue:
    def __init__(self, root: Path, workers: int, threads: int | None = None, *, max_waiting: int = MAX_WAITING,
                 max_memory: int | None = None) -> None:
        """`max_memory`: the most bytes the running jobs' estimates (`Job.memory`) may add up to; a job waits
        while starting it would pass that (one job alone always starts: the server refused larger ones)."""
        self.root, self.workers, self.threads = root, workers, threads
        self.max_waiting, self.max_memory, self._reserved = max_waiting, max_memory, 0
        self.jobs: dict[str, Job] = {}
        self._waiting: collections.deque[Job] = collections.deque()
        self._cond = threading.Condition()
        self._closing = False
        self._threads = [threading.Thread(target=self._work, name=f"vislab-serve-{i}", daemon=True)
                         for i in range(workers)]
        for t in self._threads:
            t.start()

    def new_id(self, kind: str) -> str:
        """A fresh run name: kind, time and random digits (never taken from a request)."""
        return f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"

    def submit(self, kind: str, settings: jobs.JobSettings, runner: Callable[..., Any], memory: int = 0) -> Job:
        with self._cond:
            if self._closing:
                raise VislabError("the server is stopping; no new jobs")
            if len(self._waiting) >= self.max_waiting:
                raise QueueFull(f"the queue is full ({self.max_waiting} jobs waiting); try again when some have run")
            job_id = self.new_id(kind)
            while job_id in self.jobs or os.path.lexists(self.root / job_id):
                job_id = self.new_id(kind)
            job = Job(job_id, kind, settings, runner, self.root / job_id, memory=memory,
                      command=command_for(kind, settings))
            self._forget_old()
            self.jobs[job_id] = job
            self._waiting.append(job)
            self._cond.notify_all()
        return job

    def _startable(self) -> bool:
        """Whether the next waiting job may start now (its memory fits beside the running jobs')."""
        if not self._waiting:
            return False
        return (self.max_memory is None or self._reserved == 0
                or self._reserved + self._waiting[0].memory <= self.max_memory)

    def _forget_old(self) -> None:
        """Keep the newest `KEEP_JOBS` in memory; older finished ones live on as run folders (the history)."""
        finished = [k for k, j in self.jobs.items() if j.is_final]
        for k in finished[:max(0, len(self.jobs) - KEEP_JOBS + 1)]:
            del self.jobs[k]

    def position(self, job: Job) -> int | None:
        """1 for the next job to start; None once started."""
        with self._cond:
            try:
                return self._waiting.index(job) + 1
            except ValueError:
                return None

    def cancel(self, job: Job) -> None:
        """A waiting job is dropped (no folder: it never began); a running one is asked to stop."""
        with self._cond:
            if job in self._waiting:
                self._waiting.remove(job)
                job.finish("cancelled", "cancelled before it started")
                self._cond.notify_all()
                return
        job.stop.set()

    def _work(self) -> None:
        if self.threads:
            import torch

            torch.set_num_threads(self.threads)  # OpenMP's pool size is per calling thread
        while True:
            with self._cond:
                while not self._startable() and not self._closing:
                    self._cond.wait()
                if self._closing:
                    return
                job = self._waiting.popleft()
                self._reserved += job.memory
                job.state = "running"
                job.started = time.time()
            try:
                self._run(job)
            finally:
                with self._cond:
                    self._reserved -= job.memory
                    self._cond.notify_all()

    def _run(self, job: Job) -> None:
        state, message = "failed", ""
        started(self.root, job.id)  # so a server started after a kill finds this folder (`recovery`)
        try:
            job.result = job.runner(job.settings, job.run_dir, progress=job.progress, should_stop=job.stop.is_set,
                                    command=job.command)
            state = job.result.status
        except VislabError as e:
            message = " ".join(str(e).split())
        except Exception as e:  # noqa: BLE001 - a bug: the page says so in one line, the log has the traceback
            traceback.print_exc(file=sys.stderr)
            message = f"internal error: {type(e).__name__}: {e}"
        finally:
            release_run_dir(job.run_dir)
        if state == "failed" and (job.run_dir / "config.json").is_file():
            _write_status(job.run_dir, state, message)  # the folder was made: say why it has no results
        elif state == "cancelled" and self._closing:
            state, message = "interrupted", "the server stopped while this job ran; the results so far are kept"
            _write_status(job.run_dir, state, message)
        ended(self.root, job.id)
        job.finish(state, message)  # last: whoever sees the job finished finds its folder final too

    def shutdown(self, timeout: float = 60.0) -> None:
        """Stop taking jobs, ask running ones to stop, mark every unfinished job interrupted; wait for the
        workers (at most `timeout` seconds)."""
        with self._cond:
            self._closing = True
            waiting = list(self._waiting)
            self._waiting.clear()
            self._cond.notify_all()
        for job in self.jobs.values():
            job.stop.set()
        for job in waiting:
            _record_interrupted(job)
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))


def _record_interrupted(job: Job) -> None:
    """A run folder for a job that never started: its settings and an ``interrupted`` status."""
    message = "the server stopped before this job started"
    try:
        run_dir = jobs.start_run(job.kind, job.settings, job.run_dir, command=job.command)
        jobs.finish_run(jobs.JobResult(run_dir, status="interrupted"), time.perf_counter(), message)
    except (VislabError, OSError) as e:
        message += f" (its folder could not be written: {e})"
    finally:
        release_run_dir(job.run_dir)
    job.finish("interrupted", message)


def command_for(kind: str, settings: jobs.JobSettings) -> str:
    """The ``vislab ...`` command that runs the same job from a terminal (recorded in config.json, shown on the
    page); uploads appear as their stored files, which the command reads as they are."""
    try:
        return registry.command_line(registry.get(kind), settings)
    except (VislabError, KeyError, TypeError, ValueError, AttributeError):  # a kind outside the registry (tests)
        return f"vislab {kind} (from vislab serve)"


def _write_status(run_dir: Path, status: str, message: str) -> None:
    """Restate a run folder's status.json (keeping its files and numbers) as `status`."""
    from ..fileio import write_json

    path = run_dir / "status.json"
    old = read_json(path)
    write_json(path, {**(old if isinstance(old, dict) else {}), "status": status, "message": message})
