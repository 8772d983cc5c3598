"""The web app: the page, its JSON API and the run folders' files, as one FastAPI application.

    app = create_app(Path("runs"), workers=1)     # starlette's TestClient drives it in-process

Routes: ``GET /`` the page; ``POST /api/uploads`` a picture (the raw body); ``POST /api/jobs`` ``{"kind",
"settings"}``; ``GET /api/jobs/{id}`` state, place in the queue, progress, result; ``POST
/api/jobs/{id}/cancel``; ``GET /api/jobs/{id}/preview`` the picture as it forms; ``GET /api/runs`` the history;
``GET /runs/<run>/<file>`` a run's files and ``GET /runs/<run>/report`` its ``vislab report`` page. Errors are
``{"error": "one line"}``. Every POST must carry the header ``X-Vislab: 1``: a page on another site cannot send it
without the browser asking first (and this server never says yes), so other sites cannot start jobs here.
"""

from __future__ import annotations

import contextlib
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.middleware.trustedhost import TrustedHostMiddleware

from ..errors import DataError, VislabError
from . import capabilities, history, uploads
from .job import Job
from .paths import OutsideRuns, inside, run_folder
from .queue import JobQueue
from .recovery import mark_abandoned
from .routes_info import info, sample_thumbnail
from .views import result_view

STATIC = {"app.js": "text/javascript", "app.css": "text/css"}
PAGE_CSP = "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; connect-src 'self'"
RUN_FILES_CSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"
"""Files from run folders (reports included) never run scripts: a run folder copied from elsewhere could hold a
page that would otherwise act on this server with the page's rights."""
MAX_JSON_BYTES = 64 * 1024
LOCAL_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]", "testserver"]


def create_app(root: Path, *, workers: int = 1, threads: int | None = None,
               max_upload_bytes: int = uploads.DEFAULT_MAX_BYTES, hosts: list[str] | None = None) -> FastAPI:
    """The app serving run folder `root` (made if missing) with a queue of `workers` job threads, each running
    torch at `threads` threads. `hosts`: the Host names it answers (besides loopback); guards against DNS
    rebinding."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    mark_abandoned(root)
    queue = JobQueue(root, workers, threads)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        await run_in_threadpool(queue.shutdown)

    app = FastAPI(title="vislab", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.queue, app.state.root, app.state.max_upload_bytes = queue, root, max_upload_bytes
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

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if request.method == "POST" and request.headers.get("x-vislab") != "1":
            return JSONResponse({"error": "POST requests need the header X-Vislab: 1"}, status_code=403)
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
        return info(app.state.root, app.state.queue, app.state.max_upload_bytes)


def _job_routes(app: FastAPI, root: Path, queue: JobQueue, max_bytes: int) -> None:
    @app.post("/api/uploads")
    async def upload(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length")
        up = await uploads.receive(root, request.stream(), max_bytes=max_bytes,
                                   declared=int(declared) if declared and declared.isdigit() else None)
        return JSONResponse({"id": up.ref, "width": up.width, "height": up.height,
                             "url": f"/uploads/{up.token}.png"}, status_code=201)

    @app.get("/uploads/{name}")
    def uploaded(name: str) -> FileResponse:
        path = root / uploads.UPLOADS / name
        if not (name.endswith(".png") and uploads.TOKEN.match(name[:-4])) or path.is_symlink() or not path.is_file():
            raise OutsideRuns(f"no such upload: {name!r}")
        return FileResponse(path)

    @app.post("/api/jobs")
    async def submit(request: Request) -> JSONResponse:
        body = await _json_body(request)
        kind, form = (body.get("kind"), body.get("settings", {})) if isinstance(body, dict) else (None, None)
        settings, runner = await run_in_threadpool(_prepare, root, kind, form)  # imports the job's module
        job = queue.submit(kind, settings, runner)
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
        from ..runs import run_kind

        return result_view(root, folder, run_kind(folder) or "", None)

    @app.get("/runs/{rel:path}")
    async def run_file(rel: str) -> Response:
        if rel.endswith("/report"):
            folder = run_folder(root, rel.removesuffix("/report"))
            from ..report import build_report

            try:
                await run_in_threadpool(build_report, [folder], folder / "index.html")
            except OSError as e:  # a read-only or full disk: say so on the page
                raise DataError(f"cannot write the report page of {rel.removesuffix('/report')!r} "
                                f"({e.strerror or e})") from None
            return RedirectResponse(f"/runs/{rel.removesuffix('/report')}/index.html", status_code=303)
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


def _prepare(root: Path, kind: Any, form: Any) -> tuple[Any, Any]:
    settings = capabilities.build_settings(kind, form, root, lambda rel, k: history.find_checkpoint(root, rel, k))
    return settings, capabilities.runner(kind)


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
        "finished": job.finished}
    if out["run"]:
        out["report"] = f"/runs/{job.id}/report"
    if full and job.is_final and (job.run_dir / "status.json").is_file():
        out["result"] = result_view(root, job.run_dir, job.kind, job.result)
    return out
