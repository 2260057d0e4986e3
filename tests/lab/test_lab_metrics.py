"""The lab's measurements against direct computations."""

import math

import pytest
import torch

from nn2gpt.lab import metrics, positions


def test_attention_entropy_matches_a_loop_over_rows():
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(2, 3, 5, 5, generator=g)
    scores = scores.masked_fill(torch.ones(5, 5).triu(1).bool(), float("-inf"))  # causal
    weights = scores.softmax(-1)  # masked keys are exactly 0
    rows = weights.reshape(-1, 5).tolist()
    direct = sum(-sum(p * math.log(p) for p in row if p > 0) for row in rows) / len(rows)
    assert metrics.attention_entropy(weights) == pytest.approx(direct, rel=1e-9)


def test_attention_entropy_extremes():
    one_hot = torch.eye(4)[None, None]  # every row looks at one key
    assert metrics.attention_entropy(one_hot) == 0.0
    uniform = torch.full((1, 1, 3, 8), 1 / 8)
    assert metrics.attention_entropy(uniform) == pytest.approx(math.log(8))


def test_uniform_causal_entropy_is_the_entropy_of_uniform_causal_rows():
    T = 7
    w = torch.ones(T, T).tril()
    w = w / w.sum(-1, keepdim=True)  # row t spread over t+1 keys
    assert metrics.uniform_causal_entropy(T) == pytest.approx(metrics.attention_entropy(w))


def test_unscaled_dot_saturates_with_head_size_and_scaled_does_not():
    sizes = [4, 16, 64, 256]
    dot = metrics.random_qk_entropy("dot", sizes, T=32, n_heads=4)
    scaled = metrics.random_qk_entropy("scaled_dot", sizes, T=32, n_heads=4)
    assert [dot[d] for d in sizes] == sorted((dot[d] for d in sizes), reverse=True)
    assert dot[256] < 0.5 * dot[4]
    assert max(scaled.values()) - min(scaled.values()) < 0.15  # flat, whatever the head size
    assert scaled[256] > 4 * dot[256]


def test_toeplitz_error_detects_dependence_on_more_than_the_distance():
    i = torch.arange(6.0)
    toeplitz = torch.cos(i[:, None] - i[None, :])  # a function of i - j only
    assert positions.toeplitz_error(toeplitz) < 1e-12
    bumped = toeplitz.clone()
    bumped[2, 3] += 0.5
    assert positions.toeplitz_error(bumped) > 0.3


def test_sinusoidal_similarity_depends_only_on_distance(tmp_path):
    info = positions.pe_pictures(tmp_path, T=40, d=16)
    assert info["toeplitz_error"] < 1e-9
    assert info["diagonal"] == pytest.approx(8.0)  # d/2 pairs with sin² + cos² = 1
    for name in info["pictures"]:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
