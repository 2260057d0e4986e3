"""Text <-> integers: a character tokenizer and GPT-2's byte-pair encoding.

The character tokenizer is the one of "Let's build GPT": the vocabulary is the sorted set of
characters in the training text (65 for Tiny Shakespeare), one token per character.

GPT-2's BPE (50257 tokens) is tiktoken's fast implementation, but built OFFLINE from the two
files OpenAI published (encoder.json, vocab.bpe), fetched and sha256-checked by
`nn2gpt.data.fetch` like every other dataset; tiktoken's own downloader is never used.

numpy-free and torch-free on purpose: the numpy GPT (chapter 5) uses this module too.
A tokenizer is saved in a checkpoint as JSON (`to_json`) and rebuilt by `tokenizer_from_json`.
"""

from __future__ import annotations

from nn2gpt.errors import UserError

from nn2gpt.tokens.pairs import GPT2_EOT, GPT2_EOT_ID, GPT2_SPLIT  # noqa: F401 - GPT-2's pre-split, chapter 0's


class CharTokenizer:
    """One token per character; the vocabulary is fixed when the tokenizer is made."""

    def __init__(self, chars: str):
        self.chars = "".join(sorted(set(chars)))
        self.stoi = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        return cls(text)

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        unknown = sorted(set(text) - self.stoi.keys())
        if unknown:
            shown = ", ".join(repr(c) for c in unknown[:20]) + (" ..." if len(unknown) > 20 else "")
            raise UserError(f"the text has {len(unknown)} character(s) the model's vocabulary lacks: {shown}; "
                            f"remove them or retrain on a text that contains them")
        if len(self.chars) <= 256:  # each character to the one byte of its id, in C: a megabyte in 40 ms, not 100
            table = {ord(c): chr(i) for i, c in enumerate(self.chars)}
            return list(text.translate(table).encode("latin-1"))
        return [self.stoi[c] for c in text]

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)

    def to_json(self) -> dict:
        return {"type": "char", "chars": self.chars}


class GPT2Tokenizer:
    """GPT-2's byte-level BPE via tiktoken, from local copies of OpenAI's files.

    Byte-level means every string can be encoded: there are no unknown characters.
    """

    def __init__(self, data_dir=None):
        from nn2gpt.data import fetch

        vocab_bpe = fetch("gpt2", "vocab.bpe", data_dir)
        encoder_json = fetch("gpt2", "encoder.json", data_dir)
        self._enc = _gpt2_encoding(str(vocab_bpe), str(encoder_json))

    @property
    def vocab_size(self) -> int:
        return self._enc.n_vocab  # 50257

    def encode(self, text: str) -> list[int]:
        # "<|endoftext|>" in user text is encoded as ordinary characters, never as the special token.
        return self._enc.encode_ordinary(text)

    def decode(self, ids) -> str:
        return self._enc.decode([int(i) for i in ids])

    def decode_bytes(self, ids) -> bytes:
        """Raw bytes: a single BPE token can be part of a multi-byte UTF-8 character."""
        return self._enc.decode_bytes([int(i) for i in ids])

    def to_json(self) -> dict:
        return {"type": "gpt2"}


_ENCODINGS: dict = {}  # (vocab.bpe, encoder.json) -> its tiktoken Encoding, built once per process


def _gpt2_encoding(vocab_bpe: str, encoder_json: str):
    """The Encoding of the two files, which fetch has just checked against their sha256: the same
    bytes every time, so a process that loads several GPT-2-tokenized runs (the studio) parses the
    50,000 merges once (a third of a second), not once per run. An Encoding is never changed."""
    key = (vocab_bpe, encoder_json)
    if key not in _ENCODINGS:
        import tiktoken
        from tiktoken.load import data_gym_to_mergeable_bpe_ranks

        ranks = data_gym_to_mergeable_bpe_ranks(vocab_bpe_file=vocab_bpe, encoder_json_file=encoder_json)
        _ENCODINGS[key] = tiktoken.Encoding(name="gpt2-offline", pat_str=GPT2_SPLIT, mergeable_ranks=ranks,
                                            special_tokens={GPT2_EOT: GPT2_EOT_ID})
    return _ENCODINGS[key]


