"""The web app: the page, its JSON API and the run folders' files, as one FastAPI application.

    app = create_app(Path("runs"), workers=1)     # starlette's TestClient drives it in-process

Routes: ``GET /`` the page; ``POST /api/uploads`` a picture (the raw body); ``POST /api/jobs`` ``{"kind",
"settings"}``; ``GET /api/jobs/{id}`` state, place in the queue, progress, result; ``POST
/api/jobs/{id}/cancel``; ``GET /api/jobs/{id}/preview`` the picture as it forms; ``GET /api/runs`` the history;
``GET /runs/<run>/<file>`` a run's files and ``GET /runs/<run>/report`` its ``vislab report`` page. Errors are
``{"error": "one line"}``. Every POST must carry the header ``X-Vislab: 1``: a page on another site cannot send it
without the browser asking first (and this server never says yes), so other sites cannot start jobs here. Requests
a browser marks as coming from another site (``Sec-Fetch-Site``, ``Origin``) are refused (403) for everything but
the page itself, so an ``<img>`` elsewhere cannot make the server work either; no GET writes anything.
"""

from __future__ import annotations

import contextlib
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import ClientDisconnect

from ..errors import VislabError
from . import capabilities, history, limits, uploads
from . import queue as queue_module
from .job import Job
from .paths import OutsideRuns, inside, run_folder
from .queue import JobQueue
from .recovery import mark_abandoned
from .routes_info import info, sample_thumbnail
from .views import result_view

STATIC = {"app.js": "text/javascript", "app.css": "text/css"}
PAGE_CSP = "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; connect-src 'self'"
RUN_FILES_CSP = "sandbox allow-same-origin; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"
"""Files from run folders (reports included) never run scripts: a run folder copied from elsewhere could hold a
page that would otherwise act on this server with the page's rights. ``allow-same-origin`` (never with
``allow-scripts``) keeps the pages' own pictures same-origin requests, which the cross-site guard lets through."""
MAX_JSON_BYTES = 64 * 1024
LOCAL_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]
"""Host names always answered. (starlette's TestClient sends ``testserver``: tests pass it in `hosts`.)"""


