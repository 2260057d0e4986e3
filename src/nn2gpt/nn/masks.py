"""Attention masks: who may look at whom.

Every mask here is a **boolean** tensor where True means "may attend". A mask of shape (Tq, Tk)
is indexed [query i, key j]. Masks combine with `&`: a structural mask (Tq, Tk) and a key
padding mask (B, Tk) together give (B, 1, Tq, Tk) via `combine_masks`.

The four structural masks of the attention lab (chapter 4):

    causal      j <= i            the upper-right triangle is masked: no peeking at the future
    anticausal  j >= i            the lower-left triangle is masked: position i sees i..T-1,
                                  i.e. only the future -- next-token training becomes copying
    none        all True          every position sees every position (an encoder)
    window      i - w < j <= i    causal, but only the last w positions (sliding window)

Queries may sit at an offset: with a KV cache the Tq new queries are the *last* Tq positions of
Tk keys, so query i has absolute position i + (Tk - Tq). All functions take that into account.
"""

from __future__ import annotations

import torch

MASKS = ("causal", "anticausal", "none", "window")


def structural_mask(kind: str, Tq: int, Tk: int | None = None, window: int | None = None,
                    device=None) -> torch.Tensor:
    """The (Tq, Tk) boolean mask of `kind`; queries are the last Tq of the Tk positions."""
    Tk = Tq if Tk is None else Tk
    i = torch.arange(Tk - Tq, Tk, device=device)[:, None]  # (Tq, 1) absolute query positions
    j = torch.arange(Tk, device=device)[None, :]  # (1, Tk) key positions
    if kind == "causal":
        return j <= i  # (Tq, Tk)
    if kind == "anticausal":
        return j >= i  # (Tq, Tk)
    if kind == "none":
        return torch.ones(Tq, Tk, dtype=torch.bool, device=device)  # (Tq, Tk)
    if kind == "window":
        if window is None or window < 1:
            raise ValueError(f"the window mask needs a width >= 1, got {window}")
        return (j <= i) & (j > i - window)  # (Tq, Tk)
    raise ValueError(f"unknown mask {kind!r}; choose from {', '.join(MASKS)}")


def causal_mask(T: int, device=None) -> torch.Tensor:
    """(T, T) lower-triangular boolean mask: position i may attend to positions 0..i."""
    return structural_mask("causal", T, T, device=device)


def padding_mask(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """(B, T) key padding mask from sequence lengths (B,): True on real tokens, False on padding."""
    return torch.arange(T, device=lengths.device)[None, :] < lengths[:, None]


def combine_masks(*masks: torch.Tensor | None) -> torch.Tensor | None:
    """AND together masks broadcastable to (B, nh, Tq, Tk); None entries are skipped.

    Shapes understood: (Tq, Tk) structural, (B, Tk) key padding, (B, Tq, Tk) per example,
    (B, nh or 1, Tq, Tk) fully general. Note the one ambiguity: a 2-D mask passed as an *extra*
    mask to `MultiHeadAttention.forward` is read as key padding (B, Tk), see `as_4d`.
    """
    out = None
    for m in masks:
        if m is None:
            continue
        out = m if out is None else out & m
    return out


def as_4d(mask: torch.Tensor, structural: bool = False) -> torch.Tensor:
    """View a boolean mask as (B or 1, nh or 1, Tq or 1, Tk) so it broadcasts against scores.

    2-D masks are key padding (B, Tk) unless `structural` is True, in which case they are (Tq, Tk).
    """
    if mask.dtype != torch.bool:
        raise TypeError(f"attention masks are boolean (True = may attend), got {mask.dtype}")
    if mask.dim() == 2:
        return mask[None, None] if structural else mask[:, None, None, :]
    if mask.dim() == 3:
        return mask[:, None]  # (B, 1, Tq, Tk)
    if mask.dim() == 4:
        return mask
    raise ValueError(f"a mask must have 2, 3 or 4 dimensions, got shape {tuple(mask.shape)}")
