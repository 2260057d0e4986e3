"""An opus-mt (Marian) model imported into chapter 3's Transformer computes what transformers'
MarianMTModel computes: same logits, same greedy translation, same token ids. No download: a tiny
random MarianMTModel is built from a config, its SentencePiece models are trained here."""

import json
from pathlib import Path

import pytest
import torch
import transformers  # the dev extra: the reference model and tokenizer

from hf_tiny import corpus as _corpus
from hf_tiny import marian_folder
from nn2gpt.cli import main

PIZZA = "La pizza salió del horno y sabía bien."


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):
    return marian_folder(tmp_path_factory.mktemp("marian") / "opus-mt-es-en")


@pytest.fixture(scope="module")
def hf_tokenizer(hf_folder):
    folder, _ = hf_folder
    return transformers.MarianTokenizer(source_spm=str(folder / "source.spm"), target_spm=str(folder / "target.spm"),
                                        vocab=str(folder / "vocab.json"))


@pytest.fixture(scope="module")
def run(hf_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "opus-es-en"
    assert main(["translate", "import", "--from", str(hf_folder[0]), "--out", str(out)]) == 0
    return out


def _ours(run):
    from nn2gpt.translate.evaluate import load_run

    return load_run(run)


def test_same_token_ids_and_text_as_marian_tokenizer(run, hf_tokenizer):
    _, tok, _ = _ours(run)
    es, en = _corpus()
    for s in es[:20] + [PIZZA, ">>spa<< La sopa."]:
        assert tok.encode(s) + [tok.eos_id] == hf_tokenizer(s)["input_ids"], s
    for t in en[:20]:
        ids = hf_tokenizer(text_target=t)["input_ids"]
        assert tok.encode(t, target=True) + [tok.eos_id] == ids, t
        assert tok.decode(ids) == hf_tokenizer.decode(ids, skip_special_tokens=True)


def test_same_logits_as_marian(run, hf_folder, hf_tokenizer):
    _, hf_model = hf_folder
    model, tok, config = _ours(run)
    assert config["model"]["norm"] == "post" and config["model"]["activation"] == "silu"
    batch = hf_tokenizer([PIZZA, "La sopa."], text_target=["The pizza came out.", "The soup."],
                         padding=True, return_tensors="pt")
    tgt_in = torch.cat([torch.full((2, 1), tok.bos_id), batch["labels"][:, :-1]], dim=1)  # (2, T)
    tgt_in[tgt_in == -100] = tok.pad_id
    with torch.no_grad():
        theirs = hf_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                          decoder_input_ids=tgt_in).logits
        ours = model(batch["input_ids"], tgt_in)
    assert batch["input_ids"][1, -1] == tok.pad_id  # the padded row is compared too
    keep = tgt_in != tok.pad_id
    keep[:, 0] = True  # the first position reads the decoder's start token, which is <pad> itself
    assert (ours - theirs)[keep].abs().max() <= 1e-4


def test_same_greedy_translation_as_generate(run, hf_folder, hf_tokenizer):
    from nn2gpt.translate.decode import greedy_decode

    _, hf_model = hf_folder
    model, tok, _ = _ours(run)
    es, _ = _corpus()
    for sentence in (PIZZA, es[5], es[30]):
        src = torch.tensor([tok.encode(sentence) + [tok.eos_id]])
        with torch.no_grad():
            out = hf_model.generate(input_ids=src, num_beams=1, do_sample=False, max_new_tokens=12,
                                    forced_eos_token_id=None, bad_words_ids=[[tok.pad_id]])
        theirs = [i for i in out[0, 1:].tolist() if i != tok.pad_id]
        theirs = theirs[:theirs.index(tok.eos_id)] if tok.eos_id in theirs else theirs
        assert greedy_decode(model, src, 12)[0] == theirs


