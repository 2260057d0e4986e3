"""Text -> a trained Tokenizer: the pre-split, one of the two trainers, the special tokens.

The vocabulary size N counts every id: the 256 bytes, N - 256 - k merges, and the k special
tokens, which take the last ids. A text can give only so many merges (once every chunk is a
single token no pair is left), so a large N may end with fewer ids; `train` then says so in
its note, and the tokenizer is still whole and usable.

Special tokens are cut out of the training text before anything is counted: the text between
two of them is trained on, the special's own characters never are, so no merge learns
"<|endoftext|>" piece by piece or joins the end of one document to the start of the next.
"""

from __future__ import annotations

from nn2gpt.errors import UserError
from nn2gpt.tokens.bpe import Tokenizer
from nn2gpt.tokens.pairs import chunk_counts, chunks, split_pattern

TRAINERS = ("fast", "naive")


def check_specials(specials, flag: str = "--special") -> None:
    """UserError for a special token that is empty, given twice, or inside another one (a text
    holding the longer one would then hold the shorter one too, and which of them it means
    would depend on the order they are looked for)."""
    for s in specials:
        if not isinstance(s, str) or not s:
            raise UserError(f"{flag} {s!r} is empty; a special token needs some text, such as <|endoftext|>")
    seen = set()
    for s in specials:
        if s in seen:
            raise UserError(f"{flag} {s!r} is given twice; give each special token once")
        seen.add(s)
    for s in specials:
        for t in specials:
            if s != t and s in t:
                raise UserError(f"{flag} {t!r} contains {flag} {s!r}; a special token may not hold another "
                                f"(which one a text means would be ambiguous), choose distinct texts")


def check_request(vocab_size: int, specials=(), trainer: str = "fast") -> None:
    """UserError for a training that cannot be done, before any text is read."""
    check_specials(specials)
    if vocab_size < 256 + len(specials):
        also = f" + {len(specials)} special token(s)" if specials else ""
        raise UserError(f"--vocab-size {vocab_size} is too small: every byte-level tokenizer has the 256 byte "
                        f"values{also}, so give --vocab-size {256 + len(specials)} or more")
    if trainer not in TRAINERS:
        raise UserError(f"unknown trainer {trainer!r}; choose from {', '.join(TRAINERS)}")


def train(text: str, vocab_size: int, split: bool = True, specials=(), trainer: str = "fast",
          progress=None) -> tuple[Tokenizer, str | None]:
    """(the tokenizer, a note or None): the note says why it has fewer than `vocab_size` ids."""
    specials = list(specials)
    check_request(vocab_size, specials, trainer)
    pattern = split_pattern(split)
    pieces = _between_specials(text, specials)
    wanted = vocab_size - 256 - len(specials)
    if trainer == "naive":
        every = [c.encode("utf-8") for piece in pieces for c in chunks(piece, pattern)]
        from nn2gpt.tokens.naive import train_naive

        merges = train_naive(every, wanted, progress)
    else:
        counts = chunk_counts("", pattern)
        for piece in pieces:
            counts.update(chunk_counts(piece, pattern))
        from nn2gpt.tokens.fast import train_fast

        merges = train_fast(counts, wanted, progress)
    first = 256 + len(merges)
    tok = Tokenizer(merges, pattern, {s: first + i for i, s in enumerate(specials)})
    note = None
    if len(merges) < wanted:
        note = (f"the text gave only {len(merges)} merges, not {wanted}: after them every chunk is a single token "
                f"and no pair is left, so the vocabulary has {tok.vocab_size} ids, not {vocab_size}")
    return tok, note


def _between_specials(text: str, specials) -> list[str]:
    """The text with each special token's occurrences cut out: the pieces between them."""
    if not specials:
        return [text]
    import regex

    cut = regex.compile("|".join(regex.escape(s) for s in sorted(specials, key=len, reverse=True)))
    return [piece for piece in cut.split(text) if piece]
