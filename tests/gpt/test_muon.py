"""Muon: the hand-written Newton–Schulz and optimizer against torch.optim.Muon, and in a run."""

import math

import pytest
import torch

from nn2gpt.gpt.muon import COEFFICIENTS, Muon, newton_schulz


@pytest.mark.parametrize("shape", [(48, 16), (32, 32), (16, 64)])
def test_newton_schulz_sends_every_singular_value_near_one(shape):
    torch.manual_seed(0)
    g = torch.randn(*shape) * 3.0  # (out, in)
    o = newton_schulz(g)
    s = torch.linalg.svdvals(o)
    # five quintic steps with Jordan's coefficients land in a band around 1, not on 1
    assert 0.6 < s.min() and s.max() < 1.25
    # and keep g's singular vectors: o = U diag(s') V^T, so U^T o V is diagonal
    u, _, vh = torch.linalg.svd(g, full_matrices=False)
    core = u.T @ o @ vh.T  # (k, k)
    assert torch.allclose(core, torch.diag(torch.diagonal(core)), atol=1e-4)


def test_the_polynomial_is_the_one_on_the_singular_values():
    a, b, c = COEFFICIENTS
    s = torch.tensor([0.9, 0.5, 0.1])
    g = torch.diag(s)  # its Frobenius norm scales s first
    x = s / s.norm()
    for _ in range(5):
        x = a * x + b * x**3 + c * x**5
    assert torch.allclose(torch.diagonal(newton_schulz(g)), x, atol=1e-5)


def test_newton_schulz_matches_torch_muons_own():
    from torch.optim._muon import _zeropower_via_newtonschulz as torch_ns

    torch.manual_seed(1)
    for shape in [(48, 16), (16, 48)]:
        g = torch.randn(*shape)
        ours, theirs = newton_schulz(g), torch_ns(g, COEFFICIENTS, 5, 1e-7).float()
        # torch runs the iteration in bfloat16 (8 bits of mantissa): they agree to its precision
        assert (ours - theirs).abs().max() < 0.03
        assert (ours - theirs).norm() / ours.norm() < 0.02


def test_muon_steps_like_torch_optim_muon():
    torch.manual_seed(2)
    w0 = torch.randn(24, 8)
    ours, theirs = torch.nn.Parameter(w0.clone()), torch.nn.Parameter(w0.clone())
    opt_ours = Muon([ours], lr=0.05, momentum=0.9, weight_decay=0.1)
    opt_theirs = torch.optim.Muon([theirs], lr=0.05, momentum=0.9, weight_decay=0.1)
    for _ in range(3):
        g = torch.randn(24, 8)
        ours.grad, theirs.grad = g.clone(), g.clone()
        opt_ours.step()
        opt_theirs.step()
    step = (w0 - theirs.detach()).norm()
    assert (ours.detach() - theirs.detach()).norm() / step < 0.02  # bfloat16 vs float32 iteration


def test_muon_run_trains_and_resumes_exactly(tmp_path, data_dir):
    from nn2gpt.gpt.train import TrainConfig, train

    tiny = dict(n_layer=1, n_head=2, n_embd=32, block_size=16, batch_size=8, eval_batches=3, warmup=2, lr=3e-3,
                progress=False, sample_tokens=0, device="cpu", threads=1, optimizer="muon", max_iters=12,
                eval_interval=6)
    straight = train(TrainConfig(**tiny, out=str(tmp_path / "a")))
    train(TrainConfig(**tiny, out=str(tmp_path / "b"), stop_at=6))
    resumed = train(TrainConfig(**tiny, out=str(tmp_path / "b"), resume=True))
    assert straight.final_val_loss < math.log(65)
    for k, v in straight.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k