def create_app(root: Path, *, workers: int = 1, threads: int | None = None,
               max_upload_bytes: int = uploads.DEFAULT_MAX_BYTES, hosts: list[str] | None = None,
               max_memory: int | None = None, max_waiting: int | None = None) -> FastAPI:
    """The app serving run folder `root` (made if missing) with a queue of `workers` job threads, each running
    torch at `threads` threads. `hosts`: the Host names it answers (besides loopback); guards against DNS
    rebinding. `max_memory`: the most bytes a job's images (or the running jobs' together) may need, judged
    from the headers (default: `limits.default_max_memory`); `max_waiting`: jobs that may wait (then 429)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    mark_abandoned(root)
    max_memory = max_memory or limits.default_max_memory()
    queue = JobQueue(root, workers, threads, max_memory=max_memory,
                     max_waiting=max_waiting or queue_module.MAX_WAITING)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        await run_in_threadpool(queue.shutdown)

    app = FastAPI(title="vislab", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.queue, app.state.root, app.state.max_upload_bytes = queue, root, max_upload_bytes
    app.state.max_memory = max_memory
    # Host names answered: loopback, plus the address served on; a wildcard address (0.0.0.0) is reached by
    # any of the machine's names, so then every name is answered.
    wildcard = any(h in ("0.0.0.0", "::", "") for h in hosts or [])
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=["*"] if wildcard else LOCAL_HOSTS + list(hosts or []))
    _errors_and_headers(app)
    _page_routes(app)
    _job_routes(app, root, queue, max_upload_bytes)
    _run_routes(app, root)
    return app


def _errors_and_headers(app: FastAPI) -> None:
    @app.exception_handler(VislabError)
    async def vislab_error(_request: Request, e: VislabError) -> JSONResponse:
        code = 404 if isinstance(e, OutsideRuns) else getattr(e, "status", 422)
        return JSONResponse({"error": " ".join(str(e).split())}, status_code=code)

    @app.exception_handler(ClientDisconnect)
    async def gone(_request: Request, _e: ClientDisconnect) -> Response:  # the client left: no one to answer
        return Response(status_code=400)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if request.method == "POST" and request.headers.get("x-vislab") != "1":
            return JSONResponse({"error": "POST requests need the header X-Vislab: 1"}, status_code=403)
        if _from_another_site(request) and not (request.method == "GET" and request.url.path == "/"):
            return JSONResponse({"error": "requests from other sites are refused; open the page itself"},
                                status_code=403)
        response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response


def _page_routes(app: FastAPI) -> None:
    files = resources.files(__package__).joinpath("static")

    @app.get("/")
    def page() -> Response:
        return Response(files.joinpath("index.html").read_bytes(), media_type="text/html",
                        headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store"})

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC:
            raise OutsideRuns(f"no such file: {name!r}")
        return Response(files.joinpath(name).read_bytes(), media_type=STATIC[name],
                        headers={"Cache-Control": "no-store"})

    @app.get("/api/sample/{name}")
    def sample(name: str) -> Response:
        return Response(sample_thumbnail(name), media_type="image/png", headers={"Cache-Control": "max-age=3600"})

    @app.get("/api/info")
    def api_info() -> dict[str, Any]:
        return info(app.state.root, app.state.queue, app.state.max_upload_bytes, app.state.max_memory)


def _job_routes(app: FastAPI, root: Path, queue: JobQueue, max_bytes: int) -> None:
    @app.post("/api/uploads")
    async def upload(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length")
        up = await uploads.receive(root, request.stream(), max_bytes=max_bytes, max_memory=app.state.max_memory,
                                   declared=int(declared) if declared and declared.isdigit() else None,
                                   name=request.query_params.get("name"))
        return JSONResponse({"id": up.ref, "width": up.width, "height": up.height, "name": up.name,
                             "url": f"/uploads/{up.token}.png"}, status_code=201)

    @app.get("/uploads/{name}")
    def uploaded(name: str) -> FileResponse:
        path = root / uploads.UPLOADS / name
        if (not (name.endswith(".png") and uploads.TOKEN.match(name[:-4])) or path.parent.is_symlink()
                or path.is_symlink() or not path.is_file()):
            raise OutsideRuns(f"no such upload: {name!r}")
        return FileResponse(path)

    @app.post("/api/jobs")
    async def submit(request: Request) -> JSONResponse:
        body = await _json_body(request)
        kind, form = (body.get("kind"), body.get("settings", {})) if isinstance(body, dict) else (None, None)
        settings, runner, memory = await run_in_threadpool(_prepare, root, kind, form, app.state.max_memory)
        job = queue.submit(kind, settings, runner, memory)
        return JSONResponse(snapshot(root, queue, job), status_code=202)

    @app.get("/api/jobs")
    def job_list() -> list[dict[str, Any]]:
        return [snapshot(root, queue, j, full=False) for j in reversed(list(queue.jobs.values()))]

    @app.get("/api/jobs/{job_id}")
    def job_state(job_id: str) -> dict[str, Any]:
        return snapshot(root, queue, _job(queue, job_id))

    @app.post("/api/jobs/{job_id}/cancel")
    def cancel(job_id: str) -> dict[str, Any]:
        job = _job(queue, job_id)
        queue.cancel(job)
        return snapshot(root, queue, job)

    @app.get("/api/jobs/{job_id}/preview")
    def preview(job_id: str) -> Response:
        png = _job(queue, job_id).preview_png
        if png is None:
            return JSONResponse({"error": "no picture yet"}, status_code=404)
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


def _run_routes(app: FastAPI, root: Path) -> None:
    @app.get("/api/runs")
    def runs_list() -> list[dict[str, Any]]:
        return history.list_runs(root)

    @app.get("/api/view/{rel:path}")
    def run_view(rel: str) -> dict[str, Any]:
        folder = run_folder(root, rel)
        return result_view(root, folder, history.run_kind(folder) or "", None)

    @app.get("/runs/{rel:path}")
    async def run_file(rel: str) -> Response:
        if rel.endswith("/report"):  # rendered in memory: a GET never writes into a run folder
            folder = run_folder(root, rel.removesuffix("/report"))
            page = await run_in_threadpool(report_page, folder)
            return Response(page, media_type="text/html",
                            headers={"Content-Security-Policy": RUN_FILES_CSP, "Cache-Control": "no-store"})
        path = inside(root, rel, "file")
        if not path.is_file():
            raise OutsideRuns(f"no such file: {rel!r}")
        return FileResponse(path, headers={"Content-Security-Policy": RUN_FILES_CSP})


async def _json_body(request: Request, limit: int = MAX_JSON_BYTES) -> Any:
    """The request's JSON, read at most `limit` bytes far (a form is a few hundred bytes)."""
    import json

    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise uploads.UploadError(f"the request is larger than {limit // 1024} kB", 413)
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise VislabError('the request body must be JSON: {"kind": ..., "settings": {...}}') from None


