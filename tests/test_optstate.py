"""Adam's state in checkpoints, one naming for every chapter (nn2gpt.optstate), and no other read."""

import shutil
from dataclasses import replace

import numpy as np
import pytest
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
    no_step = read_adam({"exp_avg.w": m, "exp_avg_sq.w": m * 2}, steps=5)  # the run's step count stands in
    assert no_step["w"][2] == 5 and np.array_equal(no_step["w"][1], m * 2)


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


def test_optimizer_state_of_another_spelling_is_refused_not_half_loaded(tmp_path, data_dir):
    """Only exp_avg / exp_avg_sq / step.<name> is read: other arrays are no Adam state, and a
    moment without its partner is refused in one line instead of resuming with half a state."""
    from nn2gpt.errors import UserError
    from nn2gpt.numpy_gpt.train import NumpyTrainConfig, train

    assert read_adam({"rng.torch": np.zeros(2), "muon.w": np.zeros(2)}) == {}
    for spelling in ("state.0.exp_avg", "m.w"):
        with pytest.raises(UserError, match=f"spelling this version does not read \\({spelling}\\)"):
            read_adam({spelling: np.zeros(2)})
    cfg = NumpyTrainConfig(n_layer=1, n_head=2, n_embd=16, block_size=16, batch_size=4, eval_batches=2, warmup=2,
                           max_iters=8, eval_interval=4, sample_tokens=0, data_dir=str(data_dir))
    run = tmp_path / "run"
    train(replace(cfg, out=str(run), stop_at=4), log=lambda *a: None)
    arrays = load_checkpoint(run, with_optimizer=True).optimizer
    _rewrite_optimizer(run, {k: v for k, v in arrays.items() if not k.startswith("exp_avg_sq.")}, {})
    with pytest.raises(UserError, match="no exp_avg_sq.*--overwrite"):
        train(replace(cfg, out=str(run), resume=True), log=lambda *a: None)
