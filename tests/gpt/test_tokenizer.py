"""Tokenizers: the char tokenizer round-trips; GPT-2 BPE, built offline, gives OpenAI's ids."""

import pytest

from nn2gpt.errors import UserError
from nn2gpt.gpt.tokenizer import CharTokenizer, GPT2Tokenizer, tokenizer_from_json


def test_char_round_trip_and_vocab():
    tok = CharTokenizer.from_text("hello world")
    assert tok.chars == " dehlorw" and tok.vocab_size == 8
    assert tok.encode("hello") == [3, 2, 4, 4, 5]
    assert tok.decode(tok.encode("world hello")) == "world hello"
    assert tokenizer_from_json(tok.to_json()).encode("low") == tok.encode("low")


def test_char_unknown_characters_are_named():
    tok = CharTokenizer.from_text("abc")
    with pytest.raises(UserError, match=r"'X', 'Z'"):
        tok.encode("aXbZ")


def test_gpt2_offline_matches_known_ids(data_dir):
    tok = GPT2Tokenizer(data_dir)
    assert tok.vocab_size == 50257
    # Known GPT-2 ids (the same as the `gpt2` tokenizer on the Hugging Face hub).
    assert tok.encode("Hello world") == [15496, 995]
    assert tok.encode(" the") == [262]
    assert tok.encode("I'm") == [40, 1101]
    text = "First Citizen:\nBefore we proceed any further, hear me speak. ünïcödé 123"
    assert tok.decode(tok.encode(text)) == text
    assert tokenizer_from_json(tok.to_json(), data_dir).encode("Hello world") == [15496, 995]


def test_bad_tokenizer_json():
    with pytest.raises(UserError):
        tokenizer_from_json({"type": "wordpiece"})


def test_a_text_encoded_again_gives_the_same_ids_in_an_array_of_its_own():
    """encode_text keeps the last text's ids for a character or GPT-2 tokenizer: the same ids, a copy each
    time (a caller that writes into it changes nothing for the next), another text or vocabulary encoded anew."""
    import numpy as np

    from nn2gpt.gpt.batches import encode_text

    text = "to be, or not to be\n" * 50
    tok = CharTokenizer(text)
    first = encode_text(tok, text)
    assert first.dtype == np.int64 and first.tolist() == [tok.stoi[c] for c in text]
    first[:] = 0
    again = encode_text(CharTokenizer(text), text)
    assert again.tolist() == [tok.stoi[c] for c in text]
    other = CharTokenizer(text + "ABC")  # another vocabulary: other ids for the same text
    assert encode_text(other, text).tolist() == [other.stoi[c] for c in text] != again.tolist()
    assert encode_text(tok, text[:-1]).tolist() == again.tolist()[:-1]


def test_a_large_vocabulary_encodes_past_one_byte_ids():
    chars = "".join(chr(0x4E00 + i) for i in range(300))
    tok = CharTokenizer(chars)
    assert tok.encode(chars[::-1]) == list(range(299, -1, -1))
    assert tok.decode(tok.encode(chars)) == chars
