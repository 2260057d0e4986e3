"""A subword BPE vocabulary shared by source and target, trained with Hugging Face `tokenizers`.

Why shared: with one vocabulary the encoder's input embedding, the decoder's input embedding
and the decoder's output projection can all be the *same* matrix (the paper ties all three),
and words spelt alike in both languages ("pizza", "Tom", numbers) get the same pieces.

Why subwords: a word vocabulary cannot spell a word it never saw; characters make sequences
long. BPE starts from characters and merges the most frequent adjacent pair, again and again,
until the vocabulary has `vocab_size` entries: common words end up as one token, rare ones as
a few pieces ("horno" -> "▁hor" "no").

Spaces are kept as the marker "▁" at the start of a piece (the SentencePiece convention,
`Metaspace`), so decoding is exact: pieces are concatenated and "▁" turned back into a space.
That is what lets sacreBLEU score our *detokenized* output against the raw references.
"""

from __future__ import annotations

import json

from nn2gpt.errors import UserError

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIALS = [PAD, UNK, BOS, EOS]  # ids 0, 1, 2, 3 in this order (the trainer adds them first)


class BPETokenizer:
    """Thin wrapper: encode a sentence to ids (no BOS/EOS), decode ids back to text.

    `target=True` asks for the target side; one vocabulary serves both here, so it changes
    nothing (Marian's tokenizer, spm.py, has one piece model per side)."""

    def __init__(self, hf_tokenizer):
        self.hf = hf_tokenizer
        self.pad_id, self.unk_id, self.bos_id, self.eos_id = (self.hf.token_to_id(t) for t in SPECIALS)
        if None in (self.pad_id, self.unk_id, self.bos_id, self.eos_id):
            raise UserError("the tokenizer lacks the special tokens <pad> <unk> <s> </s>; it is not "
                            "an nn2gpt translation tokenizer, retrain the model")

    @property
    def vocab_size(self) -> int:
        return self.hf.get_vocab_size()

    def encode(self, text: str, target: bool = False) -> list[int]:
        return self.hf.encode(text).ids

    def encode_batch(self, texts: list[str], target: bool = False) -> list[list[int]]:
        return [e.ids for e in self.hf.encode_batch(texts)]  # parallel in Rust

    def tokens(self, text: str, target: bool = False) -> list[str]:
        """The subword strings, for labelling attention pictures."""
        return self.hf.encode(text).tokens

    def offsets(self, text: str, target: bool = False) -> list[tuple[int, int]]:
        """(start, end) character span of each token of `encode(text)`."""
        return self.hf.encode(text).offsets

    def unknown_characters(self, text: str, target: bool = False) -> list[str]:
        """The characters of `text` that no piece of the vocabulary covers (the model would read
        each as <unk>: nothing), in order, each once."""
        enc = self.hf.encode(text)
        return list(dict.fromkeys(text[a:b] for i, (a, b) in zip(enc.ids, enc.offsets) if i == self.unk_id))

    def id_to_token(self, i: int) -> str:
        return self.hf.id_to_token(i)

    def decode(self, ids: list[int]) -> str:
        """Text of `ids`; special tokens (padding, BOS, EOS) are dropped."""
        return self.hf.decode(list(ids), skip_special_tokens=True)

    def to_json(self) -> dict:
        """The whole tokenizer as a JSON object (what checkpoints and tokenizer.json store)."""
        return json.loads(self.hf.to_str())

    @classmethod
    def from_json(cls, obj: dict) -> "BPETokenizer":
        from tokenizers import Tokenizer

        try:
            return cls(Tokenizer.from_str(json.dumps(obj)))
        except Exception as e:  # tokenizers raises plain Exceptions for malformed JSON
            raise UserError(f"the saved tokenizer cannot be read ({e}); the model directory is corrupt, retrain it") from None


def train_bpe(sentences, vocab_size: int) -> BPETokenizer:
    """Learn a BPE vocabulary of `vocab_size` tokens from an iterable of sentences."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=UNK))
    tok.normalizer = normalizers.NFC()  # "é" as one code point, however the user typed it
    # Split at spaces (kept as "▁"), then punctuation off words: "bien." -> "▁bien" "." so the
    # vocabulary does not spend entries on "bien.", "bien?", "bien!"...
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always"),
        pre_tokenizers.Punctuation(behavior="isolated")])
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, show_progress=False)
    tok.train_from_iterator(sentences, trainer=trainer)
    return BPETokenizer(tok)
