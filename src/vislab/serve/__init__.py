"""``vislab serve``: every capability as a web page on your own machine (FastAPI + uvicorn; ``pip install
"vislab[serve]"``).

    from vislab.serve import create_app, serve
    serve(runs="runs", host="127.0.0.1", port=7860, workers=None)      # blocks until Ctrl-C / SIGTERM

Each job is an ordinary run folder under `runs` (what the CLI writes; ``vislab report`` reads it). See
docs/serve.md for the page, the API and the safety rules.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..errors import ConfigError

DEFAULT_PORT = 7860
KEEP_ALIVE_SECONDS = 5
"""An idle connection is closed after this many seconds (uvicorn's ``timeout_keep_alive``)."""
LIMIT_CONCURRENCY = 200
"""Connections served at once; more are answered 503 at once instead of piling up (uvicorn's
``limit_concurrency``)."""
THREADS_PER_JOB = 2
"""Default workers: one job per this many CPUs (at least one); each job's torch pool gets its share of the
CPUs. Two threads per job keep a single job's latency close to its best on a small machine while letting a
many-core machine run several at once."""


def default_workers(cpus: int | None = None) -> int:
    from ..machine import available_cpus

    return max(1, (cpus or available_cpus()) // THREADS_PER_JOB)


def threads_per_job(workers: int, cpus: int | None = None) -> int:
    from ..machine import available_cpus

    return max(1, (cpus or available_cpus()) // workers)


def create_app(runs: str | os.PathLike, **kwargs):
    """The FastAPI app (see `vislab.serve.app.create_app`); raises `ConfigError` when the extra is missing."""
    _check_installed()
    from .app import create_app as make

    return make(Path(runs), **kwargs)


def serve(runs: str | os.PathLike = "runs", *, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
          workers: int | None = None, threads: int | None = None, max_memory: int | None = None,
          announce=print) -> None:
    """Run the server until interrupted; unfinished jobs are then marked interrupted (their folders kept).
    `max_memory`: bytes a job's images may need at most (default: `limits.default_max_memory`)."""
    _check_installed()
    import uvicorn

    from ..machine import THREADS_ENV, configure_threads, parse_threads

    workers = workers or default_workers()
    threads = (threads or parse_threads(os.environ.get(THREADS_ENV), source=f"${THREADS_ENV}")
               or threads_per_job(workers))

    configure_threads(threads)
    app = create_app(runs, workers=workers, threads=threads, hosts=[host], max_memory=max_memory)
    server = uvicorn.Server(uvicorn_config(app, host, port))
    sock = bind(host, port)
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    from ..machine import format_bytes

    announce(f"vislab serve: http://{shown}:{port}/  (runs folder {Path(runs).resolve()}, {workers} worker(s) x "
             f"{threads} thread(s), jobs up to {format_bytes(app.state.max_memory)} of memory; Ctrl-C to stop)")
    sys.stdout.flush()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C / SIGTERM it handled: stopping is the normal end
        pass
    unfinished = sum(j.state == "interrupted" for j in app.state.queue.jobs.values())
    announce(f"vislab serve: stopped; {unfinished} unfinished job(s) marked interrupted, their folders kept")


def uvicorn_config(app, host: str = "127.0.0.1", port: int = 0):
    """How the app is served: quiet logs, idle connections closed after `KEEP_ALIVE_SECONDS`, a request's head
    due within `protocol.HEAD_SECONDS`, at most `LIMIT_CONCURRENCY` connections at once."""
    import uvicorn

    from .protocol import DeadlineH11Protocol

    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                          timeout_graceful_shutdown=5, timeout_keep_alive=KEEP_ALIVE_SECONDS,
                          limit_concurrency=LIMIT_CONCURRENCY, http=DeadlineH11Protocol)


def bind(host: str, port: int):
    """The listening socket, bound here so a taken port is one clear error (port 0: any free port)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ConfigError(f"--host {host} --port {port}: cannot listen there ({e.strerror or e})") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _check_installed() -> None:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise ConfigError('vislab serve needs its extra: pip install "vislab[serve]" (FastAPI and uvicorn)') from None
