"""GPT-2's merges in our code give tiktoken's ids, on whole corpora and on random Unicode."""

import random

import pytest

from nn2gpt.gpt.tokenizer import GPT2Tokenizer
from nn2gpt.tokens.gpt2 import byte_to_unicode, load_gpt2


@pytest.fixture(scope="module")
def ours():
    return load_gpt2()


@pytest.fixture(scope="module")
def tiktoken_gpt2():
    return GPT2Tokenizer()  # tiktoken's Rust encoder, built from the same two files


def test_the_byte_table_spells_every_byte_with_its_own_printable_character():
    table = byte_to_unicode()
    assert len(set(table.values())) == 256 and all(c.isprintable() and not c.isspace() for c in table.values())
    assert table[ord(" ")] == "Ġ" and table[ord("\n")] == "Ċ" and table[ord("A")] == "A"
    assert sum(table[b] == chr(b) for b in range(256)) == 188


def test_the_vocabulary_is_gpt2s(ours):
    assert ours.vocab_size == 50257 and len(ours.merges) == 50000
    assert ours.specials == {"<|endoftext|>": 50256}
    assert ours.vocab[ours.byte_ids[ord("!")]] == b"!" and ours.byte_ids[ord("!")] == 0
    assert ours.encode("<|endoftext|>", specials=True) == [50256]
    assert ours.encode(" the") == [262] and ours.vocab[262] == b" the"


def _corpora(data_dir):
    from nn2gpt.data.text import read_text
    from nn2gpt.data.translation import load_multi30k, read_tatoeba_pairs

    multi30k = [pair for split in load_multi30k(data_dir).values() for pair in split]
    tatoeba = read_tatoeba_pairs(data_dir)
    yield "tiny shakespeare", read_text(None, data_dir)
    for name, pairs in (("multi30k", multi30k), ("tatoeba", tatoeba)):
        for side, language in enumerate(("source", "target")):
            yield f"{name} {language}", "\n".join(pair[side] for pair in pairs) + "\n"


def test_whole_corpora_encode_to_tiktokens_ids(ours, tiktoken_gpt2, data_dir):
    seen = 0
    for name, text in _corpora(data_dir):
        ids = ours.encode(text)
        assert ids == tiktoken_gpt2.encode(text), name
        assert ours.decode(ids) == text
        seen += len(text)
    assert seen > 10_000_000  # all five texts, whole: some 13 MB of characters


def test_random_unicode_encodes_to_tiktokens_ids(ours, tiktoken_gpt2):
    rng = random.Random(1234)
    for _ in range(2000):
        chars = []
        for _ in range(rng.randint(0, 30)):
            r = rng.random()
            if r < 0.3:
                c = rng.randint(0x20, 0x7E)
            elif r < 0.4:
                c = ord(rng.choice(" \n\t\r\u00a0\u2009\u3000'"))
            elif r < 0.7:
                c = rng.randint(0x1F300, 0x1FAFF)  # emoji
            else:
                c = rng.randint(0, 0x10FFFF)
            chars.append(chr(c) if not 0xD800 <= c <= 0xDFFF else "x")
        s = "".join(chars)
        assert ours.encode(s) == tiktoken_gpt2.encode(s), repr(s)


def test_a_cut_emoji_decodes_to_replacement_characters(ours):
    ids = ours.encode("👋")
    assert len(ids) == 2 and ours.decode(ids) == "👋"
    assert ours.decode_bytes(ids[:1]) == "👋".encode()[:len(ours.vocab[ids[0]])]
    assert "\ufffd" in ours.decode(ids[:1])
