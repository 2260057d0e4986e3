"""Muon: the hand-written Newton–Schulz and optimizer against torch.optim.Muon, and in a run."""

import math
from collections import Counter

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


def torch_muon_direction(g: torch.Tensor) -> torch.Tensor:
    """torch.optim.Muon's orthogonalised direction for the gradient g, through its public API: one
    step with no momentum, no weight decay and lr 1 moves the weight by exactly that direction,
    times the "original" shape factor sqrt(max(1, out/in))."""
    w = torch.nn.Parameter(torch.zeros_like(g))
    opt = torch.optim.Muon([w], lr=1.0, momentum=0.0, nesterov=False, weight_decay=0.0, adjust_lr_fn="original")
    w.grad = g.clone()
    opt.step()
    return -w.detach() / math.sqrt(max(1, g.size(0) / g.size(1)))


def test_newton_schulz_matches_torch_muons_own():
    torch.manual_seed(1)
    for shape in [(48, 16), (16, 48)]:
        g = torch.randn(*shape)
        ours, theirs = newton_schulz(g), torch_muon_direction(g)
        # torch runs the iteration in bfloat16 (8 bits of mantissa): they agree to its precision
        assert (ours - theirs).abs().max() < 0.03
        assert (ours - theirs).norm() / ours.norm() < 0.02
    # and the comparison can tell: a direction that is not g's orthogonalisation is far from it
    g = torch.randn(48, 16)
    assert (newton_schulz(g) - torch_muon_direction(torch.randn(48, 16))).norm() / newton_schulz(g).norm() > 0.5


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


def unigram_entropy(text: str) -> float:
    """The loss of the best model that ignores context (letter frequencies only), in nats."""
    counts = Counter(text)
    return -sum(c / len(text) * math.log(c / len(text)) for c in counts.values())


def test_muon_run_trains_and_resumes_exactly(tmp_path, data_dir):
    """Trains: below what letter frequencies alone give (3.31 nats on Shakespeare), not just below the
    zero-init start of ln 65 = 4.17, which one step already passes; resumes to the same weights."""
    from nn2gpt.data.text import read_text
    from nn2gpt.gpt.train import TrainConfig, train

    tiny = dict(n_layer=1, n_head=2, n_embd=32, block_size=16, batch_size=8, eval_batches=3, warmup=2, lr=3e-3,
                progress=False, sample_tokens=0, device="cpu", threads=1, optimizer="muon", max_iters=80,
                eval_interval=40)
    straight = train(TrainConfig(**tiny, out=str(tmp_path / "a")))
    train(TrainConfig(**tiny, out=str(tmp_path / "b"), stop_at=40))
    resumed = train(TrainConfig(**tiny, out=str(tmp_path / "b"), resume=True))
    floor = unigram_entropy(read_text(data_dir=data_dir))
    assert 3.2 < floor < 3.4
    assert straight.final_val_loss < floor - 0.2, (straight.val_history, floor)
    for k, v in straight.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k
