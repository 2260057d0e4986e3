"""`nn2gpt learn trace NAME`: every variable's shape, line by line of the learner's file, on one real example."""

import io
import re

import pytest
import torch  # noqa: F401 - imported once here, so that each forked trace starts with it

from nn2gpt.cli import main
from nn2gpt.learn import trace as tracing
from nn2gpt.learn.book import Workbook
from nn2gpt.learn.registry import all_exercises, find
from nn2gpt.learn.tracer import example

# one shape each trace must name: the example's real data going through the exercise's code
SHAPES = {
    "pair_counts": "ids list len 45", "merge": "returns list len 42", "train_bpe": "returns list len 8",
    "encode": "text str len 45", "decode": "returns str len 45", "regex_split": "returns list len 10",
    "byte_table": "returns dict len 256",
    "sigmoid": "returns (30, 1) float64", "feedforward": "a (784, 1) float64", "backprop": "activation (784, 1)",
    "update_mini_batch": "self.weights list len 2 [(30, 784), (10, 30)]", "backprop_matrix": "X (784, 10)",
    "cross_entropy": "returns (10, 1) float64",
    "bigram_loss": "logits (4, 8, 65) float32", "average_past": "wei (8, 8) float32",
    "head": "wei (4, 8, 8) float32", "multi_head": "returns (4, 8, 32) float32",
    "feed_forward": "self.net Sequential len 3", "block": "x (4, 8, 32) float32",
    "positional_encoding": "angle (8, 16) float64", "sampling": "kth (4, 1) float32",
    "padding_mask": "returns (2, 14) bool", "cross_attention": "s (2, 4, 17, 14) float32",
    "label_smoothing": "nll (2, 17) float32", "greedy_decode": "returns list len 10",
    "squared_score": "returns (4, 4, 8, 8) float32", "inverse_score": "t (4, 4, 8, 8) float32",
    "anticausal_mask": "returns (8, 8) bool",
    "linear_backward": "dw (128, 32) float64", "layer_norm": "mu (16, 1) float64", "gelu_backward": "u (16, 128)",
    "attention_backward": "ds (2, 4, 8, 8) float64", "cross_entropy_backward": "d (16, 65) float64",
}


@pytest.fixture(scope="module", autouse=True)
def data_read_once():
    """Each example's data read here once: the forked traces then start with it, as watch's do."""
    for ex in all_exercises():
        example(ex)


def traced(book, name, reference=False, timeout=10.0):
    out = io.StringIO()
    status = tracing.trace(Workbook(book), find(name), reference=reference, timeout=timeout, out=out)
    return status, out.getvalue()


def write(book, name, replace=None):
    """The exercise's solution as the learner's file, with one (old, new) change."""
    ex = find(name)
    text = ex.solution.read_text(encoding="utf-8")
    if replace:
        assert replace[0] in text
        text = text.replace(*replace)
    (book / ex.file).write_text(text, encoding="utf-8")
    return text


def row(out, line):
    """The printed row of `line` (its first run)."""
    return next(r for r in out.splitlines() if re.match(rf"\s*{line}  ", r))


def line_of(text, code):
    return next(i for i, s in enumerate(text.splitlines(), 1) if code in s)


def test_every_exercise_is_traced_on_its_example_as_the_reference_and_as_the_learners_file(book):
    assert len(SHAPES) == len(all_exercises()) == 33
    for ex in all_exercises():
        status, out = traced(book, ex.name, reference=True)
        assert status == 0, out
        assert out.startswith(f"{ex.file} (the reference): "), out
        assert SHAPES[ex.name] in out, (ex.name, out)
        write(book, ex.name)
        status, out = traced(book, ex.name)
        assert status == 0, out
        assert SHAPES[ex.name] in out, (ex.name, out)
        assert "every variable took the reference's shapes" in out and "<-" not in out, out
        assert len(out.splitlines()) < tracing.MAX_PRINTED + 10


def test_a_product_the_wrong_way_round_is_marked_at_its_line_with_the_reference_shape(book):
    text = write(book, "backprop", ("np.dot(delta, activations[-2].transpose())",
                                    "np.dot(activations[-2], delta.transpose())"))
    status, out = traced(book, "backprop")
    line = line_of(text, "nabla_w[-1] = np.dot(activations[-2]")
    assert status == 1
    assert "nabla_w list len 2 [(30, 784), (30, 10)]  <- first shape that differs from the reference's: " \
           "list len 2 [(30, 784), (10, 30)] there" in row(out, line)
    assert out.count("<-") == 1 and f"is marked (line {line})" in out


def test_a_transposed_bias_is_marked_where_the_shape_first_goes_wrong(book):
    text = write(book, "feedforward", ("np.dot(w, a) + b)", "np.dot(w, a) + b.T)"))
    status, out = traced(book, "feedforward")
    line = line_of(text, "+ b.T")
    assert status == 2                          # the next layer's (10, 30) + (1, 10) raises
    assert "a (30, 30) float64" in row(out, line)
    assert "<- first shape that differs from the reference's: (30, 1) there" in row(out, line)
    assert "raised ValueError: operands could not be broadcast" in out.splitlines()[-2]
    text = write(book, "linear_backward", ("dw = dy.T @ x", "dw = x.T @ dy"))
    status, out = traced(book, "linear_backward")
    assert status == 1 and "dw (32, 128) float64" in row(out, line_of(text, "dw = x.T"))
    assert "(128, 32) there" in row(out, line_of(text, "dw = x.T"))