def _prepare(root: Path, kind: Any, form: Any, max_memory: int) -> tuple[Any, Any, int]:
    """The job's checked settings, its ``run`` and its memory estimate (refused when over `max_memory`)."""
    settings = capabilities.build_settings(kind, form, root, lambda rel, k: history.find_checkpoint(root, rel, k))
    memory = limits.check_job_memory(settings, root, max_memory)
    return settings, capabilities.runner(kind), memory


def report_page(folder: Path) -> str:
    """The ``vislab report`` page of one run folder as text, laid out as if it were the folder's index.html
    (its links are relative to the folder, as ``/runs/<run>/report`` is)."""
    from ..report import find_runs, scan_run
    from ..report.html import render
    from ..report.safefiles import real_path

    page = folder / "index.html"
    runs = [scan_run(p, exclude={real_path(page)}) for p in find_runs([folder])]
    return render(runs, page)


def _names(root: Path, job: Job) -> dict[str, str]:
    """{upload token: original file name} of the uploads the job reads (the page labels them by these)."""
    import dataclasses

    if job.names is None:  # once: the page polls twice a second
        try:
            values = [getattr(job.settings, f.name) for f in dataclasses.fields(job.settings)]
        except TypeError:  # not a dataclass (tests may submit anything)
            values = []
        job.names = uploads.upload_names(root, values)
    return job.names


def _from_another_site(request: Request) -> bool:
    """Whether the browser says the request comes from a page of another site (or another port here)."""
    if request.headers.get("sec-fetch-site") in ("cross-site", "same-site"):
        return True
    origin = request.headers.get("origin")
    if origin is None:
        return False
    from urllib.parse import urlsplit

    return urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower()


def _job(queue: JobQueue, job_id: str) -> Job:
    job = queue.jobs.get(job_id)
    if job is None:
        raise OutsideRuns(f"no such job: {job_id!r}")
    return job


def snapshot(root: Path, queue: JobQueue, job: Job, full: bool = True) -> dict[str, Any]:
    """What the page polls: state, place in the queue, progress numbers and, once finished, the result."""
    out: dict[str, Any] = {
        "id": job.id, "kind": job.kind, "state": job.state, "message": job.message,
        "position": queue.position(job), "step": job.step, "total": job.total, "numbers": job.numbers,
        "preview": f"/api/jobs/{job.id}/preview?n={job.preview_count}" if job.preview_png else None,
        "run": job.id if job.run_dir.is_dir() else None, "created": job.created, "started": job.started,
        "finished": job.finished, "command": job.command, "names": _names(root, job)}
    if out["run"]:
        out["report"] = f"/runs/{job.id}/report"
    if full and job.is_final and (job.run_dir / "status.json").is_file():
        out["result"] = result_view(root, job.run_dir, job.kind, job.result)
    return out
