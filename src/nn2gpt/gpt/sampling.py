"""The sampling options both engines accept, checked in one place, and the stream both print
(no torch, no numpy).

temperature divides the logits (0 = always the most likely token); top_k keeps the k most
likely tokens; top_p (nucleus) keeps the smallest set of most likely tokens whose probability
adds up to at least p.
"""

from __future__ import annotations

import sys

from nn2gpt.errors import UserError


def check_sampling(temperature: float, top_k: int | None, top_p: float | None) -> None:
    if temperature < 0:
        raise UserError(f"--temperature must be >= 0 (0 = greedy), got {temperature}")
    if top_k is not None and top_k < 1:
        raise UserError(f"--top-k must be >= 1, got {top_k}")
    if top_p is not None and not 0 < top_p <= 1:
        raise UserError(f"--top-p must be in (0, 1], got {top_p}")


def stream_to_stdout(prompt: str, pieces) -> int:
    """Write `prompt`, then each piece of text as soon as it is sampled (both engines' `sample`)."""
    first = next(pieces, "")  # a bad prompt fails here, before anything is printed
    sys.stdout.write(prompt + first)
    sys.stdout.flush()
    for piece in pieces:
        sys.stdout.write(piece)
        sys.stdout.flush()  # each token appears as soon as it is sampled
    sys.stdout.write("\n")
    return 0
