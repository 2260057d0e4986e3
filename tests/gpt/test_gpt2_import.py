"""GPT-2's weights in chapter 2's GPT compute what transformers' GPT2LMHeadModel computes: the same
logits for the same ids, the same greedy continuation. No download: a tiny random GPT2LMHeadModel
(GPT-2's vocabulary, 2 layers of width 32) is built from a config and saved as safetensors; the
tokenizer is nn2gpt's own GPT-2 BPE (its files from $NN2GPT_DATA)."""

import json
import shutil
from pathlib import Path

import pytest
import torch
import transformers  # noqa: F401  (the dev extra; hf_tiny builds the reference model with it)

from hf_tiny import gpt2_folder
from nn2gpt.cli import main

SENTENCE = "The pizza came out of the oven and it tasted good"


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):
    return gpt2_folder(tmp_path_factory.mktemp("gpt2") / "tiny-gpt2")


@pytest.fixture(scope="module")
def run(hf_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "gpt2"
    assert main(["gpt", "import", "--from", str(hf_folder[0]), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def loaded(run):
    from nn2gpt.gpt.runs import load_model

    return load_model(run)


def test_same_logits_as_gpt2(loaded, hf_folder):
    model, tok, config = loaded
    assert type(model).__name__ == "GPT" and config["model"]["pos"] == "learned"  # chapter 2's own class
    ids = torch.tensor([tok.encode(SENTENCE)])  # (1, T) GPT-2's BPE
    assert ids.shape[1] == 11
    with torch.no_grad():
        theirs = hf_folder[1](ids).logits
        ours, _ = model(ids)
    assert (ours - theirs).abs().max() <= 1e-4


def test_same_greedy_continuation_as_generate(loaded, hf_folder, run, capsys):
    model, tok, _ = loaded
    ids = torch.tensor([tok.encode(SENTENCE)])
    with torch.no_grad():
        theirs = hf_folder[1].generate(ids, max_new_tokens=12, do_sample=False, pad_token_id=50256)
    for use_cache in (True, False):
        ours = model.generate(ids, 12, temperature=0.0, use_cache=use_cache)
        assert ours[0].tolist() == theirs[0].tolist()
    capsys.readouterr()
    for engine in ("torch", "numpy"):  # the command line, and chapter 5's engine on the same checkpoint
        assert main(["gpt", "sample", "--model", str(run), "--prompt", SENTENCE, "--temperature", "0",
                     "--max-new-tokens", "12", "--engine", engine]) == 0
        assert capsys.readouterr().out == tok.decode(theirs[0].tolist()) + "\n"


def test_fine_tuning_continues_the_imported_run_on_a_text(run, tmp_path, capsys):
    from nn2gpt.checkpoint import load_checkpoint

    text = tmp_path / "pizza.txt"
    text.write_text(" ".join([SENTENCE + "."] * 80), encoding="utf-8")
    before = load_checkpoint(run).weights["blocks.0.attn.qkv.weight"]
    tuned = tmp_path / "tuned"
    shutil.copytree(run, tuned)
    assert main(["gpt", "train", "--resume", "--out", str(tuned), "--text", str(text), "--max-iters", "2",
                 "--eval-interval", "1", "--batch-size", "2", "--eval-batches", "1", "--sample-tokens", "0",
                 "--threads", "1", "--quiet"]) == 0
    ck = load_checkpoint(tuned)
    assert ck.state["step"] == 2 and ck.config["train"]["optimizer"] == "adamw"
    assert not (ck.weights["blocks.0.attn.qkv.weight"] == before).all()
    capsys.readouterr()
    assert main(["gpt", "train", "--resume", "--out", str(run), "--text", str(text), "--trace"]) == 0
    trace = capsys.readouterr().out
    assert "blocks.1.attn.qkv" in trace and "(2, 8, 96)" in trace


def test_the_studio_reads_it(run):
    from starlette.testclient import TestClient

    from nn2gpt.studio.server import StudioConfig, make_app

    with TestClient(make_app(StudioConfig(runs=str(run.parent), port=8000)), base_url="http://127.0.0.1:8000") as c:
        r = c.post("/api/gpt/inspect", json={"run": run.name, "text": SENTENCE, "position": 8}).json()
        shapes = c.post("/api/gpt/shapes", json={"run": run.name, "text": SENTENCE}).json()
        listed = c.get("/api/runs").json()["runs"]["gpt"]
    assert [g["name"] for g in listed] == [run.name] and shapes["config"]["vocab_size"] == 50257
    assert r["n_layer"] == 2 and r["n_head"] == 4 and len(r["attention"]) == 8
    assert r["tokens"][8] == " it" and len(r["attention"][0]["weights"]) == 9  # it reads 9 tokens


# ---- what cannot be imported is one line naming it ----------------------------------------------

def _copy(folder: Path, dest: Path, config=None, tensors=None) -> Path:
    from safetensors.torch import load_file, save_file

    shutil.copytree(folder, dest)
    if config:
        (dest / "config.json").write_text(json.dumps(json.loads((dest / "config.json").read_text()) | config))
    if tensors:
        save_file(tensors(load_file(str(dest / "model.safetensors"))), str(dest / "model.safetensors"))
    return dest


def _refused(argv, capsys, *needles):
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err


@pytest.mark.parametrize("config, tensors, needles", [
    (None, lambda t: {k: v for k, v in t.items() if k != "transformer.h.1.mlp.c_fc.bias"},
     ["has no tensor h.1.mlp.c_fc.bias"]),
    (None, lambda t: t | {"transformer.h.0.attn.rotary.weight": torch.ones(4)}, ["no place for: h.0.attn.rotary.weight"]),
    (None, lambda t: t | {"transformer.h.0.attn.c_proj.weight": torch.ones(16, 32)},
     ["h.0.attn.c_proj.weight has shape (16, 32)", "(32, 32)"]),
    ({"n_positions": 128}, None, ["wpe.weight has shape (64, 32)"]),
    ({"activation_function": "relu"}, None, ["activation_function 'relu' cannot be represented"]),
    ({"layer_norm_epsilon": 1e-6}, None, ["layer_norm_epsilon 1e-06"]),
    ({"vocab_size": 50304}, None, ["vocab_size 50304"]),
    ({"model_type": "gptj"}, None, ["'gptj' model, not GPT-2"]),
    (None, lambda t: t | {"lm_head.weight": t["transformer.wte.weight"] * 2}, ["lm_head.weight differs from wte.weight"]),
])
def test_what_does_not_fit_is_named_in_one_line(hf_folder, tmp_path, capsys, config, tensors, needles):
    folder = _copy(hf_folder[0], tmp_path / "tiny", config, tensors)
    _refused(["gpt", "import", "--from", str(folder), "--out", str(tmp_path / "run")], capsys, *needles)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("key, value", [("n_head", 0), ("n_embd", None), ("n_layer", "2"), ("n_positions", -64),
                                        ("vocab_size", 50257.0), ("n_head", True)])
def test_a_malformed_size_in_config_json_is_one_line(hf_folder, tmp_path, capsys, key, value):
    folder = _copy(hf_folder[0], tmp_path / "tiny", {key: value})
    _refused(["gpt", "import", "--from", str(folder), "--out", str(tmp_path / "run")], capsys,
             f"{key} is {value!r}, not a positive whole number", "not a model nn2gpt can import")
    assert not (tmp_path / "run").exists()


def test_a_folder_given_as_a_repository_points_to_from(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _refused(["gpt", "import", "./my-gpt2", "--out", str(tmp_path / "run")], capsys,
             "'./my-gpt2' is not a Hugging Face Hub repository name", "--from FOLDER")
    assert not (tmp_path / "run").exists()


def test_only_the_hubs_own_errors_read_as_cannot_reach(tmp_path, capsys, monkeypatch):
    import huggingface_hub

    def fails(error):
        def snapshot_download(**kwargs):
            raise error
        return snapshot_download

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fails(ConnectionResetError("reset by peer")))
    _refused(["gpt", "import", "gpt2", "--out", str(tmp_path / "a")], capsys,
             "cannot reach openai-community/gpt2", "ConnectionResetError", "--from FOLDER")
    import httpx2

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fails(httpx2.ProxyError("proxy refused")))
    _refused(["gpt", "import", "gpt2", "--out", str(tmp_path / "a")], capsys,
             "cannot reach openai-community/gpt2", "ProxyError", "--from FOLDER")
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fails(AttributeError("a bug, not the network")))
    with pytest.raises(AttributeError, match="a bug"):  # a defect surfaces as itself
        main(["gpt", "import", "gpt2", "--out", str(tmp_path / "b")])
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_pickles_offline_and_arguments(run, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "pickled"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "pytorch_model.bin").write_bytes(b"never opened")
    _refused(["gpt", "import", "--from", str(folder), "--out", str(tmp_path / "new")], capsys,
             "only pickled weights (pytorch_model.bin)")
    before = (run / "latest").read_text()
    _refused(["gpt", "import", "--from", str(folder), "--out", str(run)], capsys, "already holds", "--overwrite")
    assert (run / "latest").read_text() == before
    _refused(["gpt", "import", "--out", str(tmp_path / "x")], capsys, "or --from FOLDER, one of the two")
    import huggingface_hub.constants as hc

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(tmp_path / "hf"))
    _refused(["gpt", "import", "gpt2-medium", "--out", str(tmp_path / "m")], capsys,
             "cannot reach openai-community/gpt2-medium", "--from FOLDER")


