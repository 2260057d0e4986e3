"""Sampling from the numpy GPT, one token at a time, with a KV cache.

Generating token t+1 needs the keys and values of every earlier position in every layer. They
do not change once computed (position i only ever looks at positions <= i), so the cache
keeps them: each step feeds ONE new token through the network instead of the whole context.

The model was trained on at most block_size positions (its learned positional table has
block_size rows), so once the text is longer the context is cropped to the last block_size
tokens. Cropping shifts every position by one, which invalidates the cache; from then on each
step recomputes the window, giving exactly the logits of a plain forward on the cropped window.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from nn2gpt.gpt.sampling import check_sampling
from nn2gpt.gpt.tokenizer import prompt_ids, text_pieces
from nn2gpt.numpy_gpt.layers import softmax
from nn2gpt.numpy_gpt.model import NumpyGPT


def next_token_probs(logits: np.ndarray, temperature: float = 1.0, top_k: int | None = None,
                     top_p: float | None = None) -> np.ndarray:
    """Turn logits (V,) into the distribution to sample from (float64, sums to 1).

    temperature divides the logits (< 1 sharper, > 1 flatter; 0 means greedy: all mass on the
    argmax); top_k keeps the k most likely tokens; top_p keeps the smallest set of most likely
    tokens whose probabilities add up to at least p (nucleus sampling).
    """
    logits = logits.astype(np.float64)
    if temperature == 0:
        probs = np.zeros_like(logits)
        probs[np.argmax(logits)] = 1.0
        return probs
    with np.errstate(over="ignore"):  # <= 0, so a tiny temperature can only push the unlikely to -inf
        logits = (logits - logits.max()) / temperature
    if top_k is not None and top_k < logits.size:
        kth = np.partition(logits, -top_k)[-top_k]  # the k-th largest value
        logits[logits < kth] = -np.inf
    probs = softmax(logits)
    if top_p is not None and top_p < 1.0:
        order = np.argsort(-probs, kind="stable")  # most likely first
        before = np.cumsum(probs[order]) - probs[order]  # mass of the tokens ranked above each
        drop = order[1:][before[1:] >= top_p]  # the set before already reached p without this token
        probs[drop] = 0.0
        probs /= probs.sum()
    return probs


def stream(model: NumpyGPT, prompt_ids: list[int], max_new_tokens: int, temperature: float = 1.0,
           top_k: int | None = None, top_p: float | None = None, rng: np.random.Generator | None = None,
           use_cache: bool = True) -> Iterator[int]:
    """Yield max_new_tokens sampled token ids, one at a time, continuing prompt_ids."""
    rng = np.random.default_rng() if rng is None else rng
    block_size = model.config["block_size"]
    context = list(prompt_ids)
    caches, cached = None, 0  # cached = how many positions the KV cache holds
    for _ in range(max_new_tokens):
        window = context[-block_size:]
        if use_cache and len(context) <= block_size:
            if caches is None:
                caches, cached = [{} for _ in model.blocks], 0
            new = np.asarray(window[cached:], dtype=np.int64)[None]  # (1, T_new)
            logits, _, _ = model.forward(new, pos_offset=cached, kv_caches=caches, last_only=True)
            cached = len(window)
        else:  # no cache, or the window slid: positions shifted, recompute it whole
            logits, _, _ = model.forward(np.asarray(window, dtype=np.int64)[None], last_only=True)
        probs = next_token_probs(logits[0, -1], temperature, top_k, top_p)
        token = int(rng.choice(probs.size, p=probs))
        context.append(token)
        yield token


def stream_text(model: NumpyGPT, tok, prompt: str, max_new_tokens: int, temperature: float = 1.0,
                top_k: int | None = None, top_p: float | None = None, rng: np.random.Generator | None = None,
                use_cache: bool = True) -> Iterator[str]:
    """Yield the continuation of `prompt` as text, piece by piece, as it is sampled.

    A GPT-2 token is a few bytes that can end inside a multi-byte UTF-8 character, so bytes
    are decoded incrementally and a half character waits for the rest.
    """
    check_sampling(temperature, top_k, top_p)
    yield from text_pieces(tok, stream(model, prompt_ids(tok, prompt), max_new_tokens, temperature, top_k, top_p,
                                       rng, use_cache))
