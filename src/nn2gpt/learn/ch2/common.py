"""Chapter 2's checks, in PyTorch: the learner's module or function against chapter 2's pieces.

Modules are built with the learner's constructor and seeded weights; the expected output is
computed from those same weights with chapter 2's own code (nn2gpt.gpt.model.attention written
out, nn.LayerNorm, nn2gpt.nn.positional), in float64. Invariants are checked directly: position
t's output must not change when a later token changes, probabilities must sum to 1.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nn2gpt.learn.checking import CheckFailed, compare, need, untouched


def arr(t, name: str, shape) -> np.ndarray:
    """A tensor the learner returned, as float64 numpy of exactly `shape` (else CheckFailed)."""
    if not isinstance(t, torch.Tensor):
        raise CheckFailed(f"`{name}` is a {type(t).__name__}, expected a tensor of shape {tuple(shape)}")
    if tuple(t.shape) != tuple(shape):
        raise CheckFailed(f"`{name}` is {tuple(t.shape)}, expected {tuple(shape)}")
    return t.detach().double().numpy()


def build(cls, name: str, *args):
    torch.manual_seed(0)
    try:
        module = cls(*args)
    except TypeError as e:
        if "argument" not in str(e):
            raise
        raise CheckFailed(f"{name}({', '.join(map(str, args))}) failed: {e}; keep the stub's signature") from None
    return module.double().eval()


def linear(module, name: str, attr: str, shape) -> nn.Linear:
    lin = getattr(module, attr, None)
    if not isinstance(lin, nn.Linear):
        raise CheckFailed(f"{name} has no nn.Linear `self.{attr}`; keep the names of the stub's docstring")
    if tuple(lin.weight.shape) != shape:
        raise CheckFailed(f"`self.{attr}.weight` is {tuple(lin.weight.shape)}, expected {shape}")
    return lin


def future_positions(f, x: torch.Tensor) -> list[int]:
    """Positions t whose output changes when x after t changes (they see the future)."""
    base = f(x).detach()
    seen = []
    for t in range(x.shape[1] - 1):
        y = x.clone()
        y[:, t + 1:] = torch.randn_like(y[:, t + 1:])
        if not torch.allclose(f(y)[:, t].detach(), base[:, t], atol=1e-9):
            seen.append(t)
    return seen


def _no_future(f, x, what: str) -> None:
    seen = future_positions(f, x)
    if seen:
        raise CheckFailed(f"{what} sees the future: the output at positions {seen} changes when a later position "
                          f"changes; mask the keys after each query (torch.tril)")


# ---- 11 bigram loss -----------------------------------------------------------------------------
def check_bigram(module) -> None:
    fn = need(module, "bigram_loss", "bigram_loss(table, idx, targets)")
    for seed, (B, T, V) in enumerate([(4, 8, 65), (1, 1, 3), (2, 5, 10)]):
        g = torch.Generator().manual_seed(seed)
        table = torch.randn(V, V, generator=g, dtype=torch.float64)
        idx, targets = torch.randint(0, V, (B, T), generator=g), torch.randint(0, V, (B, T), generator=g)
        got = arr(untouched(fn, "bigram_loss", "table, idx, targets", table.clone(), idx.clone(), targets.clone()),
                  "the loss", ())
        logp = F.log_softmax(table[idx], dim=-1)                                     # (B, T, V)
        want = -logp.gather(-1, targets[..., None]).mean().item()
        compare(got, want, "the loss", [
            (-logp.gather(-1, targets[..., None]).sum().item() if B * T > 1 else None,
             "it is the SUM over the positions; the loss is their mean"),
            (-F.log_softmax(table[targets], -1).gather(-1, idx[..., None]).mean().item(),
             "it predicts idx from targets: the logits are table[idx], the row of the CURRENT token"),
            (-F.log_softmax(F.softmax(table[idx], -1), -1).gather(-1, targets[..., None]).mean().item(),
             "softmax applied twice: F.cross_entropy takes raw logits and applies the softmax itself")],
            f" for B, T, V = {B}, {T}, {V}")
    zero = arr(fn(torch.zeros(65, 65), torch.zeros(2, 3, dtype=torch.long), torch.ones(2, 3, dtype=torch.long)),
               "the loss", ())
    compare(zero, math.log(65), "the loss", context=" of an all-zero table (ln V: every token equally likely)",
            rtol=1e-5)


# ---- 12 average of the past ---------------------------------------------------------------------
def check_average(module) -> None:
    fn = need(module, "average_past", "average_past(x)")
    for seed, shape in enumerate([(2, 6, 3), (1, 1, 4), (3, 9, 2)]):
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        got = arr(untouched(fn, "average_past", "x", x.clone()), "out", shape)
        csum = x.cumsum(1)
        count = torch.arange(1, shape[1] + 1, dtype=x.dtype)[None, :, None]
        later = x.flip(1).cumsum(1).flip(1)                                           # sum of x[t:]
        past = torch.cat([x[:, :1], csum[:, :-1] / count[:, :-1]], 1)                # x[:, :t] averaged, t >= 1
        compare(got, (csum / count).numpy(), "out", [
            (x.mean(1, keepdim=True).expand_as(x).numpy() if shape[1] > 1 else None,
             "every position averages ALL T positions: position t sees the future; keep t and before (tril)"),
            ((later / count.flip(1)).numpy() if shape[1] > 1 else None,
             "the mask is on the wrong side: position t averages t and the positions AFTER it (triu, not tril)"),
            (csum.numpy() if shape[1] > 1 else None, "it is the sum of the past, not the mean: divide each row of "
                                                     "the weights by its sum, so it sums to 1"),
            (past.numpy() if shape[1] > 1 else None, "position t leaves itself out: average x[0..t], t included")],
            f" for x {shape}")
    x = torch.randn(2, 7, 3, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    _no_future(fn, x, "average_past")


# ---- 13 one head --------------------------------------------------------------------------------
def head_output(x, q, k, v, scale: float | None = None, mask: str = "past", dim: int = -1):
    """The reference head (and its common mistakes) from the head's own q, k, v maps."""
    from nn2gpt.gpt.model import attention

    Q, K, V = q(x)[:, None], k(x)[:, None], v(x)[:, None]                             # (B, 1, T, hs)
    if scale is None and mask == "past" and dim == -1:
        return attention(Q, K, V)[0][:, 0]                                            # chapter 2's, written out
    T = x.shape[1]
    s = Q @ K.transpose(-2, -1) * (scale if scale is not None else K.shape[-1] ** -0.5)
    keep = {"past": torch.ones(T, T).tril(), "future": torch.ones(T, T).triu(), "none": torch.ones(T, T)}[mask]
    return (F.softmax(s.masked_fill(keep == 0, float("-inf")), dim=dim) @ V)[:, 0]


