"""One forward pass over a text, kept: what every click on the GPT page reads from it.

A causal model's position t sees only tokens 0..t, so one pass over the whole text (while it fits
in the block) holds the answer for every position at once: row t of each head's attention map,
and the residual stream at t, from which the next-token logits cost one row of the unembedding.
A click is then a lookup, not a forward pass; a generated text's pass is made as its stream
ends (`ahead`), so even the first click reads a kept one. A pass is kept per model (a reloaded model starts
afresh) under the tokens it read and the heads that were off, the newest few within MEMORY bytes (the
passes with heads off go before the plain ones).

Turning heads off changes nothing below the lowest layer they sit in: a GPT's pass with heads off
starts from a kept pass of the same text at that layer's input (every block's input is kept) and
runs only the blocks from there up. Each block then computes exactly what it computes in a full
pass, so the numbers are the same. Such a pass, when it is costly (GPT-2's size), covers only the tokens up
to the clicked position: they are all a causal model's position reads, so its numbers are those of the pass
over the whole text; it is kept under the text it was asked about, and answers the positions it covers.
Texts longer than the block, and models whose positions see later ones (the anticausal and unmasked
variants), get a pass over the one window they read.
"""

from __future__ import annotations

import contextlib
import weakref
from dataclasses import dataclass, field

import torch

MEMORY = 512 * 2**20  # bytes of kept passes per model (the newest one is kept whatever its size, if under it)
MOST = 8  # passes per model
ROWS = 8  # positions' logits kept per pass (a slider's move reads the same one again)
WHOLE = 2e8  # multiply-adds: a pass with heads off costing more over the whole text stops at the clicked position
WIDE = 2e8  # multiply-adds: a pass costing more runs on the free cores (`threads`), when `widen` allows
TOKEN_WIDE = 5e7  # weights: a model with more reads them from memory, not the caches, at every token (`token_threads`)
widen = False  # set by the studio when no --threads was given (server.use_threads)


@dataclass
class Pass:
    """A forward pass over ids[start:start + n]: each layer's weights (nh, n, n), and per position
    either the final hidden state (n, C), read through `model.head`, or the logits (n, V)."""
    start: int
    ids: tuple
    off: tuple
    weights: list
    finals: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    inputs: list | None = None  # each block's input (n, C): where a pass with more heads off resumes
    rows: dict = field(default_factory=dict)  # position index -> logits (V,) already read
    text: tuple = ()  # the tokens of the window asked about (ids, or more when ids stop at a clicked position)

    def nbytes(self) -> int:
        kept = [*self.weights, *(self.inputs or ()), *(t for t in (self.finals, self.logits) if t is not None)]
        return sum(t.numel() * t.element_size() for t in kept)

    def logits_at(self, model, i: int) -> torch.Tensor:
        """The next-token logits (V,) float32 after position start + i."""
        if i not in self.rows:
            if self.logits is not None:
                self.rows[i] = self.logits[i].float()
            else:
                with torch.inference_mode():
                    self.rows[i] = model.head(self.finals[i][None, None])[0, 0].float()  # (V,)
            while len(self.rows) > ROWS:
                self.rows.pop(next(iter(self.rows)))
        return self.rows[i]


_KEPT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> [Pass], oldest first
counts = {"passes": 0, "resumed": 0}  # forward passes made, and how many resumed a kept one (the tests watch)


def off_key(off: dict) -> tuple:
    return tuple((l, tuple(sorted(set(off[l])))) for l in sorted(off) if off[l])


def causal(model) -> bool:
    """Whether position t's numbers depend on tokens 0..t only."""
    return getattr(model.cfg, "mask", "causal") in ("causal", "window")


def span(model, ids: list[int], start: int, position: int) -> tuple[int, int]:
    """The tokens [start, end) a pass answering `position` reads: the whole text the window allows, unless
    that pass would be too big to keep (then the tokens up to `position`, as the window alone would be)."""
    end = min(len(ids), model.cfg.block_size)
    if start == 0 and causal(model) and nbytes(model, end) <= MEMORY:
        return 0, end
    return start, position + 1


