"""The studio's requests, one group per page: read the body, take the run's loaded model (and its
lock), call the page's module in a worker thread, answer JSON or a stream of Server-Sent Events.
Each takes the `server.Studio` the routes share; server.py puts them together with the page, the guard
and the error handling.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, StreamingResponse
from starlette.routing import Route

from nn2gpt.errors import UserError
from nn2gpt.studio import checks, digits, embeddings, gpt, lab, translate
from nn2gpt.studio.guard import resolve_run
from nn2gpt.studio.runs import identity, signature

MAX_BODY = 2_000_000  # bytes: a 512x512 canvas of grey levels fits; the page sends 140x140


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


async def answer(fn, *args, lock=None, stamp=None) -> JSONResponse:
    """fn(*args) in a worker thread (a forward pass must not stall the event loop), as JSON;
    holding `lock` if one is given; with `stamp` (`Studio.stamp`: the run and its model's identity) added."""
    def call():
        with lock or contextlib.nullcontext():
            return fn(*args)
    result = await run_in_threadpool(call)
    return JSONResponse(result | stamp if stamp else result)


def page_routes(studio) -> list:
    """One chapter's requests each: read the body, take the run's loaded model, call the page's module."""
    async def model_of(request, kind: str, body: dict | None = None):
        name = (body if body is not None else request.query_params).get("run")
        return await run_in_threadpool(studio.model, name, kind)

    def stamp(request, model, body=None):
        return studio.stamp((body if body is not None else request.query_params).get("run"), model)

    async def digits_predict(request):
        body = await body_of(request)
        net, _ = await model_of(request, "digits", body)
        return await answer(digits.predict, net, digits.canvas_gray(body), stamp=stamp(request, net, body))

    async def digits_gallery(request):
        net, _ = await model_of(request, "digits")
        return await answer(studio.gallery.misclassified, net, stamp=stamp(request, net))

    async def digits_test(request):
        net, _ = await model_of(request, "digits")
        return await answer(studio.gallery.test_digit, net, _int(request.query_params.get("index", "")),
                            stamp=stamp(request, net))

    async def digits_neuron(request):
        net, _ = await model_of(request, "digits")
        return await answer(digits.neuron, net, _int(request.query_params.get("neuron", "")), stamp=stamp(request, net))

    async def gpt_of(body: dict):
        return await run_in_threadpool(studio.looked_into, body.get("run"), "gpt")

    async def gpt_generate(request):
        body = await body_of(request)
        (model, tok, _), lock = await gpt_of(body)
        events = await run_in_threadpool(gpt.generate_events, model, tok, body.get("prompt"), gpt.sampling(body),
                                         lock)
        events = itertools.chain([gpt.event({"type": "model"} | stamp(request, model, body))], events)
        return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    async def gpt_inspect(request):
        body = await body_of(request)
        (model, tok, _), lock = await gpt_of(body)
        return await answer(gpt.inspect, model, tok, body.get("text"), body.get("position"),
                            gpt.display_settings(body), body.get("heads_off"), lock=lock,
                            stamp=stamp(request, model, body))

    async def gpt_next(request):
        body = await body_of(request)
        (model, tok, _), lock = await gpt_of(body)
        return await answer(gpt.next_only, model, tok, body.get("text"), body.get("position"),
                            gpt.display_settings(body), body.get("heads_off"), lock=lock,
                            stamp=stamp(request, model, body))

    async def gpt_shapes(request):
        body = await body_of(request)
        (model, tok, _), lock = await gpt_of(body)
        return await answer(gpt.shapes, model, tok, body.get("text") or "ROMEO:", lock=lock,
                            stamp=stamp(request, model, body))

    async def gpt_tokens(request):
        body = await body_of(request)
        (_, tok, _), _ = await gpt_of(body)
        return await answer(gpt.tokens, tok, body.get("text"))

    async def embeddings_map(request):
        model, tok, _ = await model_of(request, "gpt")
        return await answer(embeddings.embedding_map, model, tok, stamp=stamp(request, model))

    async def embeddings_neighbours(request):
        body = await body_of(request)
        model, tok, _ = await model_of(request, "gpt", body)
        return await answer(embeddings.nearest, model, tok, body, stamp=stamp(request, model, body))

    async def translate_info(request):
        model, _, config = await model_of(request, "translate")
        lang = translate.source_language(config)
        return JSONResponse({"source_language": lang, "example": translate.PIZZA.get(lang, ""),
                             "slip": translate.SLIP.get(lang, "")} | stamp(request, model))

    async def translator(body: dict):
        return await run_in_threadpool(studio.looked_into, body.get("run"), "translate")

    async def translate_run(request):
        body = await body_of(request)
        (model, tok, _), lock = await translator(body)
        return await answer(translate.translate, model, tok, body.get("sentence"), body.get("beam", 4),
                            body.get("heads_off"), lock=lock, stamp=stamp(request, model, body))

    async def translate_score(request):
        body = await body_of(request)
        (model, tok, _), lock = await translator(body)
        return await answer(translate.score, model, tok, body.get("sentence"), body.get("translation"),
                            body.get("heads_off"), lock=lock, stamp=stamp(request, model, body))

    return [Route("/api/digits/predict", digits_predict, methods=["POST"]),
            Route("/api/digits/misclassified", digits_gallery),
            Route("/api/digits/neuron", digits_neuron),
            Route("/api/digits/test", digits_test),
            Route("/api/gpt/generate", gpt_generate, methods=["POST"]),
            Route("/api/gpt/inspect", gpt_inspect, methods=["POST"]),
            Route("/api/gpt/next", gpt_next, methods=["POST"]),
            Route("/api/gpt/shapes", gpt_shapes, methods=["POST"]),
            Route("/api/gpt/tokens", gpt_tokens, methods=["POST"]),
            Route("/api/embeddings/map", embeddings_map),
            Route("/api/embeddings/neighbours", embeddings_neighbours, methods=["POST"]),
            Route("/api/translate/info", translate_info),
            Route("/api/translate", translate_run, methods=["POST"]),
            Route("/api/translate/score", translate_score, methods=["POST"])]


def lab_routes(studio) -> list:
    async def report(request):
        name = request.query_params.get("run")

        def read():  # stamped as a model's answer is: the page sees a lab run again into its folder
            run = resolve_run(studio.runs_dir, name)
            stamp = {"run": name, "identity": identity(signature(run, "lab"))}  # before the read: never newer
            return {"html": lab.report_html(run, name)} | stamp
        return await answer(read)

    async def picture(request):
        run = resolve_run(studio.runs_dir, request.query_params.get("run"))
        return FileResponse(lab.picture(run, request.query_params.get("name")))

    async def toy(request):
        body = await body_of(request)
        return await answer(lab.toy, body.get("score"), body.get("head_size"), body.get("T", 8), body.get("seed", 0))

    return [Route("/api/lab/report", report), Route("/api/lab/file", picture),
            Route("/api/lab/toy", toy, methods=["POST"])]


def train_routes(studio) -> list:
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
