"""Attention heatmaps: the weights taken out of the model are causal distributions."""

import pytest
import torch

from nn2gpt.errors import UserError
from nn2gpt.gpt.heatmaps import attention_weights
from nn2gpt.gpt.variants import ModelConfig, build_model


def test_weights_per_layer_are_causal_distributions():
    torch.manual_seed(0)
    model = build_model(ModelConfig(vocab_size=11, block_size=8, n_layer=2, n_head=3, n_embd=12)).eval()
    idx = torch.randint(0, 11, (1, 7))
    before = model(idx)[0]
    maps = attention_weights(model, idx)
    assert len(maps) == 2 and all(m.shape == (3, 7, 7) for m in maps)
    for m in maps:
        torch.testing.assert_close(m.sum(-1), torch.ones(3, 7))
        assert torch.all(m.triu(diagonal=1) == 0)  # no position looks ahead
    torch.testing.assert_close(model(idx)[0], before)  # the hooks are gone, outputs unchanged


def test_bigram_has_no_attention():
    with pytest.raises(UserError, match="no attention"):
        attention_weights(build_model(ModelConfig(model="bigram", vocab_size=5)), torch.zeros(1, 3, dtype=torch.long))
