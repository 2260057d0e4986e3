"""`--device`: auto, cpu, cuda and the Apple GPU (mps), and what mps cannot do.

No machine here has an Apple GPU, so torch's answers are replaced: `torch.backends.mps.is_available`
(and `torch.cuda.is_available`) say what a test needs. A command that is refused runs in this
process through the real CLI entry and must end with exit 2 and one line naming the fix.
"""

import pytest
import torch

from nn2gpt.cli import main
from nn2gpt.devices import has_float64, mixed_precision, pick_device
from nn2gpt.errors import UserError

GPT_TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16", "--batch-size", "4",
            "--eval-batches", "2", "--warmup", "2", "--threads", "1", "--sample-tokens", "0", "--quiet",
            "--max-iters", "2", "--eval-interval", "2"]
TRANSLATE_TINY = ["--pair", "es-en", "--d-model", "16", "--layers", "1", "--heads", "2", "--ff", "32",
                  "--vocab-size", "200", "--max-tokens", "400", "--limit", "60", "--warmup", "5", "--quiet",
                  "--threads", "1", "--epochs", "1"]


def machine(monkeypatch, cuda: bool, mps: bool, macos14: bool = True):
    """Make torch see a CUDA GPU and/or an Apple GPU (and say which macOS the Apple GPU runs)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    monkeypatch.setattr(torch.backends.mps, "is_macos_or_newer", lambda major, minor: macos14)


def one_line_error(argv, capsys, *needles) -> str:
    status = main(list(map(str, argv)))
    err = capsys.readouterr().err.strip()
    assert status == 2, f"exit {status} for {argv}: {err}"
    assert len(err.splitlines()) == 1 and ": error: " in err and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


# ---- pick_device ---------------------------------------------------------------------------

def test_auto_picks_mps_when_only_the_apple_gpu_is_there(monkeypatch):
    machine(monkeypatch, cuda=False, mps=True)
    assert pick_device("auto") == torch.device("mps")


def test_auto_prefers_cuda_over_mps(monkeypatch):
    machine(monkeypatch, cuda=True, mps=True)
    assert pick_device("auto").type == "cuda"


def test_auto_is_the_cpu_with_neither_gpu(monkeypatch):
    machine(monkeypatch, cuda=False, mps=False)
    assert pick_device("auto") == torch.device("cpu")


def test_mps_asked_for_and_there(monkeypatch):
    machine(monkeypatch, cuda=False, mps=True)
    assert pick_device("mps") == torch.device("mps")
    with pytest.raises(UserError, match="one Apple GPU.*use --device mps"):
        pick_device("mps:1")


@pytest.mark.parametrize("built", [True, False])
def test_mps_not_there_names_why_and_the_fix(built, monkeypatch):
    machine(monkeypatch, cuda=True, mps=False)  # a CUDA GPU does not stand in for the Apple GPU
    monkeypatch.setattr(torch.backends.mps, "is_built", lambda: built)
    with pytest.raises(UserError) as e:
        pick_device("mps")
    message = str(e.value)
    assert "--device mps" in message and "no Apple GPU (MPS)" in message and message.endswith("use --device cpu")
    assert f"is_built() says {built}" in message
    assert "\n" not in message


@pytest.mark.parametrize("name", ["tpu", "cpu:x"])
def test_an_unknown_device_lists_mps_among_the_choices(name, monkeypatch):
    machine(monkeypatch, cuda=False, mps=False)
    with pytest.raises(UserError, match=r"unknown --device .*auto, cpu, cuda, cuda:N or mps"):
        pick_device(name)


def test_only_the_apple_gpu_lacks_float64():
    assert not has_float64(torch.device("mps"))
    assert has_float64(torch.device("cpu")) and has_float64(torch.device("cuda"))


# ---- precision on mps ----------------------------------------------------------------------

def test_auto_dtype_is_float32_on_mps_and_bf16_on_cuda(monkeypatch):
    machine(monkeypatch, cuda=True, mps=True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    _, on_mps = mixed_precision(torch.device("mps"), "auto")
    _, on_cuda = mixed_precision(torch.device("cuda"), "auto")
    assert (on_mps, on_cuda) == (False, True)


def test_bfloat16_on_mps_autocasts_on_macos_14(monkeypatch):
    machine(monkeypatch, cuda=False, mps=True, macos14=True)
    _, uses_bf16 = mixed_precision(torch.device("mps"), "bfloat16")
    assert uses_bf16


def test_bfloat16_on_mps_before_macos_14_is_refused(monkeypatch):
    machine(monkeypatch, cuda=False, mps=True, macos14=False)
    with pytest.raises(UserError, match="needs macOS 14 or newer.*use --dtype float32"):
        mixed_precision(torch.device("mps"), "bfloat16")
    assert mixed_precision(torch.device("mps"), "float32")[1] is False  # float32 asks nothing of macOS


# ---- through the CLI ---------------------------------------------------------------------

@pytest.mark.parametrize("command", [["gpt", "train", *GPT_TINY], ["translate", "train", *TRANSLATE_TINY]])
def test_mps_not_there_is_one_line_before_anything_is_written(command, tmp_path, monkeypatch, capsys):
    machine(monkeypatch, cuda=False, mps=False)
    out = tmp_path / "run"
    one_line_error([*command, "--device", "mps", "--out", out], capsys,
                   "--device mps asked for", "no Apple GPU (MPS)", "use --device cpu")
    assert not out.exists()


def test_gpt_sample_refuses_mps_that_is_not_there(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    assert main(["gpt", "train", *GPT_TINY, "--device", "cpu", "--out", str(out)]) == 0
    capsys.readouterr()
    machine(monkeypatch, cuda=False, mps=False)
    one_line_error(["gpt", "sample", "--model", out, "--device", "mps", "--max-new-tokens", "3"], capsys,
                   "--device mps asked for", "use --device cpu")


def test_bfloat16_on_old_macos_is_refused_by_gpt_train(tmp_path, monkeypatch, capsys):
    machine(monkeypatch, cuda=False, mps=True, macos14=False)
    out = tmp_path / "run"
    one_line_error(["gpt", "train", *GPT_TINY, "--device", "mps", "--dtype", "bfloat16", "--out", out], capsys,
                   "--dtype bfloat16 on --device mps", "macOS 14", "--dtype float32")
    assert not out.exists()  # refused before the model, the data or the run directory


def test_torchrun_with_mps_is_refused_by_name(tmp_path, monkeypatch, capsys):
    machine(monkeypatch, cuda=False, mps=True)
    monkeypatch.setenv("WORLD_SIZE", "2")  # as torchrun --nproc_per_node=2 sets it
    one_line_error(["gpt", "train", *GPT_TINY, "--device", "mps", "--out", tmp_path / "run"], capsys,
                   "torchrun with --device mps", "no process-group backend", "--device cpu")
    assert not torch.distributed.is_initialized()


def test_the_numpy_engine_names_mps_as_the_torch_engines(tmp_path, monkeypatch, capsys):
    machine(monkeypatch, cuda=False, mps=True)
    one_line_error(["gpt", "train", "--engine", "numpy", *GPT_TINY, "--device", "mps", "--out", tmp_path / "run"],
                   capsys, "numpy engine", "--device mps", "--engine torch")


@pytest.mark.parametrize("parser_of, command", [("nn2gpt.gpt.cli", "train"), ("nn2gpt.gpt.cli", "sample"),
                                                ("nn2gpt.translate.cli", "train")])
def test_every_device_flag_lists_mps_in_its_help(parser_of, command):
    import importlib

    parser = importlib.import_module(parser_of).parsers()[command]
    device = next(a for a in parser._actions if "--device" in a.option_strings)
    assert "mps" in device.help and "cuda:N" in device.help


# ---- no float64 on the device ------------------------------------------------------------

def test_rope_tables_for_a_longer_text_are_made_in_float64_on_the_cpu_only(monkeypatch):
    """The rotary tables grown on the fly (a text past max_len) are the __init__ tables' rows, and
    no float64 tensor is asked of the device (the Apple GPU has none)."""
    from nn2gpt.nn.positional import Rotary

    rope = Rotary(hs=8, max_len=4)
    seen, arange = [], torch.arange

    def spy(*args, **kw):
        seen.append((kw.get("dtype"), kw.get("device")))
        return arange(*args, **kw)

    monkeypatch.setattr(torch, "arange", spy)
    cos, sin = rope._tables(6, torch.device("meta"))
    assert cos.device.type == sin.device.type == "meta" and cos.dtype == torch.float32
    assert all(device in (None, "cpu") for dtype, device in seen if dtype == torch.float64), seen
    longer, _ = rope._tables(6)
    assert torch.equal(longer[:4], rope.cos)
