"""The studio's routes: a JSON API over the runs, and the page that calls it.

Every answer is JSON, a stream of Server-Sent Events, a picture, or the page's own static
files. A mistake the user can fix (a `UserError` anywhere below) is an HTTP 400 with
{"error": "one line naming the problem and the fix"}, never a stack trace; a request another
website made is a 403 (see guard.py); a second training run is a 409.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from nn2gpt.errors import UserError
from nn2gpt.studio import digits, gpt, lab, translate
from nn2gpt.studio.guard import Forbidden, Guard, resolve_run
from nn2gpt.studio.jobs import Busy, Jobs
from nn2gpt.studio.runs import TRAIN_ONE, Models, find_runs

STATIC = Path(__file__).parent / "static"
MAX_BODY = 1_000_000  # bytes: a 1024x1024 canvas fits, anything bigger is not a drawing


@dataclass
class StudioConfig:
    runs: str = "runs"
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: str | None = None


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


async def body_of(request: Request) -> dict:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise UserError(f"the request is {len(raw):,} bytes; the studio takes at most {MAX_BODY:,}")
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise UserError("the request is not JSON; send it from the studio's page") from None
    if not isinstance(body, dict):
        raise UserError("the request must be a JSON object")
    return body


def routes(studio: Studio) -> list:
    async def index(request):
        return FileResponse(STATIC / "index.html")

    async def runs(request):
        found = await run_in_threadpool(find_runs, studio.runs_dir)
        train = {k: v.format(runs=studio.cfg.runs) for k, v in TRAIN_ONE.items()}
        return JSONResponse({"runs": found, "runs_dir": studio.cfg.runs, "train_one": train})

    # ---- digits ----------------------------------------------------------------------------
    async def digits_predict(request):
        body = await body_of(request)
        net, _ = await run_in_threadpool(studio.model, body.get("run"), "digits")
        return JSONResponse(await run_in_threadpool(digits.predict, net, digits.canvas_gray(body)))

    async def digits_gallery(request):
        net, _ = await run_in_threadpool(studio.model, request.query_params.get("run"), "digits")
        return JSONResponse(await run_in_threadpool(studio.gallery.misclassified, net))

    # ---- gpt -------------------------------------------------------------------------------
    async def gpt_generate(request):
        body = await body_of(request)
        model, tok, _ = await run_in_threadpool(studio.model, body.get("run"), "gpt")
        events = await run_in_threadpool(gpt.generate_events, model, tok, body.get("prompt"), gpt.sampling(body))
        return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    async def gpt_inspect(request):
        body = await body_of(request)
        model, tok, _ = await run_in_threadpool(studio.model, body.get("run"), "gpt")
        return JSONResponse(await run_in_threadpool(gpt.inspect, model, tok, body.get("text"), body.get("position")))

    async def gpt_shapes(request):
        body = await body_of(request)
        model, tok, _ = await run_in_threadpool(studio.model, body.get("run"), "gpt")
        return JSONResponse(await run_in_threadpool(gpt.shapes, model, tok, body.get("text") or "ROMEO:"))

    # ---- translate -------------------------------------------------------------------------
    async def translate_info(request):
        _, _, config = await run_in_threadpool(studio.model, request.query_params.get("run"), "translate")
        lang = translate.source_language(config)
        return JSONResponse({"source_language": lang, "example": translate.PIZZA.get(lang, "")})

    async def translate_run(request):
        body = await body_of(request)
        model, tok, _ = await run_in_threadpool(studio.model, body.get("run"), "translate")
        return JSONResponse(await run_in_threadpool(translate.translate, model, tok, body.get("sentence"),
                                                    body.get("beam", 4)))

    async def translate_score(request):
        body = await body_of(request)
        model, tok, _ = await run_in_threadpool(studio.model, body.get("run"), "translate")
        return JSONResponse(await run_in_threadpool(translate.score, model, tok, body.get("sentence"),
                                                    body.get("translation")))

    # ---- lab -------------------------------------------------------------------------------
    async def lab_report(request):
        name = request.query_params.get("run")
        run = resolve_run(studio.runs_dir, name)
        return JSONResponse({"html": await run_in_threadpool(lab.report_html, run, name)})

    async def lab_file(request):
        run = resolve_run(studio.runs_dir, request.query_params.get("run"))
        return FileResponse(lab.picture(run, request.query_params.get("name")))

    async def lab_toy(request):
        body = await body_of(request)
        return JSONResponse(await run_in_threadpool(lab.toy, body.get("score"), body.get("head_size"),
                                                    body.get("T", 8), body.get("seed", 0)))

    # ---- training --------------------------------------------------------------------------
    async def train_start(request):
        body = await body_of(request)
        job = await run_in_threadpool(studio.jobs.start, body.get("chapter"), body.get("name"), body.get("fields"))
        return JSONResponse(job.public())

    async def train_stop(request):
        return JSONResponse(studio.jobs.stop())

    async def train_state(request):
        job = studio.jobs.job
        return JSONResponse({"job": job.public() if job else None})

    async def train_events(request):
        try:
            after = max(0, int(request.query_params.get("after", "0")))
        except ValueError:
            raise UserError("after must be a whole number") from None

        async def stream():
            n = after
            while True:
                for e in studio.jobs.events_after(n):
                    n = e["n"] + 1
                    yield gpt.event(e)
                    if e["type"] == "end":
                        return
                if await request.is_disconnected():
                    return
                await asyncio.sleep(0.25)
        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    return [Route("/", index), Route("/api/runs", runs),
            Route("/api/digits/predict", digits_predict, methods=["POST"]),
            Route("/api/digits/misclassified", digits_gallery),
            Route("/api/gpt/generate", gpt_generate, methods=["POST"]),
            Route("/api/gpt/inspect", gpt_inspect, methods=["POST"]),
            Route("/api/gpt/shapes", gpt_shapes, methods=["POST"]),
            Route("/api/translate/info", translate_info),
            Route("/api/translate", translate_run, methods=["POST"]),
            Route("/api/translate/score", translate_score, methods=["POST"]),
            Route("/api/lab/report", lab_report), Route("/api/lab/file", lab_file),
            Route("/api/lab/toy", lab_toy, methods=["POST"]),
            Route("/api/train", train_state), Route("/api/train/start", train_start, methods=["POST"]),
            Route("/api/train/stop", train_stop, methods=["POST"]),
            Route("/api/train/events", train_events),
            Mount("/static", StaticFiles(directory=STATIC), name="static")]


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
                                          (b"referrer-policy", b"no-referrer")]
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

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        await run_in_threadpool(studio.jobs.shutdown)  # a training run saves before the server goes

    app = Starlette(routes=routes(studio), lifespan=lifespan,
                    exception_handlers={UserError: user_error, Busy: busy, Forbidden: forbidden, OSError: user_error})

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


def serve(cfg: StudioConfig, announce=print) -> int:
    """Run the studio until Ctrl-C."""
    import uvicorn

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