def test_the_imported_run_works_with_every_chapter_3_tool(run, tmp_path, capsys):
    capsys.readouterr()
    assert main(["translate", PIZZA, "--model", str(run), "--beam", "2"]) == 0
    translation = capsys.readouterr().out.strip()
    assert main(["translate", "attention", PIZZA, "--model", str(run), "--out", str(tmp_path / "att"),
                 "--beam", "1"]) == 0
    assert len(list((tmp_path / "att").glob("*.png"))) >= 2
    (tmp_path / "src.txt").write_text(PIZZA + "\nLa sopa salió de la cocina y estaba fría.\n", encoding="utf-8")
    (tmp_path / "ref.txt").write_text("The pizza came out of the oven and tasted good.\nThe soup was cold.\n",
                                      encoding="utf-8")
    assert main(["translate", "eval", "--model", str(run), "--src", str(tmp_path / "src.txt"),
                 "--ref", str(tmp_path / "ref.txt"), "--beam", "1"]) == 0
    assert "BLEU =" in capsys.readouterr().out
    assert main(["lab", "pizza", "--model", str(run), "--out", str(tmp_path / "pizza")]) == 0
    report = (tmp_path / "pizza" / "pizza.md").read_text(encoding="utf-8")
    assert report.startswith("# Pizza or oven, measured") and f"Model: `{run.name}`" in report, report[:300]
    assert "sabía" in report and (tmp_path / "pizza" / "pizza_heads.png").is_file()

    from starlette.testclient import TestClient

    from nn2gpt.studio.server import StudioConfig, make_app

    with TestClient(make_app(StudioConfig(runs=str(run.parent), port=8000)), base_url="http://127.0.0.1:8000") as c:
        t = c.post("/api/translate", json={"run": run.name, "sentence": PIZZA, "beam": 2}).json()
        listed = c.get("/api/runs").json()["runs"]["translate"]
        info = c.get(f"/api/translate/info?run={run.name}").json()
        off = c.post("/api/translate", json={"run": run.name, "sentence": PIZZA, "beam": 1,
                                             "heads_off": [[0, 0], [1, 3]]})
    assert t["translation"] == translation
    assert [r["name"] for r in listed] == [run.name] and info["source_language"] == "es" and off.status_code == 200
    model, _, _ = _ours(run)
    assert len(t["cross"]) == len(model.decoder) and t["source"][-1] == "</s>"


def test_fine_tuning_starts_from_the_imported_model(run, tmp_path):
    """`translate train --init-from` reads Marian's tokenizer and trains the post-LN, SiLU model."""
    out = tmp_path / "tuned"
    assert main(["translate", "train", "--pair", "es-en", "--init-from", str(run), "--out", str(out), "--epochs", "1",
                 "--limit", "20", "--max-tokens", "400", "--warmup", "2", "--quiet", "--device", "cpu"]) == 0
    from nn2gpt.checkpoint import load_checkpoint

    ck = load_checkpoint(out)
    assert ck.config["model"]["pe_layout"] == "halves" and ck.tokenizer["kind"] == "sentencepiece-pair"
    before = load_checkpoint(run).weights["logits_bias"]
    assert not (ck.weights["logits_bias"] == before).all()


# ---- what cannot be imported is one line naming it ----------------------------------------------

def _copy(folder: Path, dest: Path, config=None, tensors=None) -> Path:
    """A copy of the Marian folder with config.json keys changed and tensors edited by a function."""
    import shutil

    from safetensors.torch import load_file, save_file

    shutil.copytree(folder, dest)
    if config:
        cfg = json.loads((dest / "config.json").read_text()) | config
        (dest / "config.json").write_text(json.dumps(cfg))
    if tensors:
        save_file(tensors(load_file(str(dest / "model.safetensors"))), str(dest / "model.safetensors"))
    return dest


def _refused(argv, capsys, *needles) -> str:
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


def _drop(name):
    return lambda t: {k: v for k, v in t.items() if k != name}


