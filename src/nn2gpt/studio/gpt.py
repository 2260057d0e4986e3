"""The GPT page: tokens stream in as they are sampled; any position can be opened up.

Generating is `gpt sample`'s own path (`stream_text`: temperature, top-k, top-p, a seed, the KV
cache), sent to the browser as Server-Sent Events, one event per piece of text. Opening a
position `t` is one forward pass over the context the model would read there (at most
block_size tokens ending at t): the logits at t give the next-token distribution, and every
layer's and head's attention row t says how much t read from each earlier token.

The distribution shown is the one the sampler draws from (`filtered_probs`: softmax(logits / T),
then top-k and top-p), so moving the page's temperature and top-k re-shapes it. Every click
reads one kept pass over the whole text (`nn2gpt.studio.passes`), so a new position or a
slider's move is a lookup and a softmax, not a forward pass.
Heads can be turned off (`nn2gpt.nn.ablate.heads_off`: their output zeroed before the output
projection) for any of these passes.
"""

from __future__ import annotations

import codecs
import json
import re
import time

import torch

from nn2gpt.studio import checks, passes

MAX_PROMPT = 10_000  # characters; the model reads only its last block_size tokens anyway
MAX_NEW = 2_000
TOP = 10
THUMB = 24  # the last THUMB x THUMB of every head's map, drawn as its thumbnail


def check_text(text, what: str = "prompt") -> str:
    return checks.text(text, what, MAX_PROMPT, "type a few characters to start from (e.g. ROMEO:)", blank_ok=True)


def sampling(body: dict) -> dict:
    """The request's sampling settings, checked; UserError names the bad one."""
    return {"temperature": checks.number(body, "temperature", float, 0, 10, 1.0),
            "top_k": checks.number(body, "top_k", int, 1, 1_000_000, optional=True),
            "top_p": checks.number(body, "top_p", float, 0.001, 1, optional=True),
            "seed": checks.number(body, "seed", int, 0, 2**32 - 1, optional=True),
            "max_new_tokens": checks.number(body, "max_new_tokens", int, 1, MAX_NEW, 300)}


def pieces_of(tok, ids: list[int]) -> list[str]:
    """Each token's share of the text, so that the pieces join to exactly the decoded text: a GPT-2
    token that ends inside a multi-byte character gets "" and the next token the whole character."""
    if not hasattr(tok, "decode_bytes"):
        return [tok.decode([i]) for i in ids]
    utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pieces = [utf8.decode(tok.decode_bytes([i])) for i in ids]
    if pieces:
        pieces[-1] += utf8.decode(b"", final=True)
    return pieces


def event(payload: dict) -> str:
    """One Server-Sent Event; its id lets a reconnecting browser say where it stopped."""
    head = f"id: {payload['n']}\n" if "n" in payload else ""
    return f"{head}data: {json.dumps(payload)}\n\n"


def generate_events(model, tok, prompt: str, settings: dict, lock):
    """Check everything first (a bad prompt is a 400, not a broken stream), then yield SSE lines.

    Each token is sampled holding the run's lock (another request may be looking inside the same
    model between two tokens), on the free cores for a model of GPT-2's size (passes.token_threads);
    a failure mid-way is an "error" event, not a cut connection."""
    from nn2gpt.cli import one_line
    from nn2gpt.gpt.sample import stream_ids
    from nn2gpt.gpt.tokenizer import prompt_ids, text_pieces

    prompt = check_text(prompt)
    prompt_ids(tok, prompt)  # unknown characters -> UserError now
    counted = []

    def ids():
        steps = stream_ids(model, tok, prompt, settings.pop("max_new_tokens"), **settings)
        while True:
            with lock, passes.token_threads(model):
                token = next(steps, None)
            if token is None:
                return
            counted.append(token)
            yield token

    def events():
        start, text = time.perf_counter(), prompt
        yield event({"type": "start", "prompt": prompt})
        try:
            for piece in text_pieces(tok, ids()):
                text += piece
                yield event({"type": "piece", "text": piece})
        except Exception as e:  # noqa: BLE001 - the page shows it; the stream ends cleanly
            yield event({"type": "error", "error": one_line(f"generation stopped: {e}")})
            return
        seconds, final = time.perf_counter() - start, tok.encode(text)
        yield event({"type": "end", "tokens": pieces_of(tok, final), "new_tokens": len(counted),
                     "tokens_per_s": round(len(counted) / seconds, 1) if seconds > 0 else None})
        with lock:
            passes.ahead(model, final)  # the page shows the text now; its first click will read this pass
    return events()


def tokens(tok, text: str) -> dict:
    """The text as the model reads it, one piece per token (for a text the page did not stream)."""
    return {"tokens": pieces_of(tok, tok.encode(check_text(text, "text")))}


def shown(settings: dict) -> dict:
    """The settings that shape the next-token distribution (the page's temperature, top-k, top-p)."""
    return {k: settings.get(k) for k in ("temperature", "top_k", "top_p")}