def test_which_heads_send_it_to_pizza(run, loaded, capsys):
    from nn2gpt.gpt.heatmaps import look_inside

    model, tok, _ = loaded
    ids = tok.encode(SENTENCE)
    weights, _ = look_inside(model, torch.tensor([ids]))  # [(nh, T, T)] per layer; " it" is 8, " pizza" 1
    best = max(((float(w[h, 8, 1]), layer, h) for layer, w in enumerate(weights) for h in range(w.shape[0])))
    capsys.readouterr()
    assert main(["gpt", "attention", SENTENCE, "--model", str(run), "--query", "it", "--key", "pizza", "--top", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and lines[1].split() == ["layer", str(best[1]), "head", str(best[2]), f"{best[0]:.3f}"]
    _refused(["gpt", "attention", SENTENCE, "--model", str(run), "--query", "it", "--key", "soup"], capsys,
             "no token of the text spells 'soup (before it)'", "' pizza'")
    _refused(["gpt", "attention", SENTENCE, "--model", str(run), "--query", "it"], capsys, "go together")


def test_the_hubs_older_layout_imports_too(hf_folder, loaded, tmp_path):
    """OpenAI's repository names its tensors without "transformer." and stores each layer's causal
    mask as a buffer (h.{i}.attn.bias): the same model."""
    from nn2gpt.gpt.runs import load_model

    mask = torch.tril(torch.ones(64, 64))[None, None]  # (1, 1, T, T)

    def older(t):
        t = {k.removeprefix("transformer."): v for k, v in t.items()}
        return t | {f"h.{i}.attn.bias": mask.clone() for i in range(2)} | {"h.0.attn.masked_bias": torch.tensor(-1e4)}
    folder = _copy(hf_folder[0], tmp_path / "older", tensors=older)
    assert main(["gpt", "import", "--from", str(folder), "--out", str(tmp_path / "run")]) == 0
    model, _, _ = load_model(tmp_path / "run")
    for name, w in loaded[0].state_dict().items():
        assert torch.equal(model.state_dict()[name], w), name