@pytest.mark.parametrize("config, tensors, needles", [
    (None, _drop("model.encoder.layers.1.fc2.bias"), ["has no tensor encoder.layers.1.fc2.bias"]),
    (None, lambda t: t | {"model.encoder.layer_norm.weight": torch.ones(32)},
     ["no place for: encoder.layer_norm.weight"]),
    ({"encoder_ffn_dim": 48, "decoder_ffn_dim": 48}, None, ["encoder.layers.0.fc1.weight has shape (64, 32)", "(48, 32)"]),
    ({"activation_function": "gelu_new"}, None, ["activation_function 'gelu_new'"]),
    ({"encoder_layers": 3}, None, ["encoder_layers 3 differs from decoder_layers 2"]),
    ({"share_encoder_decoder_embeddings": False}, None, ["share_encoder_decoder_embeddings=False"]),
    ({"model_type": "bart"}, None, ["'bart' model, not a Marian"]),
    (None, lambda t: t | {"lm_head.weight": t["model.shared.weight"] + 1}, ["lm_head.weight differs from shared.weight"]),
    (None, lambda t: t | {"model.encoder.embed_positions.weight": torch.zeros(64, 32)},
     ["encoder.embed_positions.weight is not Marian's sinusoidal table"]),
])
def test_what_does_not_fit_is_named_in_one_line(hf_folder, tmp_path, capsys, config, tensors, needles):
    folder = _copy(hf_folder[0], tmp_path / "opus-mt-es-en", config, tensors)
    _refused(["translate", "import", "--from", str(folder), "--out", str(tmp_path / "run")], capsys, *needles)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("config, key, value, need", [
    ({"d_model": None}, "d_model", None, "a positive whole number"),
    ({"d_model": "512"}, "d_model", "512", "a positive whole number"),
    ({"encoder_attention_heads": 0, "decoder_attention_heads": 0}, "encoder_attention_heads", 0,
     "a positive whole number"),
    ({"encoder_layers": 2.0, "decoder_layers": 2.0}, "encoder_layers", 2.0, "a positive whole number"),
    ({"pad_token_id": -1}, "pad_token_id", -1, "a whole number >= 0"),
])
def test_a_malformed_size_in_config_json_is_one_line(hf_folder, tmp_path, capsys, config, key, value, need):
    folder = _copy(hf_folder[0], tmp_path / "opus-mt-es-en", config)
    _refused(["translate", "import", "--from", str(folder), "--out", str(tmp_path / "run")], capsys,
             f"config.json: {key} is {value!r}, not {need}", "not a model nn2gpt can import")
    assert not (tmp_path / "run").exists()


def test_a_vocab_id_that_is_not_a_number_is_one_line(hf_folder, tmp_path, capsys):
    folder = _copy(hf_folder[0], tmp_path / "opus-mt-es-en")
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8")) | {"▁pizza": "7"}
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    _refused(["translate", "import", "--from", str(folder), "--out", str(tmp_path / "run")], capsys,
             "vocab.json: ▁pizza is '7', not a whole number >= 0", "not a model nn2gpt can import")
    assert not (tmp_path / "run").exists()


def test_pickled_weights_are_refused_and_an_existing_run_is_kept(run, tmp_path, capsys):
    folder = tmp_path / "opus-mt-es-en"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "pytorch_model.bin").write_bytes(b"not opened")
    _refused(["translate", "import", "--from", str(folder), "--out", str(tmp_path / "new")], capsys,
             "only pickled weights (pytorch_model.bin)", "safetensors only")
    before = (run / "latest").read_text()
    _refused(["translate", "import", "--from", str(folder), "--out", str(run)], capsys, "already holds", "--overwrite")
    _refused(["translate", "import", "--from", str(folder), "--out", str(run), "--overwrite"], capsys, "pickled")
    assert (run / "latest").read_text() == before


def test_offline_names_the_repository_and_the_way_round(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    import huggingface_hub.constants as hc

    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    _refused(["translate", "import", "Helsinki-NLP/opus-mt-es-en", "--out", str(tmp_path / "run")], capsys,
             "cannot reach Helsinki-NLP/opus-mt-es-en", "--from FOLDER")
    _refused(["translate", "import", "--out", str(tmp_path / "run")], capsys, "--from FOLDER, one of the two")
    _refused(["translate", "import", "--from", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")], capsys,
             "is not a directory")


def test_older_files_with_position_tables_and_untied_names_import_too(hf_folder, run, tmp_path):
    """Files converted by older transformers also store the sinusoid tables and the embedding under
    each of its names: accepted when they are what the model computes anyway."""
    table = hf_folder[1].state_dict()["model.encoder.embed_positions.weight"].clone()  # (64, 32) Marian's own
    assert table.shape == (64, 32)

    def older(t):
        e = t["model.shared.weight"]
        return t | {"model.encoder.embed_positions.weight": table.clone(), "model.decoder.embed_positions.weight": table,
                    "model.encoder.embed_tokens.weight": e.clone(), "model.decoder.embed_tokens.weight": e.clone(),
                    "lm_head.weight": e.clone()}
    folder = _copy(hf_folder[0], tmp_path / "opus-mt-es-en", tensors=older)
    assert main(["translate", "import", "--from", str(folder), "--out", str(tmp_path / "run")]) == 0
    ours, before = _ours(tmp_path / "run")[0].state_dict(), _ours(run)[0].state_dict()
    assert all(torch.equal(ours[k], v) for k, v in before.items())
