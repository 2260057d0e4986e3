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
from nn2gpt.studio import checks, digits, gpt, lab, translate
from nn2gpt.studio.guard import Forbidden, Guard, resolve_run
from nn2gpt.studio.jobs import Busy, Jobs
from nn2gpt.studio.runs import TRAIN_ONE, Models, find_runs

STATIC = Path(__file__).parent / "static"
MAX_BODY = 2_000_000  # bytes: a 512x512 canvas of grey levels fits; the page sends 140x140
# Only the page's own scripts and styles run; pictures come from here; no other page may frame it.
CSP = (b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


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

    def looked_into(self, name, kind: str):
        """(the run's model, the lock every pass that hooks into it holds)."""
        run = resolve_run(self.runs_dir, name)
        return self.models.get(run, kind), self.models.lock(run)


async def body_of(request: Request) -> dict:
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > MAX_BODY:
        raise UserError(f"the request is {declared} bytes; the studio takes at most {MAX_BODY:,}")
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise UserError(f"the request is {len(raw):,} bytes; the studio takes at most {MAX_BODY:,}")
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        raise UserError("the request is not JSON; send it from the studio's page") from None
    if not isinstance(body, dict):
        raise UserError("the request must be a JSON object")
    return body


async def answer(fn, *args, lock=None) -> JSONResponse:
    """fn(*args) in a worker thread (a forward pass must not stall the event loop), as JSON;
    holding `lock` if one is given."""
    def call():
        with lock or contextlib.nullcontext():
            return fn(*args)
    return JSONResponse(await run_in_threadpool(call))


def page_routes(studio: Studio) -> list:
    """One chapter's requests each: read the body, take the run's loaded model, call the page's module."""
    async def model_of(request, kind: str, body: dict | None = None):
        name = (body if body is not None else request.query_params).get("run")
        return await run_in_threadpool(studio.model, name, kind)

    async def digits_predict(request):
        body = await body_of(request)
        net, _ = await model_of(request, "digits", body)
        return await answer(digits.predict, net, digits.canvas_gray(body))

    async def digits_gallery(request):
        net, _ = await model_of(request, "digits")
        return await answer(studio.gallery.misclassified, net)

    async def digits_neuron(request):
        net, _ = await model_of(request, "digits")
        return await answer(digits.neuron, net, _int(request.query_params.get("neuron", "")))

    async def gpt_of(body: dict):
        return await run_in_threadpool(studio.looked_into, body.get("run"), "gpt")

    async def gpt_generate(request):
        body = await body_of(request)
        (model, tok, _), lock = await gpt_of(body)
        events = await run_in_threadpool(gpt.generate_events, model, tok, body.get("prompt"), gpt.sampling(body),
                                         lock)
        return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    async def gpt_inspect(request):
        body = await body_of(request)
        (model, tok, _), lock = await gpt_of(body)
        return await answer(gpt.inspect, model, tok, body.get("text"), body.get("position"),
                            gpt.display_settings(body), body.get("heads_off"), lock=lock)

    async def gpt_next(request):
        body = await body_of(request)
        (model, tok, _), lock = await gpt_of(body)
        return await answer(gpt.next_only, model, tok, body.get("text"), body.get("position"),
                            gpt.display_settings(body), body.get("heads_off"), lock=lock)

    async def gpt_shapes(request):
        body = await body_of(request)
        (model, tok, _), lock = await gpt_of(body)
        return await answer(gpt.shapes, model, tok, body.get("text") or "ROMEO:", lock=lock)

    async def gpt_tokens(request):
        body = await body_of(request)
        (_, tok, _), _ = await gpt_of(body)
        return await answer(gpt.tokens, tok, body.get("text"))

    async def translate_info(request):
        _, _, config = await model_of(request, "translate")
        lang = translate.source_language(config)
        return JSONResponse({"source_language": lang, "example": translate.PIZZA.get(lang, ""),
                             "slip": translate.SLIP.get(lang, "")})

    async def translator(body: dict):
        return await run_in_threadpool(studio.looked_into, body.get("run"), "translate")

    async def translate_run(request):
        body = await body_of(request)
        (model, tok, _), lock = await translator(body)
        return await answer(translate.translate, model, tok, body.get("sentence"), body.get("beam", 4),
                            body.get("heads_off"), lock=lock)

    async def translate_score(request):
        body = await body_of(request)
        (model, tok, _), lock = await translator(body)
        return await answer(translate.score, model, tok, body.get("sentence"), body.get("translation"),
                            body.get("heads_off"), lock=lock)

    return [Route("/api/digits/predict", digits_predict, methods=["POST"]),
            Route("/api/digits/misclassified", digits_gallery),
            Route("/api/digits/neuron", digits_neuron),
            Route("/api/gpt/generate", gpt_generate, methods=["POST"]),
            Route("/api/gpt/inspect", gpt_inspect, methods=["POST"]),
            Route("/api/gpt/next", gpt_next, methods=["POST"]),
            Route("/api/gpt/shapes", gpt_shapes, methods=["POST"]),
            Route("/api/gpt/tokens", gpt_tokens, methods=["POST"]),
            Route("/api/translate/info", translate_info),
            Route("/api/translate", translate_run, methods=["POST"]),
            Route("/api/translate/score", translate_score, methods=["POST"])]


def lab_routes(studio: Studio) -> list:
    async def report(request):
        name = request.query_params.get("run")
        return await answer(lambda: {"html": lab.report_html(resolve_run(studio.runs_dir, name), name)})

    async def picture(request):
        run = resolve_run(studio.runs_dir, request.query_params.get("run"))
        return FileResponse(lab.picture(run, request.query_params.get("name")))

    async def toy(request):
        body = await body_of(request)
        return await answer(lab.toy, body.get("score"), body.get("head_size"), body.get("T", 8), body.get("seed", 0))

    return [Route("/api/lab/report", report), Route("/api/lab/file", picture),
            Route("/api/lab/toy", toy, methods=["POST"])]


def train_routes(studio: Studio) -> list:
    """Start, stop and watch the one training job; /events streams every event after `after`."""
    async def start(request):
        body = await body_of(request)
        job = await run_in_threadpool(studio.jobs.start, body.get("chapter"), body.get("name"), body.get("fields"))
        return JSONResponse(job.public())

    async def stop(request):
        return JSONResponse(studio.jobs.stop())

    async def state(request):
        job = studio.jobs.job
        return JSONResponse({"job": job.public() if job else None})

    async def events(request):
        after = checks.number({"after": _int(request.query_params.get("after", "0"))}, "after", int, 0, 10**9)
        resumed = _int(request.headers.get("last-event-id", ""))  # a browser reconnecting says where it was
        if resumed is not None and resumed >= 0:
            after = max(after, resumed + 1)

        job_id = _int(request.query_params.get("job", ""))  # the job this tab watches (None: the current one)

        async def stream():
            n = after
            while True:
                found = studio.jobs.events_after(n, job_id)
                if found is None:  # a newer run replaced it: the tab asks for the current job again
                    yield gpt.event({"type": "gone"})
                    return
                for e in found:
                    n = e["n"] + 1
                    yield gpt.event(e)
                    if e["type"] == "end":
                        return
                if await request.is_disconnected():
                    return
                await asyncio.sleep(0.25)
        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    return [Route("/api/train", state), Route("/api/train/start", start, methods=["POST"]),
            Route("/api/train/stop", stop, methods=["POST"]), Route("/api/train/events", events)]


def _int(text: str):
    try:
        return int(text)
    except ValueError:
        return None


def routes(studio: Studio) -> list:
    async def index(request):
        return FileResponse(STATIC / "index.html")

    async def runs(request):
        found = await run_in_threadpool(find_runs, studio.runs_dir)
        train = {k: v.format(runs=studio.cfg.runs) for k, v in TRAIN_ONE.items()}
        return JSONResponse({"runs": found, "runs_dir": studio.cfg.runs, "train_one": train})

    return [Route("/", index), Route("/api/runs", runs), *page_routes(studio), *lab_routes(studio),
            *train_routes(studio), Mount("/static", StaticFiles(directory=STATIC), name="static")]


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
