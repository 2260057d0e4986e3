"""Chapter 6's switches, each against its formula, and what checkpoints do with them."""

import math
import shutil
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nn2gpt.errors import UserError
from nn2gpt.gpt.variants import ModelConfig, build_model
from nn2gpt.gpt.perf import num_params
from nn2gpt.gpt.modern import relu_squared, rms_rows, softcap
from nn2gpt.gpt.trace import watching
from nn2gpt.gpt.train import TrainConfig
from nn2gpt.schedule import cosine_lr, lr_at, wsd_lr

SMALL = dict(vocab_size=20, block_size=8, n_layer=2, n_head=2, n_embd=16)


def test_relu_squared_is_the_formula_and_the_mlp_uses_it():
    x = torch.linspace(-3, 3, 13)
    assert torch.equal(relu_squared(x), torch.where(x > 0, x * x, torch.zeros_like(x)))
    model = build_model(ModelConfig(**SMALL, mlp="relu2"))
    mlp = model.blocks[0].mlp
    h = torch.randn(2, 5, 16)
    assert torch.allclose(mlp(h), mlp.proj(torch.clamp(mlp.fc(h), min=0) ** 2))


def test_rms_rows_have_unit_rms_and_match_the_formula():
    t = torch.randn(2, 3, 5, 8) * 7
    out = rms_rows(t)
    assert torch.allclose(out.pow(2).mean(-1), torch.ones(2, 3, 5), atol=1e-5)
    assert torch.allclose(out, t / torch.sqrt(t.pow(2).mean(-1, keepdim=True) + 1e-6), atol=1e-6)


def test_qk_norm_gives_the_score_unit_rms_queries_and_keys():
    model = build_model(ModelConfig(**SMALL, qk_norm=True, pos="rope"))
    seen = {}  # the first layer's q and k, as `gpt train --trace` sees them
    with watching(model, lambda name, t, dims: seen.setdefault(name.rsplit(".", 1)[-1], t)):
        model(torch.randint(0, 20, (2, 8)))
    for name in ("q", "k"):  # after RoPE, a rotation, which keeps every row's norm
        assert torch.allclose(seen[name].pow(2).mean(-1), torch.ones(2, 2, 8), atol=2e-3), name  # eps 1e-6 in the root
    plain = build_model(ModelConfig(**SMALL, pos="rope"))
    plain.load_state_dict(model.state_dict())
    x = torch.randint(0, 20, (2, 8))
    assert not torch.allclose(model(x)[0], plain(x)[0])  # the switch changes the function


def test_softcap_is_bounded_and_near_identity_for_small_logits():
    z = torch.tensor([-1e4, -30.0, -0.01, 0.0, 0.01, 30.0, 1e4])
    capped = softcap(z, 15.0)
    assert capped.abs().max() <= 15.0 and torch.allclose(capped, 15 * torch.tanh(z / 15))
    assert torch.allclose(capped[2:5], z[2:5], atol=1e-6)
    model = build_model(ModelConfig(**SMALL, softcap=2.0))
    with torch.no_grad():
        model.tok_emb.weight.mul_(100)  # huge logits without the cap
    logits, _ = model(torch.randint(0, 20, (2, 8)))
    assert logits.abs().max() <= 2.0


def test_zero_init_zeroes_the_output_projections_only():
    model = build_model(ModelConfig(**SMALL, zero_init=True, untie=True))
    for name, p in model.named_parameters():
        zero = name.endswith(("attn.proj.weight", "mlp.proj.weight")) or name == "lm_head.weight"
        assert bool((p == 0).all()) == zero or p.dim() == 1, name
    logits, loss = model(torch.randint(0, 20, (2, 8)), torch.randint(0, 20, (2, 8)))
    assert math.isclose(loss.item(), math.log(20), rel_tol=1e-6)  # a zero head: uniform predictions


def test_untie_gives_a_head_of_its_own():
    tied, untied = build_model(ModelConfig(**SMALL)), build_model(ModelConfig(**SMALL, untie=True))
    assert "lm_head.weight" not in tied.state_dict()
    assert untied.lm_head.weight is not untied.tok_emb.weight
    assert num_params(untied) == num_params(tied) + 20 * 16
    x = torch.randint(0, 20, (1, 8))
    h = untied.ln_f(untied.blocks[1](untied.blocks[0](untied.embed(x))))
    assert torch.allclose(untied(x)[0], h @ untied.lm_head.weight.T, atol=1e-6)


def test_bad_switch_values_are_user_errors():
    with pytest.raises(UserError, match="mlp"):
        build_model(ModelConfig(**SMALL, mlp="swish"))
    with pytest.raises(UserError, match="softcap"):
        build_model(ModelConfig(**SMALL, softcap=-1.0))
    with pytest.raises(UserError, match="gpt model"):
        build_model(ModelConfig(**SMALL, model="multihead", untie=True))


