"""The Embeddings page: a GPT's token-embedding matrix wte (V, C) as a map, and any token's nearest tokens.

The numbers are `nn2gpt tokens neighbours`'s own (nn2gpt.tokens.embeddings): the map is
`pca_2d` of the loaded run's wte, every row on its first two principal components; the
neighbours are `neighbours`, by cosine similarity; every token is shown through the run's own
tokenizer (`display(token_text(...))`: "␣the", "⏎"), whatever its kind.

Only what the page draws is sent: each coordinate to 4 significant digits, and at most SHOWN
points, the first ids. GPT-2's 50,257 points would be a 2 MB answer drawn as one blot; its first
2,000 ids (its bytes, then its first merges, the most frequent pairs) are the readable part. A
token the page asks about outside them, and its neighbours, come with their own coordinates in
the neighbours answer, so the page can add them to the map.

The PCA is computed once per loaded model and kept (GPT-2's (50257, 768) is a few seconds'
SVD on a laptop); a retrained run is a new model, so its map is computed again.
"""

from __future__ import annotations

import threading
import weakref

from nn2gpt.errors import UserError
from nn2gpt.studio import checks
from nn2gpt.tokens.embeddings import (display, embedding_matrix, neighbours, one_token, pca_2d,
                                      shapes_line, token_text)

SHOWN = 2_000  # points on the map
K = 10  # neighbours listed, unless the request says
MAX_K = 50
MAX_TOKEN = 200  # characters a typed token may have (one token is a few)

_MAPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> (wte (V, C), its Map)
_COMPUTING = threading.Lock()  # two first visits compute one PCA, not two at once


def wte_and_map(model):
    """(wte (V, C), pca_2d of it) for `model`, computed on the first request and kept."""
    kept = _MAPS.get(model)
    if kept is not None:  # kept already: no wait behind another run's PCA
        return kept
    with _COMPUTING:
        kept = _MAPS.get(model)
        if kept is None:
            E = embedding_matrix(model)  # (V, C)
            kept = _MAPS[model] = (E, pca_2d(E))
        return kept


def _r(v: float) -> float:
    return float(f"{float(v):.4g}")


def embedding_map(model, tok) -> dict:
    """The points the page draws: ids 0 .. shown-1, their coordinates, tokens, and what the map is."""
    E, m = wte_and_map(model)
    V, C = E.shape
    n = min(V, SHOWN)
    return {"V": V, "C": C, "shown": n, "explained": [round(float(s), 4) for s in m.explained],
            "shapes": shapes_line(E, m), "x": [_r(v) for v in m.coords[:n, 0]], "y": [_r(v) for v in m.coords[:n, 1]],
            "tokens": [display(token_text(tok, i)) for i in range(n)]}


def nearest(model, tok, body: dict) -> dict:
    """Token `id` (or the one token `text` encodes to) and its k nearest tokens by cosine, each with
    its place on the map."""
    E, m = wte_and_map(model)
    V = E.shape[0]
    if body.get("text") is not None:
        text = body["text"]
        if not isinstance(text, str) or len(text) > MAX_TOKEN:
            raise UserError(f"the token must be a text of at most {MAX_TOKEN} characters; type one token")
        i = one_token(tok, text, "click a point on the map")
    else:
        i = checks.number(body, "id", int, 0, V - 1)
    k = checks.number(body, "k", int, 1, min(MAX_K, V - 1), min(K, V - 1))

    def point(j: int) -> dict:
        return {"id": j, "token": display(token_text(tok, j)), "x": _r(m.coords[j, 0]), "y": _r(m.coords[j, 1])}
    return {"token": point(i), "neighbours": [{**point(j), "cos": round(s, 4)} for j, s in neighbours(E, i, k)]}
