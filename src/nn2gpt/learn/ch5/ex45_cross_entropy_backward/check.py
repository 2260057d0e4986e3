"""45_cross_entropy_backward: its check (`nn2gpt learn check cross_entropy_backward`) and its trace example
(`nn2gpt learn trace cross_entropy_backward`).
"""

from __future__ import annotations

import numpy as np

from nn2gpt.learn.ch5.common import C, finite_difference_check, inputs
from nn2gpt.learn.checking import compare, expect_array, need, untouched
from nn2gpt.numpy_gpt import layers as ref, layers


def check(module) -> None:
    fn = need(module, "cross_entropy_backward", "cross_entropy_backward(probs, targets)")
    for seed, (n, v) in enumerate([(5, 7), (1, 3), (12, 65)]):
        rng = np.random.default_rng(seed)
        logits, targets = rng.normal(0, 2, (n, v)), rng.integers(0, v, n)
        _, probs = ref.cross_entropy_forward(logits, targets)
        want = ref.cross_entropy_backward(probs.copy(), targets)
        onehot = np.eye(v)[targets]
        # probs may be overwritten (chapter 5's own does that); targets are the caller's
        got = expect_array(untouched(lambda targets: fn(probs.copy(), targets), "cross_entropy_backward", "targets",
                                     targets.copy()), "dlogits", (n, v))
        compare(got, want, "dlogits", [
            ((probs - onehot) if n > 1 else None, f"it is not divided by N = {n}: the loss is the mean over the rows"),
            (probs / n, "the 1 at each row's target is not subtracted: (p - onehot(target)) / N"),
            ((onehot - probs) / n, "it is (onehot - p) / N; the gradient is (p - onehot(target)) / N"),
            ((probs - onehot) / v, f"it is divided by V = {v}; the mean is over the N = {n} rows")],
            f" for logits {(n, v)}")
    logits, targets = np.random.default_rng(3).normal(size=(3, 4)), np.array([0, 3, 3])
    _, probs = ref.cross_entropy_forward(logits, targets)
    finite_difference_check(lambda: np.array(ref.cross_entropy_forward(logits, targets)[0]), {"z": logits}, "z",
                            fn(probs.copy(), targets.copy()), np.array(1.0))


def example():
    x, targets, V, rng = inputs()
    logits = x @ rng.normal(0, C ** -0.5, (V, C)).T
    _, probs = layers.cross_entropy_forward(logits, targets)
    return (f"cross_entropy_backward(probs {probs.shape}, targets {targets.shape}): the next characters "
            f"of the batch", lambda m: need(m, "cross_entropy_backward", "cross_entropy_backward(probs, targets)")(
                probs.copy(), targets.copy()))
