"""A small, independent torch GPT written from the contract (functional, autograd does the
backward). The tests compare the numpy engine against it and against nn2gpt.gpt.model."""

import math

import torch
import torch.nn.functional as F


def torch_gpt_loss(weights: dict, config: dict, idx, targets):
    """weights: name -> torch tensor (requires_grad). Returns (logits, loss)."""
    w, nh = weights, config["n_head"]
    b, t = idx.shape
    x = w["tok_emb.weight"][idx] + w["pos_emb.weight"][:t]
    c = x.shape[-1]
    mask = torch.ones(t, t, dtype=torch.bool).tril()
    for i in range(config["n_layer"]):
        p = lambda n: w.get(f"blocks.{i}.{n}")  # noqa: E731
        h = F.layer_norm(x, (c,), p("ln1.weight"), p("ln1.bias"), 1e-5)
        qkv = F.linear(h, p("attn.qkv.weight"), p("attn.qkv.bias"))
        q, k, v = (z.view(b, t, nh, c // nh).transpose(1, 2) for z in qkv.split(c, dim=2))
        s = (q @ k.transpose(-1, -2)) / math.sqrt(c // nh)
        att = s.masked_fill(~mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, c)
        x = x + F.linear(y, p("attn.proj.weight"), p("attn.proj.bias"))
        h = F.layer_norm(x, (c,), p("ln2.weight"), p("ln2.bias"), 1e-5)
        h = F.gelu(F.linear(h, p("mlp.fc.weight"), p("mlp.fc.bias")), approximate="tanh")
        x = x + F.linear(h, p("mlp.proj.weight"), p("mlp.proj.bias"))
    x = F.layer_norm(x, (c,), w["ln_f.weight"], w.get("ln_f.bias"), 1e-5)
    logits = x @ w["tok_emb.weight"].T
    loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))
    return logits, loss


def assert_finite_differences(model, idx, targets, entries, h=1e-6):
    """Torch-free check of a numpy model's backward: for each weight name, the flat `entries(name,
    w)` are nudged by ±h and the central difference of the loss must equal the gradient there."""
    import numpy as np
    import pytest

    _, grads = model.loss_and_grads(idx, targets)
    for name, w in model.weights.items():
        flat = w.reshape(-1)
        for i in np.asarray(entries(name, w)):
            old = flat[i]
            flat[i] = old + h
            up = model.forward(idx, targets, for_backward=False)[1]
            flat[i] = old - h
            down = model.forward(idx, targets, for_backward=False)[1]
            flat[i] = old
            assert grads[name].reshape(-1)[i] == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-9), name
