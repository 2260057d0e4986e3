"""Chapter 5's exercises: the numpy GPT's backward passes, written by the learner.

Each is checked against chapter 5's own layers (nn2gpt.numpy_gpt.layers and attention) and
against finite differences in float64; `nn2gpt learn run numpy-gpt` then trains the numpy GPT
with the learner's passes in place of chapter 5's. Exercise numbers 41-45: the tens digit is
the chapter minus one (ch.1 is 0x, ch.2 1x), so the road's order holds as chapters fill in.
"""

from nn2gpt.learn.ch1 import SHAPE_ERRORS
from nn2gpt.learn.exercise import Exercise

C = "nn2gpt.learn.ch5.checks:"

EXERCISES = [
    Exercise(41, "linear_backward", 5, "write linear_backward(dy, x, w) -> (dx, dw, db) for y = x @ W.T + b",
             ("linear_backward",), (
        "Every gradient has the shape of what it is the gradient of: dx like x (N, in), dw like w (out, in), "
        "db like b (out,).",
        "Each is one product or one sum: find the only way to combine dy (N, out) with w (out, in) that gives "
        "(N, in), and dy with x that gives (out, in).",
        "dx = dy @ w, dw = dy.T @ x, db = dy.sum(axis=0).",
    ), C + "check_linear", ((SHAPE_ERRORS, "a shape mismatch in a product: dx = dy @ W (N, out) @ (out, in); "
                                           "dW = dy.T @ x (out, N) @ (N, in)"),)),
    Exercise(42, "layer_norm", 5, "write layer_norm_forward and layer_norm_backward (eps inside the square root)",
             ("layer_norm_forward", "layer_norm_backward"), (
        "Forward: keepdims=True on every mean (mu, var are (N, 1)) so they broadcast over the row; "
        "the variance divides by C (np.mean), eps goes inside: 1 / np.sqrt(var + eps).",
        "Backward: dbeta and dgamma sum over the rows (axis=0); everything about dx happens per row, "
        "with means over the last axis (keepdims=True).",
        "g = dy * gamma; dx = rstd * (g - g.mean(-1, keepdims=True) - xhat * (g * xhat).mean(-1, keepdims=True)).",
    ), C + "check_layer_norm"),
    Exercise(43, "gelu_backward", 5, "write gelu_backward(dy, x) for GELU's tanh approximation",
             ("gelu_backward",), (
        "Recompute u and t = tanh(u) from x first: the derivative is written in terms of t.",
        "Product rule on 0.5 x (1 + t): 0.5 (1 + t) + 0.5 x dt/dx; chain rule: dt/dx = (1 - t^2) du/dx.",
        "return dy * (0.5 * (1 + t) + 0.5 * x * (1 - t ** 2) * np.sqrt(2 / np.pi) * (1 + 3 * 0.044715 * x ** 2))",
    ), C + "check_gelu"),
    Exercise(44, "attention_backward", 5, "write attention_backward(dy, q, k, v, att) -> (dq, dk, dv)",
             ("attention_backward",), (
        "Go backwards through y = att @ v first: it is a product, like linear_backward's (datt and dv).",
        "The softmax's backward works row by row: ds = att * (datt - (datt * att).sum(axis=-1, keepdims=True)).",
        "Then s = q @ k^T * scale: dq = ds @ k * scale, dk = ds.swapaxes(-1, -2) @ q * scale, scale = 1/sqrt(hs).",
    ), C + "check_attention", ((SHAPE_ERRORS, "a shape mismatch in a product: swap the last two axes with "
                                              "x.swapaxes(-1, -2), not x.T (which reverses all four)"),)),
    Exercise(45, "cross_entropy_backward", 5, "write cross_entropy_backward(probs, targets) -> dlogits",
             ("cross_entropy_backward",), (
        "The answer has the shape of probs (N, V), and is nearly probs itself.",
        "Subtract 1 at each row's target: d[np.arange(N), targets] -= 1 (on a copy).",
        "The loss is a mean over the N rows, so divide the whole thing by N.",
    ), C + "check_cross_entropy"),
]
