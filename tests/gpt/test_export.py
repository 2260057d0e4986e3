"""`nn2gpt gpt export RUN --out DIR`: a chapter-2 GPT as a Hugging Face GPT-2 folder that
transformers loads and runs to the same logits and the same greedy text; what GPT-2 has no
part for is refused by name; the folder obeys the one --out rule."""

import json

import pytest
import torch
import transformers  # the dev extra: the reference

from nn2gpt.cli import main

TINY = ["--n-layer", "2", "--n-head", "2", "--n-embd", "16", "--block-size", "32", "--batch-size", "4",
        "--eval-batches", "2", "--max-iters", "8", "--eval-interval", "4", "--sample-tokens", "0", "--quiet",
        "--threads", "1"]


def trained(tmp_path_factory, name, *flags):
    out = tmp_path_factory.mktemp("runs") / name
    assert main(["gpt", "train", "--out", str(out), *TINY, *flags]) == 0
    return out


@pytest.fixture(scope="module")
def char_run(tmp_path_factory):
    return trained(tmp_path_factory, "char", "--recipe", "classic")


@pytest.fixture(scope="module")
def gpt2_run(tmp_path_factory):
    return trained(tmp_path_factory, "gpt2", "--recipe", "classic", "--tokenizer", "gpt2", "--untie")


def exported(run, tmp_path):
    out = tmp_path / f"hf-{run.name}"
    assert main(["gpt", "export", str(run), "--out", str(out)]) == 0
    hf, info = transformers.GPT2LMHeadModel.from_pretrained(out, output_loading_info=True)
    assert not any(info.values()), info  # no missing, unexpected or mismatched tensor
    return out, hf.eval()


def ours(run):
    from nn2gpt.gpt.runs import load_model

    return load_model(run)


@pytest.mark.parametrize("which", ["char_run", "gpt2_run"])
def test_transformers_computes_our_logits_and_our_greedy_text(which, request, tmp_path):
    run = request.getfixturevalue(which)
    out, hf = exported(run, tmp_path)
    model, tok, _ = ours(run)
    ids = torch.tensor([tok.encode("ROMEO: What light through yon")[:20]])
    with torch.no_grad():
        mine, _ = model(ids)
        theirs = hf(ids).logits
    assert (mine - theirs).abs().max() <= 1e-4
    with torch.no_grad():
        greedy = hf.generate(ids, max_new_tokens=10, do_sample=False, pad_token_id=0)[0, ids.shape[1]:].tolist()
        x = ids
        for _ in range(10):  # our model, the most likely token each time
            x = torch.cat([x, model(x)[0][:, -1].argmax(-1, keepdim=True)], dim=1)
    assert greedy == x[0, ids.shape[1]:].tolist()
    if which == "char_run":  # the characters travel with it, so transformers' ids can be read
        chars = json.loads((out / "nn2gpt-vocab.json").read_text(encoding="utf-8"))
        assert "".join(chars[str(i)] for i in greedy) == tok.decode(greedy)
    else:
        hf_tok = transformers.GPT2TokenizerFast.from_pretrained(out)
        assert hf_tok.decode(greedy) == tok.decode(greedy)
        assert json.loads((out / "config.json").read_text())["tie_word_embeddings"] is False


def test_a_gpt2_tokenizer_export_imports_back_to_the_same_weights(gpt2_run, tmp_path):
    from nn2gpt.checkpoint import load_checkpoint

    tied = tmp_path / "tied"
    assert main(["gpt", "train", "--out", str(tied), *TINY, "--recipe", "classic", "--tokenizer", "gpt2"]) == 0
    out = tmp_path / "hf"
    assert main(["gpt", "export", str(tied), "--out", str(out)]) == 0
    back = tmp_path / "back"
    assert main(["gpt", "import", "--from", str(out), "--out", str(back)]) == 0
    a, b = load_checkpoint(tied).weights, load_checkpoint(back).weights
    assert a.keys() == b.keys() and all(abs(a[k] - b[k]).max() == 0 for k in a)


@pytest.mark.parametrize("flags, words", [(["--pos", "rope"], "its pos is 'rope'"),
                                          (["--qk-norm"], "its qk_norm is True"),
                                          (["--model", "bigram"], "its model is 'bigram'")])
