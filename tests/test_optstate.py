"""Adam's state in checkpoints, one naming for every chapter (nn2gpt.optstate), and the older ones still read."""

import json
import shutil
from dataclasses import replace

import numpy as np
import torch

from nn2gpt.checkpoint import latest_checkpoint_dir, load_checkpoint, save_checkpoint
from nn2gpt.optstate import adam_arrays, load_torch_adam, read_adam, torch_adam_arrays

TINY = dict(n_layer=1, n_head=2, n_embd=32, block_size=16, batch_size=8, eval_batches=3, warmup=2, lr=3e-3,
            progress=False, sample_tokens=0, device="cpu", threads=1, max_iters=12, eval_interval=6)


def test_arrays_are_named_by_parameter_and_read_back():
    m, v = np.arange(6.0).reshape(2, 3), np.ones(4)
    arrays = adam_arrays([("blocks.0.w", m, v[:3], 7), ("b", v, m.ravel()[:4], 7)])
    assert set(arrays) == {"exp_avg.blocks.0.w", "exp_avg_sq.blocks.0.w", "step.blocks.0.w",
                           "exp_avg.b", "exp_avg_sq.b", "step.b"}
    got = read_adam(arrays | {"rng.torch": np.zeros(3)})  # what is no Adam state is left out
    assert set(got) == {"blocks.0.w", "b"} and got["blocks.0.w"][2] == 7
    np.testing.assert_array_equal(got["blocks.0.w"][0], m)
    legacy = read_adam({"m.w": m, "v.w": m * 2}, steps=5)  # the numpy engine's older names
    assert legacy["w"][2] == 5 and np.array_equal(legacy["w"][1], m * 2)


def test_a_torch_adamw_continues_exactly_from_its_arrays():
    """Against torch's own state_dict round trip: the same next step, to the bit."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))
    groups = [{"params": [p for p in model.parameters() if p.dim() >= 2], "weight_decay": 0.1},
              {"params": [p for p in model.parameters() if p.dim() < 2], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=1e-2)

    def step(m, o, seed):
        torch.manual_seed(seed)
        loss = m(torch.randn(5, 4)).square().mean()
        o.zero_grad()
        loss.backward()
        o.step()
    for s in range(3):
        step(model, opt, s)
    arrays = torch_adam_arrays(opt, model)
    ours, theirs = (torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2)) for _ in range(2))
    for copy in (ours, theirs):
        copy.load_state_dict(model.state_dict())

    def groups_of(m):
        return [{"params": [p for p in m.parameters() if p.dim() >= 2], "weight_decay": 0.1},
                {"params": [p for p in m.parameters() if p.dim() < 2], "weight_decay": 0.0}]
    opt_ours, opt_theirs = torch.optim.AdamW(groups_of(ours), lr=1e-2), torch.optim.AdamW(groups_of(theirs), lr=1e-2)
    load_torch_adam(opt_ours, ours, arrays)
    opt_theirs.load_state_dict(opt.state_dict())
    step(ours, opt_ours, 9)
    step(theirs, opt_theirs, 9)
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(a, b)


def _rewrite_optimizer(run, arrays, extra_state):
    ck = load_checkpoint(run, with_optimizer=True)
    shutil.rmtree(latest_checkpoint_dir(run))
    save_checkpoint(run, ck.weights, ck.config, ck.tokenizer, arrays, ck.state | extra_state)


def test_a_gpt_run_saved_with_the_older_names_resumes_as_a_new_one(tmp_path, data_dir):
    """Checkpoints written before this naming (state.<i>.<key> and the param groups) still resume, exactly."""
    from nn2gpt.gpt.runs import load_weights
    from nn2gpt.gpt.train import TrainConfig, make_optimizer, train

    cfg = TrainConfig(**TINY, data_dir=str(data_dir), optimizer="adamw")  # that writer predates Muon
    new, old = tmp_path / "new", tmp_path / "old"
    half = train(replace(cfg, out=str(new), stop_at=6))
    shutil.copytree(new, old)
    # the older writer: torch's own state_dict, indexed by the optimizer's parameter order
    ck = load_checkpoint(old, with_optimizer=True)
    model = half.model
    load_weights(model, ck.weights)
    opt = make_optimizer(model, cfg, torch.device("cpu"))
    load_torch_adam(opt, model, ck.optimizer)
    sd = opt.state_dict()
    legacy = {f"state.{i}.{k}": t.numpy().copy() for i, st in sd["state"].items() for k, t in st.items()}
    _rewrite_optimizer(old, legacy, {"optimizer_groups": json.loads(json.dumps(sd["param_groups"]))})
    a = train(replace(cfg, out=str(new), resume=True))
    b = train(replace(cfg, out=str(old), resume=True))
    assert a.step == b.step == 12
    for (name, x), y in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(x, y), name


def test_a_numpy_run_saved_with_the_older_names_resumes_as_a_new_one(tmp_path, data_dir):
    from nn2gpt.numpy_gpt.train import NumpyTrainConfig, train

    cfg = NumpyTrainConfig(n_layer=1, n_head=2, n_embd=16, block_size=16, batch_size=4, eval_batches=2, warmup=2,
                           max_iters=8, eval_interval=4, sample_tokens=0, data_dir=str(data_dir))
    new, old = tmp_path / "new", tmp_path / "old"
    train(replace(cfg, out=str(new), stop_at=4), log=lambda *a: None)
    shutil.copytree(new, old)
    saved = read_adam(load_checkpoint(old, with_optimizer=True).optimizer)
    _rewrite_optimizer(old, {f"{k}.{n}": (m if k == "m" else v) for n, (m, v, _) in saved.items() for k in "mv"}, {})
    a = train(replace(cfg, out=str(new), resume=True), log=lambda *a: None)
    b = train(replace(cfg, out=str(old), resume=True), log=lambda *a: None)
    for n, w in a.model.weights.items():
        assert np.array_equal(w, b.model.weights[n]), n
