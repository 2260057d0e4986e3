"""Subword round trip, token-count batches, and BLEU against the formula computed by hand."""

import math
import re
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


def _tokens_13a(text: str) -> list[str]:
    """sacreBLEU's default tokenization, 13a (mteval-v13a), for text without hyphens: each ASCII
    symbol but "'", "-", "." and "," is a token of its own; "." and "," are too, unless they sit
    between two digits ("3.5" stays whole). Non-ASCII marks ("¿") stay on their word. Case is kept."""
    text = re.sub(r"[!-&(-+/:-@\[-`{-~]", r" \g<0> ", text)
    return re.sub(r"(?<!\d)[.,]|[.,](?!\d)", r" \g<0> ", text).split()


def _naive_bleu(hyps: list[str], refs: list[str], tokens=_tokens_13a) -> tuple[float, float, int, int]:
    """Corpus BLEU-4 from its definition (Papineni et al. 2002), one reference per sentence:
    clipped n-gram matches and n-gram counts are summed over ALL sentences before dividing
    (p_n), as are the lengths (c: hypotheses, r: references); BLEU = BP * exp(mean of log p_n)
    with BP = 1 if c > r else exp(1 - r / c). -> (100 * BLEU, BP, c, r)."""
    matches, totals, c, r = [0] * 4, [0] * 4, 0, 0
    for hyp, ref in zip(hyps, refs, strict=True):
        h, g = tokens(hyp), tokens(ref)
        c, r = c + len(h), r + len(g)
        for n in range(1, 5):
            hn = Counter(tuple(h[i:i + n]) for i in range(len(h) - n + 1))
            rn = Counter(tuple(g[i:i + n]) for i in range(len(g) - n + 1))
            matches[n - 1] += sum(min(k, rn[gram]) for gram, k in hn.items())
            totals[n - 1] += sum(hn.values())
    assert all(matches), "a case with no matching n-gram of some order would need smoothing"
    bp = 1.0 if c > r else math.exp(1 - r / c)
    return 100 * bp * math.exp(sum(math.log(m / t) for m, t in zip(matches, totals)) / 4), bp, c, r


def test_the_reference_tokenization_is_13a():
    assert _tokens_13a("Hello, world.") == ["Hello", ",", "world", "."]
    assert _tokens_13a("Tom has 3.5 euros, not 4!") == ["Tom", "has", "3.5", "euros", ",", "not", "4", "!"]
    assert _tokens_13a("¿Dónde está el gato?") == ["¿Dónde", "está", "el", "gato", "?"]
    assert _tokens_13a("(a+b)/2 = 1.5; ok") == ["(", "a", "+", "b", ")", "/", "2", "=", "1.5", ";", "ok"]


@pytest.mark.parametrize("hyp,ref", [
    ("the pizza came out of the oven and tasted good", "the pizza came out of the oven and tasted good"),
    ("the pizza came out of the oven and it tasted good", "the pizza came out of the oven and tasted good"),
    ("a pizza came out of the hot oven and tasted very good", "the pizza came out of the oven and tasted good"),
])
def test_bleu_of_known_pairs_matches_the_formula(hyp, ref):
    score, signature = bleu([hyp], [ref])
    assert score.score == pytest.approx(_naive_bleu([hyp], [ref])[0], abs=1e-6)
    assert "tok:13a" in signature and "case:mixed" in signature


@pytest.mark.parametrize("hyp,ref", [
    ("the pizza came out of the oven", "the pizza came out of the oven and tasted good"),
    ("a pizza came out of the oven and tasted", "the pizza came out of the hot oven and tasted good"),
])
def test_a_short_hypothesis_pays_the_brevity_penalty(hyp, ref):
    expected, bp, c, r = _naive_bleu([hyp], [ref])
    assert c < r and bp < 0.9
    score, _ = bleu([hyp], [ref])
    assert (score.sys_len, score.ref_len) == (c, r)
    assert score.bp == pytest.approx(bp, abs=1e-9)
    assert score.score == pytest.approx(expected, abs=1e-6)


def test_corpus_bleu_pools_counts_and_lengths_over_sentences():
    hyps = ["the cat sat on the mat", "a dog ran in the big green park today", "Tom has 3.5 euros."]
    refs = ["the cat sat on the mat today", "a dog ran in the park", "Tom has 3.5 euros left."]
    expected, bp, c, r = _naive_bleu(hyps, refs)
    mean_of_sentences = sum(_naive_bleu([h], [g])[0] for h, g in zip(hyps, refs)) / len(hyps)
    # a short first sentence is paid for by a long second one: pooled, there is no penalty
    assert _naive_bleu(hyps[:1], refs[:1])[1] < 1 and bp == 1 and c > r
    assert abs(expected - mean_of_sentences) > 2  # so the pooled score is not the mean of sentence scores
    score, _ = bleu(hyps, refs)
    assert (score.sys_len, score.ref_len) == (c, r)
    assert score.score == pytest.approx(expected, abs=1e-6)
    assert score.score != pytest.approx(mean_of_sentences, abs=1)


@pytest.mark.parametrize("hyp,ref,case_differs", [
    ("Hello, World. The cat sat on the mat!", "Hello, world. The cat sat on the mat.", True),
    ("Where is the cat? Tom has 3.5 euros, not 4.", "Where is the cat? Tom has 3,5 euros, not 4.", False),
])
def test_bleu_splits_punctuation_and_keeps_case(hyp, ref, case_differs):
    expected = _naive_bleu([hyp], [ref])[0]
    # the case is discriminating: splitting on spaces only, or ignoring case, would score otherwise
    assert abs(expected - _naive_bleu([hyp], [ref], tokens=str.split)[0]) > 1
    if case_differs:
        assert abs(expected - _naive_bleu([hyp], [ref], tokens=lambda s: _tokens_13a(s.lower()))[0]) > 1
    score, _ = bleu([hyp], [ref])
    assert (score.sys_len, score.ref_len) == (len(_tokens_13a(hyp)), len(_tokens_13a(ref)))
    assert score.score == pytest.approx(expected, abs=1e-6)
