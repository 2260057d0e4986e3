"""Training and validation batches from one long array of token ids.

A language model learns from windows of the text: `x` is `block_size` tokens, `y` is the same
window shifted one to the right, so position t of `y` is the token that follows x[:t+1].

- `split`: the first 90% of the tokens train, the last 10% validate (as nanoGPT does, so
  validation losses compare with its numbers).
- `get_batch`: random windows for training, drawn from a numpy Generator the caller owns
  (its state is saved in checkpoints, so `--resume` draws exactly the batches it would have).
- `val_batches`: a FIXED set of windows, evenly spaced over the validation text. Every
  evaluation, in every run, scores the same windows, so val loss is deterministic and two runs
  (or two models) compare on exactly the same data.

numpy only (no torch): the numpy GPT (chapter 5) uses it too.
"""

from __future__ import annotations

import numpy as np

from nn2gpt.errors import UserError

VAL_FRACTION = 0.1


_LAST: list = []  # [text, the tokenizer's JSON, its ids]: the last text a fixed tokenizer encoded


def encode_text(tokenizer, text: str) -> np.ndarray:
    """The whole text as one int64 array of token ids. The lab encodes one text for each of its dozens of
    variants: a character or GPT-2 tokenizer, whose ids follow from its JSON alone, gives a copy of the last
    text's ids when the same text and JSON come again (any other, a learner's BPE say, encodes every time)."""
    import json

    from nn2gpt.gpt.tokenizer import CharTokenizer, GPT2Tokenizer

    if type(tokenizer) not in (CharTokenizer, GPT2Tokenizer):
        return np.asarray(tokenizer.encode(text), dtype=np.int64)
    spec = json.dumps(tokenizer.to_json(), sort_keys=True)
    if not (_LAST and _LAST[1] == spec and _LAST[0] == text):
        _LAST[:] = [text, spec, np.asarray(tokenizer.encode(text), dtype=np.int64)]
    return _LAST[2].copy()


def split(ids: np.ndarray, block_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, val): the first 90% and the last 10% of `ids`.

    Both parts need more than `block_size` tokens, since a window plus its next-token
    target spans block_size + 1 tokens.
    """
    n = int(len(ids) * (1 - VAL_FRACTION))
    train, val = ids[:n], ids[n:]
    if len(val) <= block_size:
        need = int(np.ceil((block_size + 1) / VAL_FRACTION))
        raise UserError(f"the text is too short: {len(ids)} tokens give a validation part of {len(val)}, but "
                        f"block size {block_size} needs more than {block_size} there; give a text of at least "
                        f"{need} tokens or a smaller --block-size")
    return train, val


def training_text(text: str) -> str:
    """The first 90% of `text`, by characters: what a tokenizer trained for the run may learn from."""
    return text[:int(len(text) * (1 - VAL_FRACTION))]


def encode_and_split(tokenizer, text: str, block_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) ids of `text`. A BPE trained for this run learnt its merges from
    `training_text` alone, so its two splits are cut where that text ends: no token of the
    validation text is trained on and no merge comes from it. The character and GPT-2
    tokenizers learn nothing from the text's order, and keep the 90/10 cut of the ids (`split`)."""
    if tokenizer.to_json().get("type") != "bpe":
        return split(encode_text(tokenizer, text), block_size)
    head = training_text(text)
    train, val = encode_text(tokenizer, head), encode_text(tokenizer, text[len(head):])
    if len(val) <= block_size:
        split(np.concatenate([train, val]), block_size)  # the same one-line error as every tokenizer's
        raise UserError(f"the text's last 10% gives {len(val)} tokens, but block size {block_size} needs more; "
                        f"give a longer text or a smaller --block-size")
    return train, val


def windows(data: np.ndarray, starts: np.ndarray, block_size: int) -> tuple[np.ndarray, np.ndarray]:
    """x, y of shape (len(starts), block_size): the windows starting at `starts`."""
    offsets = starts[:, None] + np.arange(block_size)[None, :]  # (B, T)
    return data[offsets].astype(np.int64), data[offsets + 1].astype(np.int64)


def get_batch(data: np.ndarray, block_size: int, batch_size: int,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A batch of `batch_size` random windows: x, y int64 arrays of shape (B, T)."""
    starts = rng.integers(0, len(data) - block_size, size=batch_size)  # last start leaves room for y
    return windows(data, starts, block_size)


def val_batches(data: np.ndarray, block_size: int, batch_size: int,
                n_batches: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """`n_batches` fixed batches of windows spread evenly over `data` (no randomness at all)."""
    n = n_batches * batch_size
    starts = np.linspace(0, len(data) - block_size - 1, num=n).round().astype(np.int64)
    x, y = windows(data, starts, block_size)
    return [(x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, n, batch_size)]
