"""The two trainers learn the same merges, by the one tie-break rule; encoding replays training."""

import random

import pytest

from nn2gpt.tokens import bpe
from nn2gpt.tokens.fast import train_fast
from nn2gpt.tokens.naive import train_naive
from nn2gpt.tokens.pairs import GPT2_SPLIT, chunk_counts, chunks, count_pairs, merge
from nn2gpt.tokens.train import train

TEXTS = [
    "aaaa",  # (a, a) overlaps itself: a a a a -> aa aa
    "aaa",  # -> aa a: the middle a joins the first pair only
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaa b aaaaaaa",
    "abababab aaab bbbbbba",
    "hello world, hello there! 123 1234 12345 hello\n\nhello   world\t!!",
    "🙂🙂🙂 ééé aaa ﷽ 日本語の文章 🙂 é",
    "the cat sat on the mat; the mat sat on the cat. " * 7,
    "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n",
]


@pytest.mark.parametrize("split", [True, False], ids=["split", "no-split"])
@pytest.mark.parametrize("text", TEXTS)
def test_both_trainers_give_the_same_merges(text, split):
    naive, _ = train(text, 400, split, trainer="naive")
    fast, _ = train(text, 400, split, trainer="fast")
    assert naive.merges == fast.merges
    assert len(naive.merges) > 0


def test_both_trainers_agree_on_many_random_texts_over_a_small_alphabet():
    """Few letters make many equal counts and long runs: the hard cases for the tie-break and overlaps."""
    rng = random.Random(7)
    for _ in range(150):
        text = "".join(rng.choice("aab b\n") for _ in range(rng.randint(0, 80)))
        for split in (True, False):
            a, _ = train(text, 300, split, trainer="naive")
            b, _ = train(text, 300, split, trainer="fast")
            assert a.merges == b.merges, (text, split)


def test_both_trainers_agree_where_one_merge_has_thousands_of_places():
    """A real text without the pre-split: each merge changes thousands of places at once, among
    them neighbouring merges (`a b a b`) and runs of one byte (spaces, dashes)."""
    from nn2gpt.data.text import read_text

    text = read_text(None)[:30000] + " ---- " * 50 + "abab" * 300
    data = text.encode("utf-8")
    assert train_fast({data: 1}, 60) == train_naive([data], 60)
    counts = chunk_counts(text, GPT2_SPLIT)
    assert train_fast(counts, 120) == train_naive([c.encode() for c in chunks(text, GPT2_SPLIT)], 120)


def test_the_tie_break_takes_the_smallest_ids_not_the_first_seen():
    # every pair occurs once: (c, d) comes first in the text, but (a, b) has the smaller ids
    for trainer in ("naive", "fast"):
        tok, _ = train("cdab", 257, split=False, trainer=trainer)
        assert tok.merges == [(ord("a"), ord("b"))]
    # a higher count beats smaller ids
    tok, _ = train("ab yzyzyz", 257, split=False)
    assert tok.merges == [(ord("y"), ord("z"))]


def test_overlapping_runs_count_and_merge_left_to_right():
    assert count_pairs([1, 1, 1]) == {(1, 1): 2}
    assert merge([1, 1, 1], (1, 1), 9) == [9, 1]
    assert merge([1, 1, 1, 1], (1, 1), 9) == [9, 9]
    tok, _ = train("aaaa", 300, split=False)
    assert tok.merges == [(97, 97), (256, 256)]  # aa, then aaaa; then nothing is left


def test_the_fast_trainer_weighs_equal_chunks_by_their_count():
    counts = chunk_counts("ab ab ab cd", GPT2_SPLIT)
    assert counts == {b"ab": 1, b" ab": 2, b" cd": 1}
    every = [c.encode() for c in chunks("ab ab ab cd", GPT2_SPLIT)]
    assert train_fast(counts, 10) == train_naive(every, 10)


def test_a_text_that_runs_out_of_pairs_stops_with_a_note():
    tok, note = train("abc abc", 1000)
    assert tok.vocab_size == 256 + len(tok.merges) < 1000
    assert note and f"only {len(tok.merges)} merges" in note and "1000" in note
    full, note = train("abc abc", tok.vocab_size)
    assert note is None and full.merges == tok.merges


def _replay(tok, text):
    """Training's own cut of `text`: each chunk's bytes with every merge applied in order."""
    out = []
    for chunk in chunks(text, tok.pattern):
        ids = list(chunk.encode("utf-8"))
        for i, pair in enumerate(tok.merges):
            ids = merge(ids, pair, 256 + i)
        out += ids
    return out


@pytest.mark.parametrize("split", [True, False], ids=["split", "no-split"])
def test_encoding_by_rank_reproduces_trainings_cut(split):
    text = TEXTS[6] + TEXTS[7] + TEXTS[2]
    tok, _ = train(text, 330, split)
    assert tok.encode(text) == _replay(tok, text)
    other = "the question of the cat, aaaaaa 🙂"  # a text it was not trained on
    assert tok.encode(other) == _replay(tok, other)


def test_the_heap_path_for_long_chunks_equals_the_plain_loop(monkeypatch):
    text = ("abab aaaa abba " * 20) + TEXTS[7]
    tok, _ = train(text, 320, split=False)
    data = text.encode()
    assert len(data) > bpe.LONG_CHUNK
    long_way = tok._merge_chunk(data)
    monkeypatch.setattr(bpe, "LONG_CHUNK", 10 ** 9)
    assert tok._merge_chunk(data) == long_way == _replay(tok, text)


def test_special_tokens_take_the_last_ids_and_are_cut_out_of_training():
    text = "one doc<|endoftext|>another doc<|endoftext|>"
    tok, note = train(text, 262, specials=["<|endoftext|>"])
    assert note is None and tok.specials == {"<|endoftext|>": 261} and tok.vocab_size == 262
    learnt = {tok.vocab[256 + i] for i in range(len(tok.merges))}
    assert not any(b"|" in piece or b"endoftext" in piece for piece in learnt)