BPE_VOCAB = 512  # --tokenizer bpe without --vocab-size


def make_tokenizer(kind: str, text: str, data_dir=None, vocab_size: int | None = None):
    """The tokenizer for training: 'char' (vocabulary from `text`), 'gpt2', or 'bpe' (chapter 0's
    byte-level BPE, trained here on `text` to `vocab_size` ids: give it the training split only,
    nn2gpt.gpt.batches.training_text, so no merge is learnt from the validation text)."""
    if vocab_size is not None and kind != "bpe":
        fixed = "the text's characters" if kind == "char" else "GPT-2's 50257 tokens"
        raise UserError(f"--vocab-size sets the size of a BPE trained here, so it goes with --tokenizer bpe; "
                        f"--tokenizer {kind} has {fixed}: drop --vocab-size")
    if kind == "char":
        return CharTokenizer.from_text(text)
    if kind == "gpt2":
        return GPT2Tokenizer(data_dir)
    if kind == "bpe":
        from nn2gpt.tokens.train import train

        tok, _ = train(text, vocab_size or BPE_VOCAB)  # a text too small for every merge gives fewer ids
        return tok
    raise UserError(f"unknown tokenizer {kind!r}; choose char, gpt2 or bpe")


def tokenizer_from_json(d: dict, data_dir=None):
    """Rebuild the tokenizer saved in a checkpoint."""
    kind = d.get("type") if isinstance(d, dict) else None
    if kind == "char" and isinstance(d.get("chars"), str) and d["chars"]:
        return CharTokenizer(d["chars"])
    if kind == "gpt2":
        return GPT2Tokenizer(data_dir)
    if kind == "bpe":
        from nn2gpt.tokens.store import from_json

        return from_json(d)
    shown = repr(d) if len(repr(d)) < 120 else repr(d)[:120] + "..."
    raise UserError(f"the checkpoint's tokenizer {shown} is not understood; expected type char, gpt2 or bpe")


def bytes_per_token(tok, ids) -> float:
    """UTF-8 bytes per token of the text that `ids` encode (1.0 for ASCII text in characters,
    about 4 for English in GPT-2's BPE). What `bits_per_byte` needs to put runs with different
    vocabularies on one scale."""
    ids = list(ids)
    return len(tok.decode(ids).encode("utf-8")) / max(len(ids), 1)


def bits_per_byte(loss: float, per_token_bytes: float) -> float:
    """A loss per token (nats) as bits per byte of the text: loss x tokens / bytes / ln 2.

    A loss per token cannot be compared across vocabularies: a model over GPT-2's 50,257 tokens
    predicts about 4 bytes a token, one over 65 characters one byte, so the first's loss is
    naturally higher. Per byte of text, in bits, the two measure the same thing: how many bits
    the model needs to write the validation text down. Computed from the validation split's
    average bytes per token (the batches sample windows of it at random, so their average is
    that split's)."""
    import math

    return loss / per_token_bytes / math.log(2)


def prompt_ids(tok, prompt: str) -> list[int]:
    """The prompt as token ids; an empty prompt starts from a newline (char, bpe) or <|endoftext|> (gpt2)."""
    if prompt:
        return tok.encode(prompt)
    if hasattr(tok, "stoi"):
        return [tok.stoi["\n"]] if "\n" in tok.stoi else [0]
    if isinstance(tok, GPT2Tokenizer):
        return [GPT2_EOT_ID]
    return tok.encode("\n")


def text_pieces(tok, tokens):
    """Token ids -> text, piece by piece, as they come (both engines' samplers stream through this).

    A GPT-2 token is a few bytes that can end inside a multi-byte UTF-8 character, so bytes are
    decoded incrementally and a half character waits for the rest."""
    import codecs

    utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
    for token in tokens:
        piece = utf8.decode(tok.decode_bytes([token])) if hasattr(tok, "decode_bytes") else tok.decode([token])
        if piece:
            yield piece
    tail = utf8.decode(b"", final=True)
    if tail:
        yield tail