def test_wsd_warms_up_holds_then_decays_linearly():
    lr = [wsd_lr(s, 1.0, 10, 110, 0.0, cooldown=0.5) for s in range(111)]
    assert lr[:10] == [cosine_lr(s, 1.0, 10, 110, 0.0) for s in range(10)]  # the same warm-up
    assert all(v == 1.0 for v in lr[10:61])  # stable for the first half of the budget after it
    decay = np.array(lr[60:111])
    assert np.allclose(np.diff(decay), -1 / 50) and lr[110] == 0.0  # a straight line to min_lr
    # a time budget drives it the same way; the dispatcher picks it by name
    assert wsd_lr(1000, 1.0, 0, 10**6, None, seconds=9.0, max_seconds=10.0, cooldown=0.2) == pytest.approx(0.55)
    run = TrainConfig(schedule="wsd", lr=1.0, warmup=10, max_iters=110, min_lr=0.0, cooldown=0.5)
    assert lr_at(run, 80) == lr[80]
    assert lr_at(replace(run, schedule="cosine"), 80) == cosine_lr(80, 1.0, 10, 110, 0.0)


def test_the_switches_travel_in_the_checkpoint(tmp_path, data_dir, capsys):
    """`gpt sample` rebuilds the model the run trained; the numpy engine names what it lacks;
    --resume keeps the switches and refuses to change them."""
    from nn2gpt.checkpoint import load_checkpoint
    from nn2gpt.cli import main
    from nn2gpt.gpt.runs import load_model

    out = tmp_path / "run"
    tiny = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16", "--batch-size", "4",
            "--max-iters", "4", "--eval-interval", "2", "--eval-batches", "2", "--sample-tokens", "0", "--quiet"]
    flags = ["--mlp", "relu2", "--qk-norm", "--zero-init", "--untie", "--softcap", "10", "--optimizer", "muon",
             "--schedule", "wsd"]
    assert main(["gpt", "train", "--out", str(out), *tiny, *flags]) == 0
    model_cfg = load_checkpoint(out).config["model"]
    assert (model_cfg["mlp"], model_cfg["qk_norm"], model_cfg["untie"], model_cfg["softcap"]) == ("relu2", True, True, 10.0)
    model, _, _ = load_model(out)
    assert model.cfg.untie and model.cfg.softcap == 10.0
    capsys.readouterr()
    assert main(["gpt", "sample", "--model", str(out), "--max-new-tokens", "5", "--seed", "0"]) == 0
    capsys.readouterr()
    assert main(["gpt", "sample", "--engine", "numpy", "--model", str(out), "--max-new-tokens", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "numpy engine does not support mlp 'relu2'" in err
    assert main(["gpt", "train", "--out", str(out), "--resume", "--mlp", "gelu", *tiny]) == 2
    assert "trained with mlp relu2" in capsys.readouterr().err
    assert main(["gpt", "train", "--out", str(out), "--resume", *tiny[:-3], "--max-iters", "6", "--quiet"]) == 0
    assert load_checkpoint(out).state["step"] == 6


@pytest.mark.parametrize("flag", [["--qk-norm"], ["--optimizer", "muon"], ["--softcap", "5"], ["--mlp", "relu2"]])
def test_the_numpy_engine_refuses_the_switches_by_name(flag, capsys):
    from nn2gpt.cli import main

    assert main(["gpt", "train", "--engine", "numpy", "--max-iters", "1", *flag]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"numpy engine does not support {flag[0]}" in err


def test_the_numpy_engine_loads_a_zero_init_checkpoint():
    """zero_init only changes the starting point: the trained weights are plain GPT weights."""
    from nn2gpt.gpt.runs import weights_to_numpy
    from nn2gpt.numpy_gpt.model import NumpyGPT

    cfg = ModelConfig(**SMALL, zero_init=True)
    model = build_model(cfg)
    x = torch.randint(0, 20, (1, 8))
    logits, _, _ = NumpyGPT(cfg.to_dict(), weights_to_numpy(model)).forward(x.numpy(), for_backward=False)
    assert np.allclose(logits, model(x)[0].detach().numpy(), atol=1e-5)


def test_eval_off_clock_keeps_evaluations_out_of_the_budget(monkeypatch):
    """Benchmarks that evaluate often stop the clock while they do: the budget is training time.
    The loops' clock (nn2gpt.loop.Clock) on a clock the test moves: 0.625 s of steps, then a 10 s
    evaluation, then 0.375 s of steps against a budget of 1 s."""
    from types import SimpleNamespace

    from nn2gpt import loop

    now = [0.0]
    monkeypatch.setattr(loop.time, "perf_counter", lambda: now[0])
    cfg = SimpleNamespace(max_iters=10**6, max_seconds=1.0, stop_at=None, eval_interval=5)
    for off_clock, at_the_end, stood_off in ((True, 1.0, 10.0), (False, 11.0, None)):
        now[0] = 0.0
        clock = loop.Clock(0.0, off_clock)
        now[0] += 0.625
        assert loop.stop_status(cfg, 5, clock.elapsed(), False) == ""
        since = now[0]
        now[0] += 10.0                                              # the evaluation and its save
        assert clock.stand_off(since) == stood_off                  # the row's eval_s, when off the clock
        now[0] += 0.375
        assert clock.elapsed() == pytest.approx(at_the_end)
        assert loop.stop_status(cfg, 8, clock.elapsed(), False) == "time"   # out of time either way


def test_eval_off_clock_reaches_the_loop_and_the_result(data_dir):
    """`TrainConfig(eval_off_clock=True)` turns it on in the loop: the result adds up the seconds the
    evaluations stood off the clock; without it there are none."""
    from nn2gpt.gpt.train import TrainConfig, train

    tiny = dict(n_layer=1, n_head=2, n_embd=16, block_size=16, batch_size=4, eval_batches=2, progress=False,
                sample_tokens=0, device="cpu", threads=1, max_iters=10, eval_interval=5)
    off = train(TrainConfig(**tiny, eval_off_clock=True))
    assert off.eval_seconds > 0 and [s for s, _, _ in off.val_history] == [5, 10]
    on = train(TrainConfig(**tiny))
    assert on.eval_seconds == 0.0 and [s for s, _, _ in on.val_history] == [5, 10]


def test_the_road_before_gpt_trains_with_the_defaults_and_refuses_an_explicit_untie(tmp_path, capsys):
    from nn2gpt.cli import main
    from nn2gpt.checkpoint import load_checkpoint

    tiny = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16", "--batch-size", "4",
            "--max-iters", "3", "--eval-interval", "3", "--eval-batches", "1", "--sample-tokens", "0", "--quiet"]
    for model in ("bigram", "attention", "multihead"):  # the record's recipe, whose head is the gpt model's
        assert main(["gpt", "train", "--recipe", "speedrun", "--model", model, "--out", str(tmp_path / model),
                     *tiny]) == 0
        ckpt = load_checkpoint(tmp_path / model)
        assert ckpt.config["model"]["untie"] is False and ckpt.config["model"]["zero_init"] is False
        # no residual path: zeroed projections would leave every gradient at zero; these learned
        assert all(w.any() for n, w in ckpt.weights.items() if n.endswith(("lm_head.weight", "proj.weight")))
    capsys.readouterr()
    for flag in ("--untie", "--zero-init"):
        assert main(["gpt", "train", "--model", "attention", flag, "--out", str(tmp_path / "x"), *tiny]) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and f"{flag} is an option of the gpt model" in err and not (tmp_path / "x").exists()


def test_a_run_saved_before_chapter_6_resumes_with_its_own_recipe(tmp_path):
    """Its config has no optimizer, zero_init or untie: it trained with AdamW and a tied head."""
    from nn2gpt.checkpoint import latest_checkpoint_dir, load_checkpoint, save_checkpoint
    from nn2gpt.cli import main

    out = tmp_path / "old"
    tiny = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16", "--batch-size", "4",
            "--eval-interval", "3", "--eval-batches", "1", "--sample-tokens", "0", "--quiet", "--out", str(out)]
    assert main(["gpt", "train", *tiny, "--max-iters", "3", "--pos", "learned", "--optimizer",
                 "adamw", "--no-zero-init", "--no-untie"]) == 0
    ck = load_checkpoint(out, with_optimizer=True)
    for part in ("train", "model"):
        for key in ("optimizer", "zero_init", "untie", "qk_norm", "mlp", "softcap", "schedule"):
            ck.config[part].pop(key, None)
    shutil.rmtree(latest_checkpoint_dir(out))
    save_checkpoint(out, ck.weights, ck.config, ck.tokenizer, ck.optimizer, ck.state)
    assert main(["gpt", "train", *tiny, "--max-iters", "6", "--resume"]) == 0
    resumed = load_checkpoint(out)
    assert resumed.state["step"] == 6 and "lm_head.weight" not in resumed.weights
    assert resumed.config["train"]["optimizer"] == "adamw" and resumed.config["model"]["untie"] is False


def test_the_lab_keeps_the_2019_recipe_whatever_the_defaults():
    from nn2gpt.lab.plan import BASE, make_plan
    from nn2gpt.lab.measure import train_config

    cfg = train_config(make_plan("scores", 1), BASE, 0, 10, None)
    assert (cfg.pos, cfg.optimizer, cfg.zero_init, cfg.untie) == ("learned", "adamw", False, False)