def check_head(module) -> None:
    cls = need(module, "Head", "class Head(nn.Module)")
    for seed, (B, T, C, hs, block) in enumerate([(2, 5, 8, 4, 8), (1, 1, 4, 4, 4), (3, 8, 16, 2, 8)]):
        head = build(cls, "Head", C, hs, block)
        maps = [linear(head, "Head", a, (hs, C)) for a in ("query", "key", "value")]
        for lin in maps:
            if lin.bias is not None:
                raise CheckFailed("the query, key and value maps have a bias; the head's are "
                                  "nn.Linear(..., bias=False)")
        x = torch.randn(B, T, C, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        got = arr(untouched(head, "Head", "x", x), "Head(x)", (B, T, hs))
        ref = lambda **kw: head_output(x, *maps, **kw).detach().numpy()               # noqa: E731
        compare(got, ref(), "Head(x)", [
            (ref(scale=1.0), "the scores are not scaled: multiply q @ k^T by head_size ** -0.5"),
            (ref(scale=C ** -0.5) if C != hs else None,
             "scaled by 1/sqrt(n_embd); the scores' variance is head_size, divide by sqrt(head_size)"),
            (ref(mask="future") if T > 1 else None,
             "the mask is on the wrong side: each position attends to the FUTURE (keep tril, mask above it)"),
            (ref(mask="none") if T > 1 else None, "nothing is masked: every position sees the future"),
            (ref(dim=-2) if T > 1 else None, "softmax over the wrong dimension: the weights of one query (a row, "
                                             "dim=-1) must sum to 1")], f" for x {(B, T, C)}, head_size {hs}")
    head = build(cls, "Head", 8, 4, 8)
    _no_future(head, torch.randn(2, 6, 8, dtype=torch.float64), "Head")


# ---- 14 multi-head ------------------------------------------------------------------------------
def check_multi_head(module) -> None:
    cls = need(module, "MultiHeadAttention", "class MultiHeadAttention(nn.Module)")
    for seed, (B, T, C, nh) in enumerate([(2, 5, 8, 2), (1, 3, 12, 3), (2, 1, 4, 1)]):
        mha = build(cls, "MultiHeadAttention", C, nh, 8)
        heads = getattr(mha, "heads", None)
        if not isinstance(heads, nn.ModuleList) or len(heads) != nh:
            raise CheckFailed(f"`self.heads` must be an nn.ModuleList of {nh} heads (n_head = {nh})")
        maps = [[linear(h, f"heads[{i}]", a, (C // nh, C)) for a in ("query", "key", "value")]
                for i, h in enumerate(heads)]
        proj = linear(mha, "MultiHeadAttention", "proj", (C, C))
        x = torch.randn(B, T, C, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        cat = torch.cat([head_output(x, *m) for m in maps], dim=-1)                    # (B, T, C)
        got = untouched(mha, "MultiHeadAttention", "x", x)
        if isinstance(got, torch.Tensor) and tuple(got.shape) == (B, nh * T, C // nh) and nh > 1:
            raise CheckFailed(f"MultiHeadAttention(x) is {tuple(got.shape)}: the heads are concatenated along the "
                              f"time dimension; torch.cat(..., dim=-1) puts them side by side in the channels")
        got = arr(got, "MultiHeadAttention(x)", (B, T, C))
        compare(got, proj(cat).detach().numpy(), "MultiHeadAttention(x)", [
            (cat.detach().numpy(), "the projection is missing: return self.proj(torch.cat(...))")],
            f" for x {(B, T, C)}, n_head {nh}")


# ---- 15 feed-forward ----------------------------------------------------------------------------
def check_feed_forward(module) -> None:
    cls = need(module, "FeedForward", "class FeedForward(nn.Module)")
    for seed, (B, T, C) in enumerate([(2, 3, 8), (1, 1, 4)]):
        ff = build(cls, "FeedForward", C)
        lins = [m for m in ff.modules() if isinstance(m, nn.Linear)]
        if [tuple(m.weight.shape) for m in lins] != [(4 * C, C), (C, 4 * C)]:
            raise CheckFailed(f"expected two nn.Linear layers, (4C, C) then (C, 4C) = {(4 * C, C)}, {(C, 4 * C)}; "
                              f"found {[tuple(m.weight.shape) for m in lins]}")
        x = torch.randn(B, T, C, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        got = arr(untouched(ff, "FeedForward", "x", x), "FeedForward(x)", (B, T, C))
        a, b = lins
        want = lambda act: b(act(a(x))).detach().numpy()                               # noqa: E731
        compare(got, want(lambda h: F.gelu(h, approximate="tanh")), "FeedForward(x)", [
            (want(F.relu), "ReLU where GPT-2 has GELU: nn.GELU(approximate='tanh')"),
            (want(F.gelu), "the exact GELU (erf); GPT-2's is the tanh approximation, nn.GELU(approximate='tanh')"),
            (want(lambda h: h), "no nonlinearity between the two layers: they collapse into one linear map")],
            f" for x {(B, T, C)}")


# ---- 16 block -----------------------------------------------------------------------------------
def check_block(module) -> None:
    cls = need(module, "Block", "class Block(nn.Module)")
    for seed, (B, T, C, nh) in enumerate([(2, 5, 8, 2), (1, 4, 4, 1)]):
        block = build(cls, "Block", C, nh, 8)
        parts = {}
        for name, kind in (("sa", nn.Module), ("ffwd", nn.Module), ("ln1", nn.LayerNorm), ("ln2", nn.LayerNorm)):
            parts[name] = getattr(block, name, None)
            if not isinstance(parts[name], kind):
                raise CheckFailed(f"Block has no {kind.__name__} `self.{name}`; keep the names of the stub's docstring")
        with torch.no_grad():                    # make the two LayerNorms differ, so swapping them shows
            parts["ln1"].weight.uniform_(0.5, 1.5)
            parts["ln2"].weight.uniform_(-1.5, -0.5)
        x = torch.randn(B, T, C, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        sa, ff, ln1, ln2 = parts["sa"], parts["ffwd"], parts["ln1"], parts["ln2"]
        x1 = x + sa(ln1(x))
        post = ln1(x + sa(x))
        mistakes = [
            (ln2(post + ff(post)), "LayerNorm after the sum (post-LN): GPT-2 normalises the INPUT of each sub-layer, "
                                   "x + sa(ln1(x))"),
            (ff(ln2(sa(ln1(x)))), "no residuals: each line adds to the stream, x = x + sa(ln1(x))"),
            (x1 + ff(ln2(x)), "the feed-forward sees the block's input, not the stream after attention: "
                              "x = x + sa(ln1(x)) first, then x + ffwd(ln2(x))"),
            (x1 + ff(ln1(x1)), "ln1 is used twice: the feed-forward's input goes through ln2")]
        got = arr(untouched(block, "Block", "x", x), "Block(x)", (B, T, C))
        compare(got, (x1 + ff(ln2(x1))).detach().numpy(), "Block(x)",
                [(m.detach().numpy(), text) for m, text in mistakes], f" for x {(B, T, C)}")
        _no_future(block, x, "Block")


# ---- 17 positional encoding ---------------------------------------------------------------------
def check_positional(module) -> None:
    from nn2gpt.nn.positional import sinusoidal_encoding

    fn = need(module, "positional_encoding", "positional_encoding(T, d)")
    for T, d in [(16, 8), (5, 7), (1, 2), (64, 32)]:
        got = arr(fn(T, d), f"positional_encoding({T}, {d})", (T, d))
        want = sinusoidal_encoding(T, d, torch.float64)
        pos, i = np.arange(T)[:, None], np.arange(d)[None, :]
        angle = pos / 10000 ** ((i - i % 2) / d)                                      # (T, d) column i's angle
        swapped = np.where(i % 2 == 0, np.cos(angle), np.sin(angle))
        no_two = np.where(i % 2 == 0, np.sin(pos / 10000 ** ((i // 2) / d)), np.cos(pos / 10000 ** ((i // 2) / d)))
        per_col = np.where(i % 2 == 0, np.sin(pos / 10000 ** (i / d)), np.cos(pos / 10000 ** (i / d)))
        compare(got, want.numpy(), f"positional_encoding({T}, {d})", [
            (sinusoidal_encoding(T, d, torch.float64, layout="halves").numpy() if d > 2 else None,
             "all the sines first, then all the cosines; the table interleaves them: column 2i sin, 2i+1 cos"),
            (swapped, "sin and cos are swapped: even columns (2i) are sines, odd columns cosines"),
            (no_two if d > 2 else None, "the exponent is i/d; it is 2i/d, with 2i the even column's index"),
            (per_col if d > 2 else None, "the odd column uses its own index in the exponent; columns 2i and 2i+1 "
                                         "share the angle pos / 10000^(2i/d)")], rtol=1e-5, atol=1e-6)


# ---- 18 sampling --------------------------------------------------------------------------------
def check_sampling(module) -> None:
    fn = need(module, "next_token_probs", "next_token_probs(logits, temperature, top_k)")
    for seed, (B, V, temp, k) in enumerate([(3, 10, 1.0, None), (2, 12, 0.5, 4), (1, 5, 2.0, 1), (2, 6, 0.8, 6)]):
        logits = torch.randn(B, V, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 2
        got = arr(fn(logits.clone(), temperature=temp, top_k=k), "probs", (B, V))
        z = logits / temp
        keep = torch.ones_like(z, dtype=torch.bool)
        if k is not None and k < V:
            keep = z >= torch.topk(z, k, dim=-1).values[:, -1:]
        want = F.softmax(z.masked_fill(~keep, float("-inf")), -1).numpy()
        mistakes = [(F.softmax((logits * temp).masked_fill(~keep, float("-inf")), -1).numpy() if temp != 1 else None,
                     f"the logits are multiplied by the temperature; divide: logits / {temp}"),
                    ((F.softmax(z, -1) * keep).numpy() if k is not None and k < V else None,
                     "top-k after the softmax without renormalising: the rows sum to less than 1; mask the logits "
                     "with -inf BEFORE the softmax"),
                    (F.softmax(z, 0).masked_fill(~keep, 0).numpy() if B > 1 and k is None else None,
                     "softmax over the batch dimension; it is along the vocabulary, dim=-1")]
        if k is not None and k < V:
            low = z <= torch.topk(z, k, dim=-1, largest=False).values[:, -1:]
            mistakes.append((F.softmax(z.masked_fill(~low, float("-inf")), -1).numpy(),
                             f"the {k} SMALLEST logits are kept; top-k keeps the largest"))
        compare(got, want, "probs", mistakes, f" for logits {(B, V)}, temperature {temp}, top_k {k}")
        if not np.allclose(got.sum(-1), 1.0):
            raise CheckFailed(f"the rows of probs sum to {got.sum(-1).round(4).tolist()}, not 1")