def nbytes(model, n: int) -> int:
    """About what a pass over n tokens keeps: the weights (nh, n, n) and block inputs (n, C) of every layer,
    and the final states (n, C) or, for a model without blocks, the logits (n, V)."""
    c = model.cfg
    logits = 0 if blockwise(model) else n * c.vocab_size
    return 4 * (c.n_layer * c.n_head * n * n + (c.n_layer + 1) * n * c.n_embd + logits)


def at(model, ids: list[int], start: int, position: int, off: dict) -> tuple[Pass, int]:
    """(a pass that answers `position` of `ids`, read from `start`, with the heads `off` off; the
    position's index in it). Call holding the run's lock."""
    lo, hi = span(model, ids, start, position)
    key, kept = off_key(off), _KEPT.setdefault(model, [])
    window = tuple(ids[lo:hi])
    for p in kept:
        if p.off == key and _covers(p, lo, window, position + 1 - lo):
            kept.remove(p)
            kept.append(p)  # the newest used
            return p, position - lo
    resume = _resumable(kept, lo, window, key, hi - lo)
    if key and causal(model) and _cost(model, resume[1], hi - lo) > WHOLE:
        hi = position + 1  # heads off, a costly pass: the tokens this position reads, no more
        resume = _resumable(kept, lo, window, key, hi - lo)
    p = _compute(model, lo, window[:hi - lo], key, kept, resume)
    p.text = window
    kept.append(p)
    while len(kept) > 1 and (len(kept) > MOST or held(kept) > MEMORY):
        kept.pop(next((j for j, q in enumerate(kept[:-1]) if q.off), 0))  # heads off first: the plain pass is
        # where every pass with heads off resumes
    if kept[-1].nbytes() > MEMORY:
        kept.pop()
    return p, position - lo


def _covers(p: Pass, start: int, window: tuple, n: int) -> bool:
    """Whether `p` is a pass over `window` read from `start` that covers its first n tokens."""
    return p.start == start and (p.text or p.ids) == window and len(p.ids) >= n


def _cost(model, first: int, n: int) -> float:
    """About the multiply-adds of blocks first.. over n tokens (the weights' 12 C^2 a token, and the scores)."""
    c = model.cfg
    return (c.n_layer - first) * n * (12 * c.n_embd ** 2 + 2 * n * c.n_embd) if blockwise(model) else 0.0


def held(kept: list) -> int:
    """The bytes the passes `kept` hold together (a pass that resumed another shares its lower layers)."""
    storages = {}
    for p in kept:
        for t in [*p.weights, *(p.inputs or ()), *(t for t in (p.finals, p.logits) if t is not None)]:
            storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
    return sum(storages.values())


def ahead(model, ids: list[int]) -> None:
    """Make (and keep) the plain pass over a text that fits in the block, before anyone clicks into it.
    A failure here is left for the click itself to report."""
    if ids and len(ids) <= model.cfg.block_size:
        try:
            at(model, ids, 0, len(ids) - 1, {})
        except Exception:  # noqa: BLE001 - the stream has ended; the click asks again and says what failed
            pass


def blockwise(model) -> bool:
    """A GPT of chapter 2's shape (embed, blocks, ln_f, head, the logits of GPT itself): run block by block."""
    from nn2gpt.gpt.model import GPT

    return isinstance(model, GPT) and type(model).logits is GPT.logits


def _resumable(kept: list, start: int, window: tuple, key: tuple, n: int) -> tuple[Pass | None, int]:
    """The kept pass over `window` covering its first n tokens whose heads off agree with `key` on the most
    layers from the bottom, and the first layer where they differ (0: none to resume from)."""
    want = dict(key)
    best, best_layer = None, 0
    for p in kept:
        if p.inputs is None or not _covers(p, start, window, n):
            continue
        have = dict(p.off)
        layers = sorted(set(want) | set(have))
        first = next((l for l in layers if want.get(l) != have.get(l)), 0)  # 0: the same heads (never kept twice)
        if first > best_layer:
            best, best_layer = p, first
    return best, best_layer


