"""Every exercise's check can fail: the stub fails, the reference passes, each common mistake
fails with its own message, and code that raises is reported at the learner's own line."""

import pytest

from nn2gpt.learn.registry import all_exercises, find
from nn2gpt.learn.runner import check_here

# each exercise's common mistakes, from its exercise.toml: (exercise, what it is, edits of the solution, words)
MISTAKES = [(ex.name, what, edits, says) for ex in all_exercises() for what, edits, says in ex.mistakes]


def write(tmp_path, ex, text):
    path = tmp_path / ex.file
    path.write_text(text, encoding="utf-8")
    return path


def test_every_exercise_has_mistakes_and_three_hints():
    assert {name for name, *_ in MISTAKES} == {ex.name for ex in all_exercises()}
    assert all(len(ex.hints) >= 3 for ex in all_exercises())


@pytest.mark.parametrize("ex", all_exercises(), ids=lambda ex: ex.name)
def test_the_stub_fails_and_the_reference_passes(ex, tmp_path):
    stub = check_here(ex, write(tmp_path, ex, ex.stub.read_text()))
    assert stub.status == "failed" and "not written yet" in stub.message, stub
    assert check_here(ex, write(tmp_path, ex, ex.solution.read_text())).status == "passed"


@pytest.mark.parametrize("name,label,edits,needle", MISTAKES, ids=lambda v: v if isinstance(v, str) else "")
def test_each_mistake_fails_with_its_own_message(name, label, edits, needle, tmp_path):
    ex = find(name)
    text = ex.solution.read_text()
    for old, new in edits:
        assert old in text, f"the mistake {label!r} no longer applies to the solution"
        text = text.replace(old, new)
    result = check_here(ex, write(tmp_path, ex, text))
    assert result.status in ("failed", "error") and needle in result.message, (label, result)
    assert "nn2gpt/learn" not in result.message  # never the checker's internals


def test_the_messages_are_all_different(tmp_path):
    """'Its own message': no two mistakes of one exercise are reported the same way."""
    for ex in all_exercises():
        needles = [says for _, _, says in ex.mistakes]
        assert len(set(needles)) == len(needles), ex.name


def test_a_raising_function_is_shown_at_the_learners_line(tmp_path):
    ex = find("backprop")
    text = ex.solution.read_text().replace("    zs = []", "    zs = undefined_name")
    result = check_here(ex, write(tmp_path, ex, text))
    line = 1 + next(i for i, row in enumerate(text.splitlines()) if "zs = undefined_name" in row)
    assert result.status == "error"
    assert result.message.startswith(f"03_backprop.py line {line}, in backprop: NameError"), result.message


def test_a_syntax_error_names_the_line(tmp_path):
    ex = find("sigmoid")
    result = check_here(ex, write(tmp_path, ex, "import numpy as np\n\ndef sigmoid(z)\n    return z\n"))
    assert result.status == "error" and result.message.startswith("01_sigmoid.py line 3: SyntaxError"), result


def test_a_solution_pasted_as_the_books_class_is_used(tmp_path):
    """A learner's whole network.py drops in: the method is taken from its class Network."""
    ex = find("feedforward")
    body = ex.solution.read_text().replace("def feedforward", "class Network:\n    def feedforward")
    body = body.replace("\n    for b", "\n        for b").replace("\n        a = sigmoid", "\n            a = sigmoid")
    body = body.replace("\n    return a", "\n        return a").replace('\n    """a (784', '\n        """a (784')
    assert check_here(ex, write(tmp_path, ex, body)).status == "passed"


def test_the_references_agree_with_chapter_one():
    """The solutions (the checks' reference) give the same gradients as nn2gpt digits' Network."""
    import numpy as np

    from nn2gpt.digits.network import Network as Digits
    from nn2gpt.learn.ch1.common import seeded
    from nn2gpt.learn.ch1.network import assemble

    ours = assemble()([5, 4, 3], seed=3)
    theirs = Digits([5, 4, 3], seed=0)
    theirs.weights, theirs.biases = [w.copy() for w in ours.weights], [b.copy() for b in ours.biases]
    x, y = seeded([5, 4, 3], 6, 1)
    nb, nw = ours.backprop_matrix(x, y)
    tb, tw = theirs.backprop(x, y)               # chapter 1's backprop takes m columns
    assert all(np.allclose(a, b) for a, b in zip([*nb, *nw], [*tb, *tw]))


def test_the_inverse_score_accepts_either_reading_and_says_which(tmp_path):
    ex = find("inverse_score")
    negated = ex.solution.read_text().replace("    return t / (t * t + 0.01)", "    return -t")
    result = check_here(ex, write(tmp_path, ex, negated))
    assert result.status == "passed" and result.message == "your reading: negated"
    assert check_here(ex, ex.solution).message == "your reading: reciprocal"
