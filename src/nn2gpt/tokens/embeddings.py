"""What a GPT learnt about its tokens: the rows of its token-embedding matrix, compared and mapped.

The first thing a GPT does with token id `i` is look up row `i` of its embedding matrix wte
(our `tok_emb.weight`, shape (V, C): V tokens, C numbers each). Training moves these rows so
that tokens which play the same part in the text get rows that point the same way, because
the layers above then treat them alike. Two ways of looking at it:

- `neighbours`: the tokens whose rows point most nearly the same way as one token's row, by
  cosine similarity;
- `pca_2d`: all V rows flattened onto the plane along which they differ most, a map to look at.

What to look for: in a character model, do the vowels, the capitals, the digits, the
punctuation and the whitespace each gather in a group of their own; in GPT-2, do " the" and
" The", the numbers, and a word and its plural sit near each other?

A run is read the way `gpt sample` reads it (`nn2gpt.gpt.runs.load_model`: every check of
nn2gpt.checkpoint, the config, the tokenizer and every shape agreeing), and tokens are shown
through the run's own tokenizer, whatever its kind, so a char model, GPT-2 and a BPE model of
`nn2gpt tokens train` read alike. The arithmetic is numpy's, so it is the same in both engines.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nn2gpt.errors import UserError

# how a token that is only whitespace (or starts with it) stays visible, as the studio's GPT page shows it
VISIBLE = {" ": "␣", "\n": "⏎", "\t": "⇥"}


# ---- reading a run's embeddings ---------------------------------------------------------------

def embedding_matrix(model) -> np.ndarray:
    """The model's token embeddings wte as a float32 numpy array (V, C), read from its weights."""
    table = getattr(model, "tok_emb", None)
    if table is None:
        raise UserError(f"the {type(model).__name__} model has no token embedding table (tok_emb); "
                        f"give a run of `nn2gpt gpt`")
    return table.weight.detach().to("cpu").float().numpy()  # (V, C)


@dataclass
class Embeddings:
    """A run's wte and the tokenizer that says which text each row stands for."""
    E: np.ndarray  # (V, C)
    tok: object
    run: Path


def load_embeddings(run, data_dir=None) -> Embeddings:
    """wte and the tokenizer of the GPT run `run`; UserError (one line, with its fix) for a path
    that is no run, a run of another chapter, or a damaged checkpoint."""
    from nn2gpt.checkpoint import latest_checkpoint_dir, refuse_kind, run_kind

    run = Path(run)
    kind = run_kind(run)  # a tokenizer folder, a translation model, ...: named, with the command that reads it
    if kind is None:
        latest_checkpoint_dir(run)  # "does not exist" or "holds no checkpoint", each with its fix
    if kind != "gpt":
        refuse_kind(run, kind, "gpt")
    from nn2gpt.gpt.runs import load_model

    model, tok, _ = load_model(run, "cpu", data_dir)
    return Embeddings(embedding_matrix(model), tok, run)


# ---- tokens as text -----------------------------------------------------------------------------

def token_text(tok, i: int) -> str:
    """The text of token `i` alone. A byte-level token can be part of a multi-byte UTF-8 character
    ("é" is the bytes C3 A9); such bytes are written as \\xc3, not as a replacement character."""
    if hasattr(tok, "decode_bytes"):
        return tok.decode_bytes([i]).decode("utf-8", errors="backslashreplace")
    return tok.decode([i])


