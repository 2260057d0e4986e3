"""Looking inside a trained model without changing it."""

import pytest
import torch
import torch.nn.functional as F

from nn2gpt.gpt.variants import ModelConfig, build_model
from nn2gpt.lab import probe


def _model(mask="causal", seed=0):
    torch.manual_seed(seed)
    return build_model(ModelConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16, mask=mask)).eval()


def test_masked_as_gives_the_causal_model_with_the_same_weights():
    anti, causal = _model("anticausal"), _model("causal")
    causal.load_state_dict(anti.state_dict())  # same weights, only the mask differs
    idx = torch.randint(0, 11, (3, 8))
    with torch.no_grad():
        before = anti(idx)[0]
        with probe.masked_as(anti, "causal"):
            swapped = anti(idx)[0]
        after = anti(idx)[0]
        reference = causal(idx)[0]
    torch.testing.assert_close(swapped, reference)
    torch.testing.assert_close(after, before)  # the mask is restored
    assert not torch.allclose(before, reference)


def test_text_loss_is_the_mean_over_consecutive_windows():
    model = _model()
    ids = torch.randint(0, 11, (2, 21))
    with torch.no_grad():  # windows [0:9], [8:17], [16:21] (x = all but last, y = shifted)
        losses = [F.cross_entropy(model(ids[:, s:e - 1])[0].flatten(0, 1), ids[:, s + 1:e].flatten(), reduction="sum")
                  for s, e in ((0, 9), (8, 17), (16, 21))]
    assert probe.text_loss(model, ids, 8) == pytest.approx(float(sum(losses)) / (2 * 20), rel=1e-5)


def test_captured_attention_sees_every_layer_and_changes_nothing():
    model = _model()
    idx = torch.randint(0, 11, (2, 8))
    with torch.no_grad():
        plain = model(idx)[0]
        with probe.captured_attention(model) as weights:
            captured = model(idx)[0]
        again = model(idx)[0]
    torch.testing.assert_close(captured, plain)
    torch.testing.assert_close(again, plain)
    assert len(weights) == 2 and weights[0].shape == (2, 2, 8, 8)
    torch.testing.assert_close(weights[0].sum(-1), torch.ones(2, 2, 8))
    assert torch.all(weights[1].triu(1) == 0)  # causal: nothing above the diagonal
    assert all("forward" not in vars(m) for m in probe.attention_layers(model))


def test_generate_is_reproducible_and_starts_after_the_prompt():
    model = _model("anticausal")
    a = probe.generate(model, 3, n_seq=2, n_tokens=12, seed=5)
    b = probe.generate(model, 3, n_seq=2, n_tokens=12, seed=5)
    assert a.shape == (2, 12) and torch.equal(a, b)
