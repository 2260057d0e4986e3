"""No file we did not write is trusted: a forged checkpoint is refused in one line, by every reader.

Each case is forged the way a careless tool (or a person with an editor) would: the content is
changed and every sha256 recomputed, so the checksums pass and only the checks of the content
itself stand between the file and a traceback, a blank sample, or "digit: 0" with nan odds.
"""

import numpy as np
import pytest
from reliability_helpers import forge, nan_in_first, one_line_error, snapshot

from nn2gpt.checkpoint import load_checkpoint
from nn2gpt.errors import UserError


def readers(kind, run, tmp_path):
    """Every command that reads a model of `kind`."""
    return {
        "gpt": [["gpt", "sample", "--model", run, "--max-new-tokens", "3"],
                ["gpt", "sample", "--model", run, "--max-new-tokens", "3", "--temperature", "0"],
                ["gpt", "sample", "--engine", "numpy", "--model", run, "--max-new-tokens", "3"],
                ["gpt", "attention", "To be", "--model", run, "--out", tmp_path / "att.png"]],
        "translate": [["translate", "Hola.", "--model", run, "--beam", "1"],
                      ["translate", "eval", "--model", run, "--limit", "2", "--beam", "1"],
                      ["translate", "attention", "Hola.", "--model", run, "--out", tmp_path / "tatt"]],
    }[kind]


def studio_refuses(run, kind, needle):
    from nn2gpt.studio.runs import Models

    with pytest.raises(UserError, match=needle):
        Models().get(run, kind)


@pytest.mark.parametrize("kind", ["gpt", "numpy", "translate"])
def test_non_finite_weights_are_refused_by_every_reader(kind, copy_of, tmp_path, capsys):
    run = forge(copy_of(kind), weights=nan_in_first)
    before = snapshot(run)
    for argv in readers("translate" if kind == "translate" else "gpt", run, tmp_path):
        one_line_error(argv, capsys, "non-finite", "NaN or inf")
    studio_refuses(run, "translate" if kind == "translate" else "gpt", "non-finite")
    assert snapshot(run) == before and not (tmp_path / "att.png").exists()


def test_a_resumed_run_with_non_finite_weights_is_refused(copy_of, capsys):
    run = forge(copy_of("gpt"), weights=lambda a: a.__setitem__("ln_f.weight", a["ln_f.weight"] * np.inf))
    one_line_error(["gpt", "train", "--resume", "--out", run, "--max-iters", "9"], capsys, "non-finite")


def test_digits_with_non_finite_weights_are_refused(copy_of, tmp_path, capsys):
    from PIL import Image

    from nn2gpt.studio.runs import Models

    run = copy_of("digits")
    with np.load(run / "weights.npz") as f:
        arrays = {k: f[k] for k in f.files}
    arrays["w1"] = arrays["w1"].copy()
    arrays["w1"][0, 0] = np.nan
    np.savez(run / "weights.npz", **arrays)
    Image.new("L", (28, 28), 0).save(tmp_path / "d.png")
    one_line_error(["digits", "predict", tmp_path / "d.png", "--model", run], capsys, "w1 holds NaN")
    one_line_error(["digits", "show", "--model", run, "--out", tmp_path / "w.png"], capsys, "w1 holds NaN")
    with pytest.raises(UserError, match="NaN"):
        Models().get(run, "digits")
    arrays["w1"][0, 0] = 0.0
    arrays["w9"] = arrays["w1"]  # an array the config has no place for
    np.savez(run / "weights.npz", **arrays)
    one_line_error(["digits", "predict", tmp_path / "d.png", "--model", run], capsys, "no place for", "w9")


@pytest.mark.parametrize("fmt", [99, 0, "1", None, True])
def test_an_unknown_format_is_refused(fmt, copy_of, capsys):
    run = forge(copy_of("gpt"), meta=lambda m: m.__setitem__("format", fmt))
    one_line_error(["gpt", "sample", "--model", run, "--max-new-tokens", "3"], capsys, "checkpoint format",
                   "does not read")


def test_meta_json_is_covered_by_its_own_checksum(copy_of, capsys):
    run = forge(copy_of("gpt"), meta=lambda m: m["config"]["train"].__setitem__("lr", 1.0), digest=False)
    one_line_error(["gpt", "sample", "--model", run, "--max-new-tokens", "3"], capsys, "meta.json",
                   "sha256 does not match")


@pytest.mark.parametrize("kind", ["gpt", "numpy", "translate"])
def test_a_tokenizer_that_disagrees_with_the_model_is_refused(kind, copy_of, tmp_path, capsys):
    def cut(m):
        if kind == "translate":  # one token more than the embedding has rows
            vocab = m["tokenizer"]["model"]["vocab"]
            vocab["zzqx"] = max(vocab.values()) + 1
        else:
            m["tokenizer"]["chars"] = m["tokenizer"]["chars"][:10]

    run = forge(copy_of(kind), meta=cut)
    for argv in readers("translate" if kind == "translate" else "gpt", run, tmp_path):
        one_line_error(argv, capsys, "disagrees with itself", "tokenizer has")


@pytest.mark.parametrize("engine", ["torch", "numpy"])
def test_an_extra_tensor_is_refused_by_both_engines(engine, copy_of, capsys):
    run = forge(copy_of("gpt"), weights=lambda a: a.__setitem__("extra.weight", np.zeros(3, np.float32)))
    one_line_error(["gpt", "sample", "--engine", engine, "--model", run, "--max-new-tokens", "3"], capsys,
                   "extra.weight")


def test_a_config_that_disagrees_with_the_weights_is_refused_by_both_engines(copy_of, capsys):
    run = forge(copy_of("gpt"), meta=lambda m: m["config"]["model"].__setitem__("n_embd", 32))
    for engine in ("torch", "numpy"):
        one_line_error(["gpt", "sample", "--engine", engine, "--model", run, "--max-new-tokens", "3"], capsys,
                       "model")


def test_a_checkpoint_of_the_first_format_still_loads(copy_of, capsys):
    """Format 1 (the first release) had no meta_sha256: it loads, with every other check."""
    run = forge(copy_of("gpt"), meta=lambda m: (m.__setitem__("format", 1), m.pop("meta_sha256")), digest=False)
    assert load_checkpoint(run).state["step"] > 0
    from nn2gpt.cli import main

    assert main(["gpt", "sample", "--model", str(run), "--max-new-tokens", "3", "--prompt", "To"]) == 0
    assert capsys.readouterr().out.startswith("To")


@pytest.mark.parametrize("how", ["--resume", "--init-from"])
def test_translate_training_refuses_a_run_with_an_extra_tensor(how, copy_of, tmp_path, capsys):
    """The training side of a translation run reads its weights strictly, as the readers do."""
    run = forge(copy_of("translate"), weights=lambda a: a.__setitem__("extra.weight", np.zeros(3, np.float32)))
    before = snapshot(run)
    argv = (["translate", "train", "--pair", "es-en", "--resume", "--out", run, "--epochs", "1000", "--max-seconds", "1"]
            if how == "--resume" else
            ["translate", "train", "--pair", "es-en", "--init-from", run, "--out", tmp_path / "new", "--epochs", "1",
             "--max-seconds", "1"])
    one_line_error(argv, capsys, "extra.weight")
    assert snapshot(run) == before