def test_what_gpt2_has_no_part_for_is_refused_by_name(flags, words, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["gpt", "train", "--out", str(run), *TINY, "--recipe", "classic", *flags]) == 0
    capsys.readouterr()
    assert main(["gpt", "export", str(run), "--out", str(tmp_path / "hf")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err and "cannot be exported" in err, err
    assert not (tmp_path / "hf").exists()


def test_export_obeys_the_out_rule(char_run, tmp_path, capsys):
    out = tmp_path / "hf"
    assert main(["gpt", "export", str(char_run), "--out", str(out)]) == 0
    before = (out / "model.safetensors").read_bytes()
    cases = [([str(out)], "already holds a GPT exported for transformers"),
             ([str(char_run)], "is the run itself"), ([str(char_run / "x")], "lies inside")]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.json").write_text('{"my": 1}')
    cases.append(([str(mine), "--overwrite"], "no nn2gpt command wrote"))
    for where, words in cases:
        capsys.readouterr()
        assert main(["gpt", "export", str(char_run), "--out", *where]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and words in err, err
    assert (mine / "config.json").read_text() == '{"my": 1}'
    assert (out / "model.safetensors").read_bytes() == before
    assert main(["gpt", "export", str(char_run), "--out", str(out), "--overwrite"]) == 0


def test_a_gpt_without_biases_maps_exactly_to_biases_of_zero():
    from nn2gpt.gpt.export import hf_config, hf_tensors
    from nn2gpt.gpt.variants import ModelConfig, build_model

    cfg = ModelConfig(model="gpt", vocab_size=40, block_size=16, n_layer=2, n_head=2, n_embd=16, bias=False)
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    hf = transformers.GPT2LMHeadModel(transformers.GPT2Config(**hf_config(cfg))).eval()
    missing, unexpected = hf.load_state_dict(hf_tensors(model.state_dict(), cfg), strict=False)
    assert not unexpected and all(k.endswith((".attn.bias", ".attn.masked_bias")) or k == "lm_head.weight"
                                  for k in missing), (missing, unexpected)
    ids = torch.randint(0, 40, (2, 12))
    with torch.no_grad():
        assert (model(ids)[0] - hf(ids).logits).abs().max() <= 1e-5


def test_a_numpy_engine_run_exports_like_a_torch_one(tmp_path):
    run = tmp_path / "numpy"
    assert main(["gpt", "train", "--out", str(run), "--engine", "numpy", "--n-layer", "1", "--n-head", "2",
                 "--n-embd", "16", "--block-size", "16", "--batch-size", "4", "--eval-batches", "2",
                 "--max-iters", "4", "--eval-interval", "2", "--sample-tokens", "0", "--quiet"]) == 0
    out, hf = exported(run, tmp_path)
    model, tok, config = ours(run)
    assert config["engine"] == "numpy"
    ids = torch.tensor([tok.encode("ROMEO: What")])
    with torch.no_grad():
        assert (model(ids)[0] - hf(ids).logits).abs().max() <= 1e-4


def test_an_overwrite_replaces_the_whole_folder(char_run, gpt2_run, tmp_path):
    out = tmp_path / "hf"
    assert main(["gpt", "export", str(gpt2_run), "--out", str(out)]) == 0
    assert (out / "merges.txt").is_file()
    assert main(["gpt", "export", str(char_run), "--out", str(out), "--overwrite"]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "nn2gpt-vocab.json", "nn2gpt-export.json"} <= names
    assert not names & {"vocab.json", "merges.txt"}  # GPT-2's tokenizer is not the char run's
    assert json.loads((out / "nn2gpt-export.json").read_text())["from"] == str(char_run)
    from nn2gpt.files import file_mode

    assert (out / "model.safetensors").stat().st_mode & 0o777 == file_mode()  # readable as the umask says, not 0600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hf"]  # no temporary folder left beside it


@pytest.mark.parametrize("where", ["weights", "swap"])
def test_a_failed_export_leaves_the_old_one_whole(where, char_run, gpt2_run, tmp_path, monkeypatch, capsys):
    import safetensors.torch
    from safetensors import SafetensorError

    from nn2gpt.gpt import export

    out = tmp_path / "hf"
    assert main(["gpt", "export", str(gpt2_run), "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def full(*args, **kwargs):
        if where == "weights":
            raise SafetensorError("No space left on device (os error 28)")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(safetensors.torch if where == "weights" else export, "save_file" if where == "weights"
                        else "swap", full)
    capsys.readouterr()
    assert main(["gpt", "export", str(char_run), "--out", str(out), "--overwrite"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "No space left on device" in err and "is unchanged" in err, err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hf"]
    transformers.GPT2LMHeadModel.from_pretrained(out)  # still the gpt2 run's export, whole


@pytest.mark.parametrize("exchange", [True, False])
def test_swap_puts_each_folder_in_the_others_place(exchange, tmp_path, monkeypatch):
    import ctypes

    from nn2gpt.gpt.export import swap

    new, out = tmp_path / "new", tmp_path / "out"
    for folder, text in ((new, "new"), (out, "old")):
        folder.mkdir()
        (folder / "x").write_text(text)
    if not exchange:  # a system without renameat2: the two renames
        monkeypatch.setattr(ctypes, "CDLL", lambda *a, **kw: object())
    swap(new, out)
    assert (out / "x").read_text() == "new" and (new / "x").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new", "out"]
