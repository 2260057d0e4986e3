"""Subword round trip, token-count batches, and BLEU against the formula computed by hand."""

import math
from collections import Counter

import numpy as np
import pytest

from nn2gpt.translate.batches import collate, encode_pairs, token_batches
from nn2gpt.translate.bpe import BPETokenizer, train_bpe
from nn2gpt.translate.evaluate import bleu

CORPUS = ["La pizza salió del horno y sabía bien.", "The pizza came out of the oven and tasted good.",
          "¿Dónde está el gato?", "Where is the cat?", "Tom tiene 3,5 euros.", "Tom has 3.5 euros."] * 3


@pytest.fixture(scope="module")
def tok():
    return train_bpe(CORPUS, 200)


@pytest.mark.parametrize("text", ["La pizza salió del horno y sabía bien.", "¿Dónde está  el gato? ",
                                  "Tom has 3.5 euros.", "pizza"])
def test_bpe_round_trip_is_exact(tok, text):
    ids = tok.encode(text)
    assert all(isinstance(i, int) and 4 <= i < tok.vocab_size for i in ids)  # no specials inside text
    assert tok.decode(ids) == text  # spaces included: detokenization is exact


def test_unknown_characters_are_named_once_each_in_order(tok):
    assert tok.unknown_characters("La pizza salió del horno.") == []
    # "ñ", "🍕" and "这" are in no sentence of CORPUS, so they have no piece: the model would see <unk>
    assert tok.unknown_characters("La niña 🍕 这 niña.") == ["ñ", "🍕", "这"]
    assert tok.unk_id in tok.encode("🍕")


def test_bpe_specials_shared_vocab_and_json_round_trip(tok):
    assert (tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id) == (0, 1, 2, 3)
    assert tok.vocab_size <= 200  # a tiny corpus runs out of pairs to merge before 200
    again = BPETokenizer.from_json(tok.to_json())
    s = "The pizza tasted good."
    assert again.encode(s) == tok.encode(s)
    assert tok.decode([tok.bos_id] + tok.encode(s) + [tok.eos_id, tok.pad_id]) == s  # specials dropped
    # one vocabulary for both languages: "pizza" is the same token(s) on either side
    assert tok.encode("pizza") == tok.encode("La pizza")[-len(tok.encode("pizza")):]


def test_token_batches_respect_the_budget_and_cover_every_example_once(tok):
    pairs = [(CORPUS[i], CORPUS[i + 1]) for i in range(0, len(CORPUS), 2)]
    ex = encode_pairs(tok, pairs)
    for rng in (None, np.random.default_rng(0)):
        batches = token_batches(ex, max_tokens=40, rng=rng)
        assert sorted(i for b in batches for i in b) == list(range(len(ex)))
        for b in batches:
            src, tgt_in, tgt_out = collate(ex, b, tok.pad_id)
            assert len(b) == 1 or max(src.size, tgt_in.size + len(b)) <= 40
            assert (tgt_in[:, 0] == tok.bos_id).all() and np.array_equal(tgt_in[:, 1:], tgt_out[:, :-1])


def _naive_bleu(hyp: str, ref: str) -> float:
    """BLEU-4 of one pair from the definition: geometric mean of clipped n-gram precisions x BP."""
    h, r = hyp.split(), ref.split()
    logs = []
    for n in range(1, 5):
        hn = Counter(tuple(h[i:i + n]) for i in range(len(h) - n + 1))
        rn = Counter(tuple(r[i:i + n]) for i in range(len(r) - n + 1))
        logs.append(math.log(sum(min(c, rn[g]) for g, c in hn.items()) / sum(hn.values())))
    bp = 1.0 if len(h) > len(r) else math.exp(1 - len(r) / len(h))
    return 100 * bp * math.exp(sum(logs) / 4)


@pytest.mark.parametrize("hyp,ref", [
    ("the pizza came out of the oven and tasted good", "the pizza came out of the oven and tasted good"),
    ("the pizza came out of the oven and it tasted good", "the pizza came out of the oven and tasted good"),
    ("a pizza came out of the hot oven and tasted very good", "the pizza came out of the oven and tasted good"),
])
def test_bleu_of_known_pairs_matches_the_formula(hyp, ref):
    score, signature = bleu([hyp], [ref])
    assert score.score == pytest.approx(_naive_bleu(hyp, ref), abs=1e-6)
    assert "tok:13a" in signature and "case:mixed" in signature