def _compute(model, start: int, window: tuple, key: tuple, kept: list, resume: tuple | None = None) -> Pass:
    """The pass over `window` with the heads `key` off; from the input to block `first` of `base` when
    (base, first) = `resume` names one (else the best of `kept`): a kept pass covering these tokens, with the
    same heads off below that block."""
    from nn2gpt.nn.ablate import heads_off

    base, first = resume or _resumable(kept, start, window, key, len(window))
    idx, n = torch.tensor([window]), len(window)  # (1, n)
    counts["passes"] += 1
    model.eval()
    with threads(_cost(model, first, n)), heads_off(model, {l: list(h) for l, h in key}), torch.inference_mode():
        if not blockwise(model):
            from nn2gpt.gpt.heatmaps import look_inside

            weights, logits = look_inside(model, idx)  # [(nh, n, n)], (1, n, V)
            return Pass(start, window, key, weights, logits=logits[0])
        if base is not None:
            counts["resumed"] += 1
        weights = [w[:, :n, :n] for w in base.weights[:first]] if base else []  # views: the rows this pass covers
        inputs = [x[:n] for x in base.inputs[:first]] if base else []
        x = base.inputs[first][None, :n] if base else model.embed(idx)  # (1, n, C) block `first`'s input
        for block in model.blocks[first:]:
            inputs.append(x[0])
            x = _block_with_weights(block, x, weights)
        return Pass(start, window, key, weights, finals=model.ln_f(x)[0], inputs=inputs)


@contextlib.contextmanager
def threads(cost: float, wide: float | None = None):
    """A pass of `cost` multiply-adds: when over `wide` (default WIDE; and `widen`), in as many threads as
    cores are free.

    A pass over a whole text multiplies (n, C) by (C, 4C) matrices: compute bound, it runs about 1.7 times
    as fast in two threads on two idle cores. A small pass, or a token of a small model, is over before a
    second thread has started, so the studio keeps one thread for the rest. While anything else keeps the
    cores busy, one thread (nn2gpt.machine.free_cores: a second thread would wait for a core)."""
    from nn2gpt.machine import free_cores

    wanted = free_cores() if widen and cost > (WIDE if wide is None else wide) else 1
    if wanted > 1:
        torch.set_num_threads(wanted)
    try:
        yield wanted
    finally:
        if wanted > 1:
            torch.set_num_threads(1)  # the studio's one thread (not what another request's pass had set meanwhile)


def token_threads(model):
    """`threads` for one generated token: widened when the model's weights (one multiply-add each) are over
    TOKEN_WIDE. Such a token reads hundreds of MB from memory, and two cores read it about 1.6 times as fast
    as one (GPT-2 small on the 2-core box: 41 ms a token in one thread, 25 ms in two)."""
    from nn2gpt.gpt.perf import num_params

    n = _WEIGHTS.get(model)
    if n is None:
        n = _WEIGHTS[model] = num_params(model)
    return threads(n, TOKEN_WIDE)


_WEIGHTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> its number of weights


def _block_with_weights(block, x: torch.Tensor, found: list) -> torch.Tensor:
    """block(x) (1, n, C), with its attention weights (nh, n, n) appended to `found`."""
    def ask(module, args, kwargs):
        return args, kwargs | {"return_weights": True}

    def take(module, args, kwargs, output):
        y, weights = output
        found.append(weights[0])  # (nh, n, n)
        return y

    handles = [block.attn.register_forward_pre_hook(ask, with_kwargs=True),
               block.attn.register_forward_hook(take, with_kwargs=True)]
    try:
        return block(x)
    finally:
        for h in handles:
            h.remove()


def attention_at(p: Pass, i: int, n: int) -> list[dict]:
    """Every head's row at index i (its weights on keys 0..i, 4 decimals) and its recent n x n map
    (the last n rows and keys up to i, in thousandths), made in a few tensor operations."""
    if not p.weights:
        return []
    lo = max(0, i + 1 - n)
    rows = (torch.stack([w[:, i, :i + 1] for w in p.weights]).double() * 1e4).round() / 1e4  # (L, nh, i + 1)
    recent = (torch.stack([w[:, lo:i + 1, lo:i + 1] for w in p.weights]) * 1000).round().int()  # (L, nh, m, m)
    rows, recent = rows.tolist(), recent.tolist()
    return [{"layer": l, "head": h, "weights": rows[l][h], "recent": recent[l][h]}
            for l in range(len(rows)) for h in range(len(rows[l]))]


def forget(model) -> None:
    """Drop the passes kept for `model`."""
    _KEPT.pop(model, None)
