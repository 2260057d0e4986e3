"""The studio's server: a JSON API over the runs (its requests in api.py), and the page that calls it.

Every answer is JSON, a stream of Server-Sent Events, a picture, or the page's own static
files. A mistake the user can fix (a `UserError` anywhere below) is an HTTP 400 with
{"error": "one line naming the problem and the fix"}, never a stack trace; a request another
website made is a 403 (see guard.py); a second training run is a 409.
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from nn2gpt.errors import UserError
from nn2gpt.studio import digits
from nn2gpt.studio.guard import Forbidden, Guard, resolve_run
from nn2gpt.studio.api import lab_routes, page_routes, train_routes
from nn2gpt.studio.jobs import Busy, Jobs
from nn2gpt.studio.lens import lens_routes
from nn2gpt.studio.runs import TRAIN_ONE, Models, find_runs

STATIC = Path(__file__).parent / "static"
# Only the page's own scripts and styles run; pictures come from here; no other page may frame it.
CSP = (b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


@dataclass
class StudioConfig:
    runs: str = "runs"
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: str | None = None
    threads: int | None = None  # PyTorch's threads for every answer (nn2gpt studio --threads); None: passes.threads


class Studio:
    """The state the routes share: where the runs are, the loaded models, the training job."""

    def __init__(self, cfg: StudioConfig):
        self.cfg = cfg
        self.runs_dir = Path(cfg.runs)
        self.models = Models(cfg.data_dir)
        self.gallery = digits.Gallery(cfg.data_dir)
        self.jobs = Jobs(self.runs_dir, cfg.data_dir)

    def model(self, name, kind: str):
        return self.models.get(resolve_run(self.runs_dir, name), kind)

    def looked_into(self, name, kind: str):
        """(the run's model, the lock every pass that hooks into it holds)."""
        run = resolve_run(self.runs_dir, name)
        return self.models.get(run, kind), self.models.lock(run)

    def stamp(self, name, model) -> dict:
        """What a model answer carries, so the page can tell a run retrained or rewritten since: the run's name
        and the identity of the model that computed the answer (`model` as `model` or `looked_into` gave it)."""
        return {"run": name, "identity": self.models.identity(resolve_run(self.runs_dir, name), model)}


def routes(studio: Studio) -> list:
    async def index(request):
        return FileResponse(STATIC / "index.html")

    async def runs(request):
        found = await run_in_threadpool(find_runs, studio.runs_dir)
        job = studio.jobs.job
        for run in found.get(job.chapter, []) if job and job.status == "running" else []:
            run["training"] = run["name"] == job.name  # its checkpoints change under the page: it says so
        train = {k: v.format(runs=studio.cfg.runs) for k, v in TRAIN_ONE.items()}
        return JSONResponse({"runs": found, "runs_dir": studio.cfg.runs, "train_one": train})

    return [Route("/", index), Route("/api/runs", runs), *page_routes(studio), *lab_routes(studio),
            *train_routes(studio), *lens_routes(studio), Mount("/static", StaticFiles(directory=STATIC), name="static")]


class Checked:
    """ASGI middleware: every HTTP request passes the guard first (403 otherwise)."""

    def __init__(self, app, guard: Guard):
        self.app, self.guard = app, guard

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            try:
                self.guard.check(scope["method"], Headers(scope=scope))
            except Forbidden as e:
                return await JSONResponse({"error": str(e)}, status_code=403)(scope, receive, send)

            async def send_with_headers(message):
                if message["type"] == "http.response.start":
                    message.setdefault("headers", [])
                    message["headers"] = [*message["headers"], (b"x-content-type-options", b"nosniff"),
                                          (b"referrer-policy", b"no-referrer"), (b"content-security-policy", CSP)]
                await send(message)
            return await self.app(scope, receive, send_with_headers)
        return await self.app(scope, receive, send)


def make_app(cfg: StudioConfig) -> Starlette:
    studio = Studio(cfg)
    guard = Guard(cfg.host, cfg.port)

    async def user_error(request, exc):
        from nn2gpt.cli import one_line

        return JSONResponse({"error": one_line(str(exc))}, status_code=400)

    async def busy(request, exc):
        return JSONResponse({"error": str(exc)}, status_code=409)

    async def forbidden(request, exc):
        return JSONResponse({"error": str(exc)}, status_code=403)

    async def failed(request, exc):  # a bug of ours: still one line on the page, never a stack trace
        from nn2gpt.cli import one_line

        return JSONResponse({"error": one_line(f"the studio failed on this request ({type(exc).__name__}: {exc})")},
                            status_code=500)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        await run_in_threadpool(studio.jobs.shutdown)  # a training run saves before the server goes

    app = Starlette(routes=routes(studio), lifespan=lifespan,
                    exception_handlers={UserError: user_error, Busy: busy, Forbidden: forbidden, OSError: user_error,
                                        Exception: failed})

    app.add_middleware(Checked, guard=guard)
    app.state.studio = studio
    return app


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the server starts, so a port in use is one clear line."""
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as e:
        raise UserError(f"--host {host!r} is not an address of this machine ({e}); use 127.0.0.1 or 0.0.0.0") from None
    sock = socket.socket(info[0], socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(info[4])
    except OSError as e:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port} ({e.strerror or e}); is another studio running? "
                        f"pass another --port (0 picks a free one)") from None
    sock.listen(64)
    return sock


def use_threads(cfg: StudioConfig) -> None:
    """PyTorch's intra-op threads, set once for the whole process: --threads for every answer, or one, with
    the costly passes over a whole text widened to the free cores (`passes.threads`)."""
    import torch

    from nn2gpt.studio import passes

    torch.set_num_threads(cfg.threads or 1)
    passes.widen = cfg.threads is None


def serve(cfg: StudioConfig, announce=print) -> int:
    """Run the studio until Ctrl-C."""
    import uvicorn

    use_threads(cfg)
    sock = bind(cfg.host, cfg.port)
    cfg.port = sock.getsockname()[1]
    shown = f"[{cfg.host}]" if ":" in cfg.host else cfg.host
    where = "localhost" if cfg.host in ("0.0.0.0", "::") else shown
    announce(f"nn2gpt studio: http://{where}:{cfg.port}/  (runs in {cfg.runs}/; Ctrl-C to stop)")
    if cfg.host in ("0.0.0.0", "::", ""):
        announce("warning: the studio listens on every interface and has no login: anyone who can reach this "
                 "machine can use it and start training runs")
    server = uvicorn.Server(uvicorn.Config(make_app(cfg), log_level="warning", access_log=False,
                                           timeout_graceful_shutdown=5))
    server.run(sockets=[sock])
    return 0
