"""decode(encode(s)) == s for every string; ids that cut a character: decode_bytes exact, decode U+FFFD."""

import random

import pytest

from nn2gpt.errors import UserError
from nn2gpt.tokens.train import train

TRAIN_TEXT = ("To be, or not to be, that is the question: 'tis nobler in the mind to suffer "
              "the slings and arrows. Ça va? Très bien 👋🙂🙂 日本語 123 4567\n\n") * 5


@pytest.fixture(scope="module")
def toks():
    return {split: train(TRAIN_TEXT, 400, split, specials=["<|endoftext|>"])[0] for split in (True, False)}


def random_text(rng, n):
    """Characters from every part of Unicode, emoji, joiners and whitespace more often."""
    pool = [(0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x6FF), (0x900, 0x97F),
            (0x3040, 0x30FF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0x1F300, 0x1FAFF), (0x0, 0x10FFFF)]
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.1:
            out.append(rng.choice([" ", "\n", "\t", "\r", "\u00a0", "\u3000", "\u200d", "\ufe0f", "'s", "'ll"]))
            continue
        lo, hi = rng.choice(pool)
        c = rng.randint(lo, hi)
        out.append("?" if 0xD800 <= c <= 0xDFFF else chr(c))  # a lone surrogate is not text UTF-8 can write
    return "".join(out)


@pytest.mark.parametrize("split", [True, False], ids=["split", "no-split"])
def test_every_string_comes_back(toks, split):
    tok = toks[split]
    rng = random.Random(2024)
    for _ in range(400):
        s = random_text(rng, rng.randint(0, 50))
        ids = tok.encode(s)
        assert all(0 <= i < tok.vocab_size for i in ids)
        assert tok.decode(ids) == s
        assert tok.decode_bytes(ids) == s.encode("utf-8")
    for s in ["", "👨‍👩‍👧‍👦", "🏳️‍🌈 flags", "e\u0301 combining", "\x00\x01 control", TRAIN_TEXT]:
        assert tok.decode(tok.encode(s)) == s


def test_ids_that_cut_a_character(toks):
    tok = toks[True]
    ids = tok.encode("é")  # two bytes, C3 A9
    assert tok.decode_bytes(ids) == b"\xc3\xa9"
    assert tok.decode([0xC3]) == "\ufffd" and tok.decode_bytes([0xC3]) == b"\xc3"
    assert tok.decode([0xC3, 0x41]) == "\ufffdA"
    rng = random.Random(5)
    for _ in range(200):  # any ids at all: decode_bytes is their bytes exactly, decode never fails
        ids = [rng.randrange(tok.vocab_size) for _ in range(rng.randint(0, 12))]
        data = b"".join(tok.vocab[i] for i in ids)
        assert tok.decode_bytes(ids) == data
        assert tok.decode(ids) == data.decode("utf-8", errors="replace")


def test_a_special_tokens_text_is_that_token_only_when_asked(toks):
    tok = toks[True]
    eot = tok.specials["<|endoftext|>"]
    assert eot == tok.vocab_size - 1
    s = "a<|endoftext|>b"
    plain, special = tok.encode(s), tok.encode(s, specials=True)
    assert eot not in plain and tok.decode(plain) == s
    assert special.count(eot) == 1 and tok.decode(special) == s


def test_an_id_outside_the_vocabulary_is_refused(toks):
    tok = toks[True]
    with pytest.raises(UserError, match=f"token id {tok.vocab_size} is not one of this tokenizer's ids"):
        tok.decode([1, tok.vocab_size])
    with pytest.raises(UserError, match="token id -1"):
        tok.decode_bytes([-1])
