import math

import pytest
import torch

from nn2gpt.nn.positional import LearnedPositions, Rotary, alibi_bias, alibi_slopes, sinusoidal_encoding


@pytest.mark.parametrize("T,d", [(50, 16), (7, 5), (1, 2)])
def test_sinusoidal_equals_the_papers_formula(T, d):
    pe = sinusoidal_encoding(T, d, dtype=torch.float64)
    assert pe.shape == (T, d)
    for pos in range(T):
        for col in range(d):
            i = col // 2  # column 2i is a sine, 2i+1 a cosine of the same angle
            angle = pos / 10000 ** (2 * i / d)
            expected = math.sin(angle) if col % 2 == 0 else math.cos(angle)
            assert pe[pos, col].item() == pytest.approx(expected, abs=1e-12)


def test_sinusoidal_float32_is_the_rounded_float64_table():
    assert torch.equal(sinusoidal_encoding(64, 32), sinusoidal_encoding(64, 32, torch.float64).float())


def test_learned_positions_are_a_trainable_table():
    table = LearnedPositions(16, 8)
    assert table.weight.shape == (16, 8) and table.weight.requires_grad
    assert set(table.state_dict()) == {"weight"}
    assert torch.equal(table(torch.tensor([3])), table.weight[3:4])


def rotate_naive(x, pos, base=10000.0):
    """RoPE written as explicit 2x2 rotations of the pairs (j, j + hs/2)."""
    hs = x.numel()
    out = x.clone()
    for j in range(hs // 2):
        theta = pos * base ** (-2 * j / hs)
        a, b = x[j].item(), x[j + hs // 2].item()
        out[j] = a * math.cos(theta) - b * math.sin(theta)
        out[j + hs // 2] = a * math.sin(theta) + b * math.cos(theta)
    return out


def test_rotary_matches_explicit_rotations_and_preserves_norms():
    torch.manual_seed(0)
    rope = Rotary(8, 32).double()
    x = torch.randn(1, 1, 5, 8, dtype=torch.float64)
    y = rope(x, offset=3)
    for t in range(5):
        ref = rotate_naive(x[0, 0, t], 3 + t)
        assert torch.allclose(y[0, 0, t], ref, atol=1e-6)  # tables are float32
    assert torch.allclose(y.norm(dim=-1), x.norm(dim=-1), atol=1e-6)


def test_rotary_dot_product_depends_only_on_relative_position():
    torch.manual_seed(0)
    rope = Rotary(16, 64)
    q, k = torch.randn(1, 1, 1, 16), torch.randn(1, 1, 1, 16)

    def score(m, n):
        return (rope(q, m) * rope(k, n)).sum().item()

    for shift in (0, 1, 5, 17):
        assert score(10 + shift, 4 + shift) == pytest.approx(score(10, 4), abs=1e-4)
        assert score(3 + shift, 9 + shift) == pytest.approx(score(3, 9), abs=1e-4)
    assert abs(score(10, 4) - score(10, 5)) > 1e-3  # but it does depend on the distance


def test_rotary_beyond_the_table_extends_it():
    rope = Rotary(8, 4)
    x = torch.randn(1, 1, 3, 8)
    y = rope(x, offset=6)  # positions 6..8, past the planned 4
    for t in range(3):
        assert torch.allclose(y[0, 0, t], rotate_naive(x[0, 0, t], 6 + t), atol=1e-5)


def test_alibi_slopes_follow_the_paper():
    # powers of two: the geometric sequence starting at 2^(-8/n) with that ratio
    assert torch.allclose(alibi_slopes(8), torch.tensor([2.0 ** -(i + 1) for i in range(8)]))
    assert torch.allclose(alibi_slopes(4), torch.tensor([2.0 ** (-2 * (i + 1)) for i in range(4)]))
    # 6 heads: the 4-head slopes, then every other slope of 8 heads (2^-1, 2^-3)
    expected = [2.0 ** -2, 2.0 ** -4, 2.0 ** -6, 2.0 ** -8, 2.0 ** -1, 2.0 ** -3]
    assert torch.allclose(alibi_slopes(6), torch.tensor(expected))


def test_alibi_bias_is_minus_slope_times_distance():
    slopes = alibi_slopes(2)
    bias = alibi_bias(slopes, 2, 5, q_offset=3)  # queries at positions 3 and 4 of 5 keys
    assert bias.shape == (2, 2, 5)
    for h in range(2):
        for i in range(2):
            for j in range(5):
                assert bias[h, i, j].item() == pytest.approx(-slopes[h].item() * abs(3 + i - j))
