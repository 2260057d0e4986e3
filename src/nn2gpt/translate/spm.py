"""Marian's tokenizer: two SentencePiece models (source, target) over one shared vocabulary.

The opus-mt models (Marian, imported by translate/marian.py) were trained with SentencePiece
(Kudo & Richardson, 2018): a unigram language model over subword pieces, learnt on raw text,
spaces kept as "▁". Each language has its own piece model (`source.spm`, `target.spm`), but the
ids come from one joint table (`vocab.json`, piece -> id), so the encoder's input embedding,
the decoder's and the output projection are still one matrix, as in our own BPE (bpe.py).

    source text -> source.spm pieces -> vocab ids, then </s>      (what the encoder reads)
    target text -> target.spm pieces -> vocab ids                   (what the decoder writes)

A piece that the joint table lacks is <unk>. Marian's decoder starts from <pad> (its
"decoder start token"): `bos_id` is that id here. A multilingual model's source starts with a
language code such as ">>fra<<", which is one token of the table, never cut into pieces.

The class answers the same questions as BPETokenizer (encode, decode, tokens, offsets,
unknown_characters...), so every tool of chapter 3 works with either. A checkpoint stores it as
JSON: both piece models (base64 of SentencePiece's own protobuf files, no pickle) and the table.
"""

from __future__ import annotations

import base64

from nn2gpt.errors import UserError

KIND = "sentencepiece-pair"


def _char_offsets(text: str, pieces: list[str]) -> list[tuple[int, int]]:
    """(start, end) character span of each piece in `text`: found in order, "▁" standing for the
    space before a word. (A piece SentencePiece's normalisation changed is not found, and spans
    nothing, at the place it would be.)"""
    spans, at = [], 0
    for piece in pieces:
        word = piece.replace("▁", " ").strip()
        start = text.find(word, at) if word else -1
        if start < 0:
            spans.append((at, at))
            continue
        at = start + len(word)
        spans.append((start, at))
    return spans


class SentencePiecePair:
    """Source and target SentencePiece models with one id table (Marian's tokenizer)."""

    def __init__(self, source_spm: bytes, target_spm: bytes, vocab: dict[str, int], unk: str = "<unk>",
                 eos: str = "</s>", pad: str = "<pad>", decoder_start: str = "<pad>"):
        import sentencepiece

        self.source_bytes, self.target_bytes, self.vocab = source_spm, target_spm, dict(vocab)
        self.names = {"unk": unk, "eos": eos, "pad": pad, "decoder_start": decoder_start}
        try:
            self.source, self.target = (sentencepiece.SentencePieceProcessor(model_proto=m)
                                        for m in (source_spm, target_spm))
        except (RuntimeError, OSError) as e:
            raise UserError(f"a SentencePiece model cannot be read ({e}); the tokenizer files are damaged") from None
        missing = [t for t in (unk, eos, pad, decoder_start) if t not in self.vocab]
        if missing:
            raise UserError(f"the vocabulary lacks the special token(s) {' '.join(missing)}; it is not a Marian vocabulary")
        self.itos = {i: t for t, i in self.vocab.items()}
        self.unk_id, self.eos_id, self.pad_id = self.vocab[unk], self.vocab[eos], self.vocab[pad]
        self.bos_id = self.vocab[decoder_start]  # what the decoder reads first
        self.special = {self.unk_id, self.eos_id, self.pad_id, self.bos_id}

    @property
    def vocab_size(self) -> int:
        return max(self.itos) + 1

    def _split_code(self, text: str) -> tuple[list[str], str]:
        """A leading language code (">>fra<<") is a token of its own."""
        if text.startswith(">>") and (end := text.find("<<")) != -1:
            return [text[: end + 2]], text[end + 2:]
        return [], text

    def _pieces(self, text: str, target: bool) -> list[str]:
        return (self.target if target else self.source).encode(text, out_type=str)

    def tokens(self, text: str, target: bool = False) -> list[str]:
        """The pieces of `text` (the strings the attention pictures are labelled with)."""
        code, rest = self._split_code(text)
        return code + self._pieces(rest, target)

    def encode(self, text: str, target: bool = False) -> list[int]:
        """Ids of `text` (no </s>): source pieces, or target pieces with target=True."""
        return [self.vocab.get(t, self.unk_id) for t in self.tokens(text, target)]

    def encode_batch(self, texts: list[str], target: bool = False) -> list[list[int]]:
        return [self.encode(t, target) for t in texts]

    def offsets(self, text: str, target: bool = False) -> list[tuple[int, int]]:
        """(start, end) character span of each token of `encode(text, target)`."""
        code, rest = self._split_code(text)
        shift = len(code[0]) if code else 0
        spans = [(a + shift, b + shift) for a, b in _char_offsets(rest, self._pieces(rest, target))]
        return [(0, shift)] * len(code) + spans

    def unknown_characters(self, text: str, target: bool = False) -> list[str]:
        """The characters of `text` that fall into pieces the table lacks (read as <unk>), each once."""
        code, rest = self._split_code(text)
        unknown = [p.replace("▁", "") for p in self._pieces(rest, target) if p not in self.vocab]
        return list(dict.fromkeys(ch for s in unknown for ch in s if not ch.isspace()))

    def id_to_token(self, i: int) -> str:
        return self.itos.get(int(i), self.names["unk"])

    def decode(self, ids: list[int]) -> str:
        """The target text of `ids`; special tokens (padding, </s>, <unk>) are dropped."""
        pieces = [self.itos[i] for i in map(int, ids) if i not in self.special and i in self.itos]
        return self.target.decode_pieces(pieces).replace("▁", " ").strip()

    def to_json(self) -> dict:
        return {"kind": KIND, "source_spm": base64.b64encode(self.source_bytes).decode("ascii"),
                "target_spm": base64.b64encode(self.target_bytes).decode("ascii"), "vocab": self.vocab, **self.names}

    @classmethod
    def from_json(cls, obj: dict) -> "SentencePiecePair":
        try:
            return cls(base64.b64decode(obj["source_spm"]), base64.b64decode(obj["target_spm"]), obj["vocab"],
                       obj["unk"], obj["eos"], obj["pad"], obj["decoder_start"])
        except (KeyError, TypeError, ValueError) as e:
            raise UserError(f"the saved SentencePiece tokenizer cannot be read ({type(e).__name__}: {e}); "
                            f"the model directory is corrupt, import it again") from None


def tokenizer_from_json(obj: dict):
    """The tokenizer a translation checkpoint stores: our BPE (bpe.py) or Marian's pair (this module)."""
    from nn2gpt.translate.bpe import BPETokenizer

    if isinstance(obj, dict) and obj.get("kind") == KIND:
        return SentencePiecePair.from_json(obj)
    return BPETokenizer.from_json(obj)
