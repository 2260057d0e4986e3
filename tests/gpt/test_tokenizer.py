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