def display(text: str) -> str:
    """`text` with its whitespace and control characters made visible: " the" -> "␣the"."""
    if not text:
        return "∅"
    out = []
    for c in text:
        if c in VISIBLE:
            out.append(VISIBLE[c])
        elif unicodedata.category(c).startswith("C"):  # \r, \x00, a zero-width mark: written as its code
            out.append(f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return "".join(out)


def width(text: str) -> int:
    """Terminal columns `text` takes: a wide (CJK) character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def one_token(tok, text: str, fix: str) -> int:
    """The id of the one token `text` encodes to; UserError when it is empty, has characters the
    vocabulary lacks, or becomes several tokens (naming them). `fix` says how else to pick one."""
    if not isinstance(text, str) or text == "":
        raise UserError(f"the token is empty; type a character or a word of the model's vocabulary, or {fix}")
    try:
        ids = tok.encode(text)
    except UserError as e:  # the tokenizer's "problem; fix": the problem, and the fixes that apply here
        problem = str(e).split("; ")[0]
        raise UserError(f"{display(text)} is no token of this model ({problem}); type one it has, or {fix}") from None
    if len(ids) != 1:
        shown = ", ".join(f"{display(token_text(tok, i))} ({i})" for i in ids[:12]) + (" ..." if len(ids) > 12 else "")
        raise UserError(f"{display(text)} becomes {len(ids)} tokens for this model: {shown}; give one of them, "
                        f"or {fix}")
    return ids[0]


def check_id(E: np.ndarray, i, what: str = "the token id") -> int:
    """`i` as a row number of E (V, C): a whole number from 0 to V-1, or UserError naming the range."""
    V = E.shape[0]
    if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < V:
        raise UserError(f"{what} {i!r} is not one of the model's {V:,} tokens; give a number from 0 to {V - 1}")
    return int(i)


# ---- nearest tokens -----------------------------------------------------------------------------

def cosines(E: np.ndarray, i: int) -> np.ndarray:
    """The cosine similarity of row i with every row of E (V, C): (V,).

    cos(a, b) = a·b / (|a| |b|) is the cosine of the angle between the two vectors: 1 when they
    point the same way, 0 when at right angles, -1 when opposite. Only the direction counts, not
    the length, so a frequent token and a rare one that the model uses alike still come out close
    (their rows may differ in length). A row of zeros has no direction; its cosines are taken as 0.
    """
    E = np.asarray(E, dtype=np.float64)  # (V, C)
    norms = np.linalg.norm(E, axis=1)  # (V,)
    safe = np.where(norms > 0, norms, 1.0)
    sims = E @ E[i] / (safe * safe[i])  # (V,)
    return np.where((norms > 0) & (norms[i] > 0), sims, 0.0)


def neighbours(E: np.ndarray, i: int, k: int) -> list[tuple[int, float]]:
    """The k tokens nearest to token i by cosine similarity, itself left out: [(id, cos)], most
    similar first; equal similarities in the order of their ids, so the answer never wobbles."""
    i = check_id(E, i)
    V = E.shape[0]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= V - 1:
        raise UserError(f"k = {k!r} neighbours is not possible: the model has {V - 1:,} other tokens; "
                        f"give k from 1 to {V - 1:,}")
    sims = cosines(E, i)  # (V,)
    others = np.delete(np.arange(V), i)  # (V-1,)
    order = others[np.lexsort((others, -sims[others]))][:k]  # by similarity, then by id
    return [(int(j), float(sims[j])) for j in order]


# ---- a 2-D map ----------------------------------------------------------------------------------

@dataclass
class Map:
    """The rows of E on their first two principal components."""
    coords: np.ndarray  # (V, 2): each row's position on PC1, PC2
    explained: np.ndarray  # (2,): the share of the total variance each component carries, 0..1
    components: np.ndarray  # (2, C): the two directions, unit vectors
    mean: np.ndarray  # (C,): the mean row, the map's origin


def pca_2d(E: np.ndarray) -> Map:
    """A 2-D map of the V rows of E (V, C) by principal component analysis.

    Centre first: subtract the mean row, so that the map shows how the rows differ from each
    other. Uncentred, the first direction would mostly point at the mean itself: what all tokens
    share (after training, much of wte is a common offset) and says nothing about any one token.

    Then the SVD of the centred matrix X = U S Vᵀ: the rows of Vᵀ are the directions of largest
    spread, in order; s² / Σ s² is the share of the total variance each explains. A map is X
    projected on the first two, X @ Vᵀ[:2].T (= U[:, :2] S[:2]). A direction is only defined up to
    its sign (v and -v explain the same), and which one an SVD returns can change with the
    library or the machine; each is turned so that its largest entry (by size) is positive, so the
    same wte always gives the same map. A float32 matrix (a checkpoint's weights) is decomposed
    in float32: for GPT-2's (50257, 768) that halves the time, and the top two directions come out
    the same to about 6 digits. With fewer than two directions of spread (one token, C = 1, every
    row alike), the missing coordinates are 0 and explain 0.
    """
    E = np.asarray(E)
    if E.ndim != 2 or E.shape[0] == 0:
        raise UserError(f"an embedding matrix is (V, C) with V >= 1; this one has shape {E.shape}")
    X = E.astype(np.float32 if E.dtype == np.float32 else np.float64)  # (V, C)
    mean = X.mean(axis=0)  # (C,)
    X = X - mean  # (V, C) centred
    _, s, vt = np.linalg.svd(X, full_matrices=False)  # s (r,), vt (r, C), r = min(V, C)
    s, vt = s.astype(np.float64), vt.astype(np.float64)
    components = np.zeros((2, E.shape[1]))  # (2, C)
    n = min(2, vt.shape[0])
    components[:n] = vt[:n]
    for row in components:
        if row.any() and row[np.argmax(np.abs(row))] < 0:  # the largest entry positive: one map, every time
            row *= -1
    total = float(np.sum(s ** 2))
    explained = np.zeros(2)
    explained[:n] = s[:n] ** 2 / total if total > 0 else 0.0
    components[explained == 0] = 0.0  # a direction of no spread is no direction
    coords = X.astype(np.float64) @ components.T  # (V, 2)
    return Map(coords=coords, explained=explained, components=components, mean=mean.astype(np.float64))


def shapes_line(E: np.ndarray, m: Map) -> str:
    """'wte (65, 16) → 2 components; PC1 explains 23.4%, PC2 12.1%': what a map shows."""
    V, C = E.shape
    return (f"wte ({V:,}, {C:,}) → 2 components; PC1 explains {100 * m.explained[0]:.1f}%, "
            f"PC2 {100 * m.explained[1]:.1f}%")