def distribution(logits: torch.Tensor, settings: dict) -> torch.Tensor:
    """logits (V,) -> the probabilities (V,) the sampler draws from under `settings`: softmax(logits / T)
    with top-k and top-p applied (gpt sample's own `filtered_probs`); T = 0 puts all on the argmax."""
    from nn2gpt.gpt.generate import filtered_probs

    if settings["temperature"] == 0:
        return torch.nn.functional.one_hot(logits.argmax(), logits.numel()).double()  # (V,)
    probs = filtered_probs(logits[None], settings["temperature"], settings["top_k"], settings["top_p"])[0]  # (V,)
    return probs / probs.sum()


def next_tokens(tok, logits: torch.Tensor, settings: dict, following: int | None) -> dict:
    """The TOP most likely next tokens under `settings`, and the token that does come next in the text
    (the one that was sampled, or typed) with its probability and rank."""
    probs = distribution(logits, settings)  # (V,)
    top = torch.topk(probs, min(TOP, probs.numel()))
    answer = {"next": [{"token": pieces_of(tok, [int(i)])[0], "id": int(i), "p": float(f"{float(p):.4g}"),
                        "logit": round(float(logits[i]), 3)}  # the raw logit, before temperature and softmax
                       for p, i in zip(top.values, top.indices) if p > 0],  # top-k 3: three bars, not ten
              "settings": shown(settings), "following": None}
    if following is not None:
        p = probs[following]
        answer["following"] = {"token": pieces_of(tok, [following])[0], "id": following, "p": float(f"{float(p):.4g}"),
                               "logit": round(float(logits[following]), 3),
                               "rank": int((probs > p).sum()) + 1}
    return answer


def _window(model, tok, text: str, position) -> tuple[list[int], int, int]:
    """(the text's ids, the checked position, where the context the model reads at `position` starts)."""
    ids = tok.encode(check_text(text, "text"))
    position = checks.number({"position": position}, "position", int, 0, len(ids) - 1)
    return ids, position, max(0, position + 1 - model.cfg.block_size)


def _off(model, heads) -> dict:
    from nn2gpt.nn.ablate import attention_layers

    layers = attention_layers(model)
    return checks.heads(heads, len(layers), layers[0][1].n_head if layers else 0)


def inspect(model, tok, text: str, position: int, settings: dict, heads=None) -> dict:
    """Token `position` of `text`: the next-token distribution after it (under the sampling
    settings, with the heads `heads` turned off) and every head's attention row and recent map,
    read from one pass over the text (`passes`: kept, so the next click reads the same pass)."""
    ids, position, start = _window(model, tok, text, position)
    off = _off(model, heads)
    kept, i = passes.at(model, ids, start, position, off)
    following = ids[position + 1] if position + 1 < len(ids) else None
    n_layer, n_head = len(kept.weights), kept.weights[0].size(0) if kept.weights else 0
    attention = passes.attention_at(kept, i, THUMB if n_layer * n_head <= 48 else THUMB // 2)  # rows and thumbnails
    return {"tokens": pieces_of(tok, ids), "position": position, "start": start,
            **next_tokens(tok, kept.logits_at(model, i), settings, following),
            "off": [[l, h] for l in off for h in off[l]], "attention": attention, "n_layer": n_layer, "n_head": n_head}


def next_only(model, tok, text: str, position: int, settings: dict, heads=None) -> dict:
    """The next-token distribution alone (the page's temperature and top-k sliders, the bars with heads
    off): read from the kept pass over the text, so moving a slider is a softmax."""
    ids, position, start = _window(model, tok, text, position)
    kept, i = passes.at(model, ids, start, position, _off(model, heads))
    following = ids[position + 1] if position + 1 < len(ids) else None
    return {"position": position, **next_tokens(tok, kept.logits_at(model, i), settings, following)}


def display_settings(body: dict) -> dict:
    """The sampling settings of a request that only reads the distribution (no token count, no seed)."""
    return {k: v for k, v in sampling(body).items() if k in ("temperature", "top_k", "top_p")}


def shapes(model, tok, text: str) -> dict:
    """What `gpt train --trace` prints: every tensor of one forward pass on `text`, with its shape."""
    from nn2gpt.gpt.trace import trace_forward

    ids = tok.encode(check_text(text, "text"))[-model.cfg.block_size:]
    lines: list[str] = []
    trace_forward(model, torch.tensor([ids]), print_fn=lines.append)  # idx (1, T)
    rows = [re.match(r"(\S+)\s+(\(.*?\))\s*(.*)$", line) for line in lines]  # name (shape) dims
    return {"T": len(ids), "rows": [{"name": r[1], "shape": r[2], "dims": r[3]} for r in rows if r],
            "config": {k: getattr(model.cfg, k) for k in ("model", "n_layer", "n_head", "n_embd", "block_size",
                                                         "vocab_size", "pos")}}
