"""The `nn2gpt digits` command end to end, on the real MNIST."""

import json

import numpy as np
import pytest
from PIL import Image

from in_process import run_cli

from nn2gpt.data.mnist import load_mnist


def run(*args, check=True):
    r = run_cli("digits", *args)  # in this process: the command's output and exit status are what is tested
    if check:
        assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("digits") / "model"
    r = run("train", "--sizes", "784,30,10", "--epochs", "1", "--limit", "20000", "--out", str(out), "--seed", "1")
    assert "test accuracy:" in r.stdout and "epoch   1/1: validation" in r.stdout
    return out


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


def dark_on_light(image784: np.ndarray, size=100) -> Image.Image:
    """An MNIST digit as a user might photograph it: bigger, black ink on white paper."""
    im = Image.fromarray((255 - image784.reshape(28, 28) * 255).astype(np.uint8))
    return im.resize((size, size), Image.Resampling.BICUBIC)


def test_train_saves_model_curve_and_config(model_dir):
    config = json.loads((model_dir / "config.json").read_text())
    assert config["sizes"] == [784, 30, 10] and config["train"]["limit"] == 20000
    assert config["test_accuracy"] > 0.85
    with np.load(model_dir / "weights.npz") as f:
        assert f["w1"].shape == (30, 784) and f["b2"].shape == (10, 1)
    assert Image.open(model_dir / "curve.png").size[0] > 100


def test_fast_flag_trains_the_same_network(tmp_path):
    """`--fast` takes the readable path's steps: same seed, same accuracy (in float64 the two paths'
    weights agree to ~1e-12), and the run records which path trained it."""
    configs = []
    for flags in ([], ["--fast"]):
        out = tmp_path / ("fast" if flags else "readable")
        run("train", "--sizes", "784,30,10", "--epochs", "2", "--limit", "3000", "--dtype", "float64",
            "--out", str(out), "--seed", "2", *flags)
        configs.append(json.loads((out / "config.json").read_text()))
    readable, fast = configs
    assert readable["train"]["fast"] is False and fast["train"]["fast"] is True
    assert readable["test_accuracy"] > 0.8
    assert readable["test_accuracy"] == fast["test_accuracy"]
    assert readable["history"]["evaluation_accuracy"] == fast["history"]["evaluation_accuracy"]
    assert readable["history"]["evaluation_cost"] == pytest.approx(fast["history"]["evaluation_cost"], rel=1e-9)


def test_trace_prints_shapes(tmp_path):
    r = run("train", "--sizes", "784,30,10", "--epochs", "1", "--limit", "100", "--batch", "10", "--trace",
            "--cost", "quadratic", "--monitor-train", "--out", str(tmp_path / "m"))
    assert "train " in r.stdout.splitlines()[-3] and "(cost" in r.stdout
    for line in ("train      images (50000, 784)", "z1 = w1 @ a0 + b1", "(30, 10)", "delta2 = (a2 - y) * a2(1-a2)",
                 "nabla_w1 = delta1 @ a0.T", "(30, 784)"):
        assert line in r.stdout, line


def test_predict_a_picture_drawn_dark_on_light(model_dir, mnist, tmp_path):
    from nn2gpt.digits.model import load_model

    net, _ = load_model(model_dir)
    test = mnist.test
    i = next(i for i in range(100) if np.argmax(net.predict(test.images[i:i + 1])) == test.labels[i] == 7)
    path = tmp_path / "seven.png"
    dark_on_light(test.images[i]).save(path)
    r = run("predict", str(path), "--model", str(model_dir))
    assert r.stdout.splitlines()[0] == "digit: 7"
    probs = [float(line.split(":")[1].split()[0]) for line in r.stdout.splitlines()[2:12]]
    assert len(probs) == 10 and abs(sum(probs) - 1) < 1e-3 and int(np.argmax(probs)) == 7
    traced = run("predict", str(path), "--model", str(model_dir), "--trace").stdout
    assert "image, grayscale" in traced and "(100, 100)" in traced and "centred by mass in 28x28" in traced


def test_show_writes_png(model_dir, tmp_path):
    out = tmp_path / "wrong.png"
    r = run("show", "--model", str(model_dir), "--out", str(out))
    assert "test digits misclassified" in r.stdout
    assert Image.open(out).size[0] > 200


def test_help_is_fast_and_lists_actions():
    r = run("--help")
    assert "train" in r.stdout and "predict" in r.stdout and "show" in r.stdout
    assert "--sizes" in run("train", "--help").stdout


@pytest.mark.parametrize("args,needle", [
    (["train", "--sizes", "784,,10"], "malformed"),
    (["train", "--sizes", "784,x"], "malformed"),
    (["train", "--sizes", "100,30,10"], "must start with 784"),
    (["train", "--sizes", "784,30,5"], "end with 10"),
    (["train", "--epochs", "0"], "--epochs"),
    (["train", "--eta", "-1"], "--eta"),
    (["train", "--data-dir", "/nonexistent/nn2gpt-data"], "does not exist"),
    (["predict", "/nonexistent/digit.png"], "does not exist"),
    (["predict", "x.png", "--model", "/nonexistent/model"], "does not exist"),
    (["show", "--model", "/nonexistent/model"], "does not exist"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_is_one_line_exit_2(args, needle, tmp_path, model_dir):
    args = [a.replace("x.png", str(tmp_path / "x.png")) for a in args]
    if args[0] == "predict" and "--model" not in args:
        args += ["--model", str(model_dir)]
    if args[0] == "train":
        args += ["--out", str(tmp_path / "never")]
    r = run(*args, check=False)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert needle in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "never").exists()


def test_non_image_and_corrupt_model_are_one_line_errors(model_dir, tmp_path):
    fake = tmp_path / "notes.png"
    fake.write_text("this is not a picture")
    r = run("predict", str(fake), "--model", str(model_dir), check=False)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "not an image" in r.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text((model_dir / "config.json").read_text())
    (broken / "weights.npz").write_bytes((model_dir / "weights.npz").read_bytes()[:500])  # truncated
    r = run("show", "--model", str(broken), check=False)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "corrupt" in r.stderr
    # weights without the config they were trained with are not ours: config.json beside them is never trusted
    with np.load(model_dir / "weights.npz") as f:
        np.savez(broken / "weights.npz", **{k: f[k] for k in f.files if k != "config"})
    r = run("predict", str(fake), "--model", str(broken), check=False)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "carry no config" in r.stderr, r.stderr


def test_bad_flags_leave_a_saved_model_untouched(model_dir):
    before = {p.name: p.read_bytes() for p in model_dir.iterdir()}
    r = run("train", "--sizes", "784,x", "--out", str(model_dir), check=False)
    assert r.returncode == 2
    assert {p.name: p.read_bytes() for p in model_dir.iterdir()} == before