def test_code_that_raises_is_traced_up_to_that_line_then_the_line_and_its_error(book):
    text = write(book, "backprop", ("z = np.dot(w, activation) + b", "z = np.dot(activation, w) + b"))
    status, out = traced(book, "backprop")
    line = line_of(text, "z = np.dot(activation, w)")
    assert status == 2
    assert "activation (784, 1)" in out and "w (30, 784)" in out     # the lines before it, traced
    last = [r for r in out.splitlines() if r.lstrip().startswith(f"{line}  ")][-1]
    assert "z = np.dot(activation, w) + b" in last and "raised ValueError: shapes (784,1) and (30,784) not " \
                                                       "aligned" in last and "TRANSPOSED" in last
    assert "zs list len 1" not in out                                 # nothing after it ran


def test_a_loop_shows_its_first_runs_then_a_count(book):
    status, out = traced(book, "byte_table", reference=True)
    assert status == 0
    assert re.search(r"line \d+ ran 253 more times; shapes unchanged", out)
    assert re.search(r"line \d+ ran 185 more times; then table dict len 3\d \.\.\. dict len 256", out)
    assert len([r for r in out.splitlines() if "byte int" in r]) == 3


def test_the_output_is_bounded_and_the_mark_is_shown_beyond_the_cut(book, monkeypatch):
    text = write(book, "backprop", ("np.dot(delta, activations[-2].transpose())",
                                    "np.dot(activations[-2], delta.transpose())"))
    monkeypatch.setattr(tracing, "MAX_PRINTED", 5)
    status, out = traced(book, "backprop")
    assert status == 1
    assert re.search(r"\.\.\. \d+ more rows not shown", out)
    assert f"{line_of(text, 'nabla_w[-1] = np.dot(activations')}  " in out.splitlines()[7]   # the marked row


def test_an_endless_loop_is_stopped_at_the_time_limit_and_its_line_shown(book):
    (book / "01_sigmoid.py").write_text("def sigmoid(z):\n    n = 0\n    while True:\n        n += 1\n\n\n"
                                        "def sigmoid_prime(z):\n    return z\n", encoding="utf-8")
    status, out = traced(book, "sigmoid", timeout=1.0)
    assert status == 2
    assert re.search(r"line 4 ran \d+ more times; shapes unchanged", out)
    assert re.search(r"\n\s+[34]  .*did not finish within 1 s", out)


def test_the_stub_and_a_missing_name_say_so(book):
    status, out = traced(book, "backprop")
    assert status == 1 and "not written yet: write backprop(self, x, y)" in out
    (book / "41_linear_backward.py").write_text("import numpy as np\n", encoding="utf-8")
    status, out = traced(book, "linear_backward")
    assert status == 1 and "your file defines no `linear_backward`" in out
    write(book, "layer_norm", ("return xhat * gamma + beta, (xhat, rstd)", "return xhat * gamma + beta"))
    status, out = traced(book, "layer_norm")              # the backward pass cannot be handed its cache
    assert status == 2 and "the example could not use what your code returned (ValueError: too many " in out
    assert "returns (16, 32) float64" in out


def test_what_the_code_prints_is_shown_after_the_trace_and_the_file_is_left_as_it_was(book):
    text = write(book, "sigmoid", ("    return 1.0 / (1.0 + np.exp(-z))",
                                   "    print('shape', z.shape)\n    return 1.0 / (1.0 + np.exp(-z))"))
    status, out = traced(book, "sigmoid")
    assert status == 0
    assert "your code printed (3 lines):\n  shape (30, 1)\n" in out
    assert (book / "01_sigmoid.py").read_text(encoding="utf-8") == text


def test_the_command_hides_the_references_code_until_a_pass(book, capsys):
    assert main(["learn", "trace", "head", "--reference"]) == 0
    out = capsys.readouterr().out
    assert "wei (4, 8, 8) float32" in out and "masked_fill" not in out
    assert "stays hidden until 13_head.py passes" in out
    Workbook(book).gave_up(find("head"))
    assert main(["learn", "trace", "head", "--reference"]) == 0
    out = capsys.readouterr().out
    assert "wei = wei.masked_fill(self.tril" in out and "hidden" not in out
    assert main(["learn", "trace", "head"]) == 1            # the stub
    assert "not written yet" in capsys.readouterr().out


def test_without_fork_a_fresh_python_traces_and_a_missing_dataset_is_one_line(book, monkeypatch, capsys):
    monkeypatch.setattr(tracing, "FORK", False)
    write(book, "sigmoid")
    assert main(["learn", "trace", "sigmoid"]) == 0
    assert "z (30, 1) float64" in capsys.readouterr().out
    monkeypatch.setenv("NN2GPT_DATA", str(book / "no-data-here"))
    assert main(["learn", "trace", "sigmoid"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
    assert "NN2GPT_DATA" in captured.err and "Traceback" not in captured.err
