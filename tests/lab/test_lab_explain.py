"""The report's wording is chosen by the numbers, so it stays true whatever they are."""

from nn2gpt.lab import explain


def test_compare_respects_the_seed_to_seed_spread():
    assert explain.compare([1.50, 1.52, 1.48], [1.51, 1.53, 1.49]).startswith("within")
    assert explain.compare([1.30, 1.31, 1.29], [1.51, 1.53, 1.49]) == "0.210 nats lower than"
    assert explain.compare([1.80, 1.81, 1.79], [1.51, 1.53, 1.49]) == "0.290 nats higher than"
    assert explain.compare([1.5], [1.505]) == "within 0.01 nats of"


def test_fmt_mean_and_std():
    assert explain.fmt([1.0, 2.0]) == "1.500 ± 0.500"
    assert explain.fmt([1.25]) == "1.250"


def _mask(tf, ce, gen):
    return {"teacher_forced": [tf], "causal_eval": [ce], "generated": [gen]}


def test_mask_paragraph_follows_the_numbers():
    base = _mask(1.8, 1.8, 1.9)
    copying = explain.q2_masks({}, {"baseline": base, "anticausal": _mask(0.2, 6.0, 3.5)}, vocab=65)
    assert "copying" in copying and "worse than guessing uniformly" in copying and "much less like" in copying
    honest = explain.q2_masks({}, {"baseline": base, "anticausal": _mask(1.85, 1.9, 1.95)}, vocab=65)
    assert "has not learned to copy" in honest and "close to" in honest and "did not ruin" in honest


def test_scores_paragraph_reports_the_measured_saturation():
    rand = {"scaled_dot": {8: 2.8, 256: 2.79}, "dot": {8: 1.5, 256: 0.2}}
    text = explain.q1_scores({"baseline": [1.6, 1.62], "dot": [1.7, 1.71]}, rand, {"baseline": 2.0, "dot": 1.0},
                             3.2, 16)
    assert "falls from 1.50 nats at d = 8 to 0.20 at d = 256" in text
    assert "`dot` is 0.095 nats higher than" in text


def test_the_unscaled_dot_sentence_follows_its_numbers():
    """The old fixed sentence called the penalty 'modest' even where `dot` was the best variant."""
    rand = {"scaled_dot": {8: 2.8, 256: 2.79}, "dot": {8: 1.5, 256: 0.2}}
    ent = {"baseline": 2.0, "dot": 1.0}
    better = explain.q1_scores({"baseline": [1.70, 1.71], "dot": [1.60, 1.61]}, rand, ent, 3.2, 16)
    worse = explain.q1_scores({"baseline": [1.60, 1.61], "dot": [1.70, 1.71]}, rand, ent, 3.2, 16)
    same = explain.q1_scores({"baseline": [1.60, 1.62], "dot": [1.61, 1.60]}, rand, ent, 3.2, 16)
    assert "did not hurt" in better and "paid for it" not in better and "modest" not in better
    assert "paid for it" in worse and "0.100 nats higher than" in worse and "did not hurt" not in worse
    assert "no penalty is measurable" in same
