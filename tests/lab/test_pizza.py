"""Pizza or oven, measured: the probe set is what it says, and the counts are what the weights give."""

import json

import numpy as np
import pytest

from nn2gpt.cli import main
from nn2gpt.lab import pizza


def test_the_probe_set_says_who_the_subject_is():
    probes = pizza.read_probes()
    assert len(probes) >= 40 and probes[0].sentence == "La pizza salió del horno y sabía bien."
    kinds = [p.kind for p in probes]
    assert kinds.count("far") >= 20 and kinds.count("near") >= 12
    for p in probes:
        subject, other = pizza.word_span(p.sentence, p.subject), pizza.word_span(p.sentence, p.other)
        verb = pizza.word_span(p.sentence, p.verb, max(subject[1], other[1]))
        assert verb[0] > max(subject[0], other[0]), p  # the verb comes after both nouns
        # far: the other noun stands between subject and verb; near: the subject is the nearer noun
        assert (subject[0] < other[0]) == (p.kind == "far"), p
        pizza.word_span(p.english, p.english_verb)


def test_counting_follows_the_weights():
    """Hand-made weights (L=1, H=2, S=4): head 0 reads the subject, head 1 the other noun."""
    where = {"subject": [0], "other": [1], "verb": [3]}
    w = np.zeros((1, 2, 4, 4))
    w[0, 0, 3] = [0.7, 0.1, 0.1, 0.1]
    w[0, 1, 3] = [0.1, 0.6, 0.2, 0.1]
    assert pizza.prefers_subject(w, where).tolist() == [[True, False]]
    subwords = {"subject": [0, 1], "other": [2], "verb": [3]}  # a subject of two subwords: their sum counts
    w[0, 1, 3] = [0.25, 0.2, 0.4, 0.15]
    assert pizza.prefers_subject(w, subwords).tolist() == [[True, True]]


def test_a_verdict_names_tracking_heads_or_says_none_do():
    none = {"far": [[0.0, 0.2]], "near": [[1.0, 0.9]], "balanced": [[0.5, 0.55]], "tracking": []}
    assert pizza.verdict(none).startswith("No encoder head tracks the subject")
    assert "1 of 2 heads follow the nearest noun" in pizza.verdict(none)
    some = {"far": [[0.9, 0.2]], "near": [[0.8, 0.9]], "balanced": [[0.85, 0.55]], "tracking": [[0, 0]]}
    assert "L1 H1" in pizza.verdict(some) and "track the subject" in pizza.verdict(some)


@pytest.fixture(scope="module")
def es_en(tmp_path_factory):
    run = tmp_path_factory.mktemp("pizza") / "es-en"
    assert main(["translate", "train", "--out", str(run), "--pair", "es-en", "--d-model", "16", "--layers", "2",
                 "--heads", "2", "--ff", "32", "--vocab-size", "300", "--max-tokens", "400", "--limit", "80",
                 "--warmup", "5", "--epochs", "1", "--quiet", "--device", "cpu", "--threads", "1"]) == 0
    return run


def test_the_command_writes_the_report_and_the_same_model_gives_the_same_numbers(es_en, tmp_path, capsys):
    assert main(["lab", "pizza", "--model", str(es_en), "--out", str(tmp_path / "a")]) == 0
    assert main(["lab", "pizza", "--model", str(es_en), "--out", str(tmp_path / "b")]) == 0
    a, b = (json.loads((tmp_path / d / "pizza.json").read_text()) for d in "ab")
    assert a == b
    assert np.array(a["far"]).shape == (2, 2) and a["n_far"] + a["n_near"] == len(pizza.read_probes())
    balanced = (np.array(a["far"]) + np.array(a["near"])) / 2
    np.testing.assert_allclose(a["balanced"], balanced, atol=1e-4)
    for k in ("verb", "subject", "other"):
        assert all(0 <= x <= 1 for row in a["cross_peak"][k] for x in row)
    text = (tmp_path / "a" / "pizza.md").read_text()
    assert "| baseline: nearest noun | 0.00 | 1.00 | 0.50 |" in text and "L2 H2" in text
    assert str(tmp_path) not in text  # no machine-local path in the report
    assert (tmp_path / "a" / "pizza_heads.png").read_bytes()[:4] == b"\x89PNG"


def test_a_de_en_model_is_refused_in_one_line(tmp_path, capsys):
    run = tmp_path / "de-en"
    assert main(["translate", "train", "--out", str(run), "--pair", "de-en", "--d-model", "16", "--layers", "1",
                 "--heads", "2", "--ff", "32", "--vocab-size", "200", "--max-tokens", "400", "--limit", "40",
                 "--warmup", "5", "--epochs", "1", "--quiet", "--device", "cpu", "--threads", "1"]) == 0
    capsys.readouterr()
    assert main(["lab", "pizza", "--model", str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert "not es-en" in err and len(err.splitlines()) == 1


def test_the_lab_report_carries_the_measured_answer(es_en, tmp_path):
    import shutil
    from pathlib import Path

    shutil.copy(Path(__file__).parents[2] / "docs" / "lab" / "results.json", tmp_path / "results.json")
    assert main(["lab", "pizza", "--model", str(es_en), "--out", str(tmp_path)]) == 0
    assert main(["lab", "report", "--results", str(tmp_path / "results.json")]) == 0
    report = (tmp_path / "REPORT.md").read_text()
    assert "**Measured** on an es→en model" in report and "(pizza.md)" in report and "pizza_heads.png" in report
