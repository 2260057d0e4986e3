"""Exercise 41 (chapter 5): the backward pass of a linear layer, in numpy.

A linear layer (torch's nn.Linear) maps N rows of `in` features to `out` features:

    y = x @ W.T + b          x (N, in), W (out, in), b (out,)  ->  y (N, out)
    y[n, j] = sum_i x[n, i] W[j, i] + b[j]

The backward pass receives dy = dL/dy (N, out), how the loss L changes with each output, and
returns how L changes with each input and parameter. By the chain rule, sum over everything
each entry touched:

    dx[n, i] = sum_j dy[n, j] W[j, i]     ->  dx = dy @ W        (N, out) @ (out, in)  -> (N, in)
    dW[j, i] = sum_n dy[n, j] x[n, i]     ->  dW = dy.T @ x      (out, N) @ (N, in)    -> (out, in)
    db[j]    = sum_n dy[n, j]             ->  db = dy.sum(0)     (out,)

Check the shapes: every gradient has exactly the shape of what it is the gradient of. That is
also the quickest way to find which side of a product gets the transpose.
"""

import numpy as np


def linear_backward(dy, x, w):
    """dy (N, out), x (N, in), w (out, in) -> (dx (N, in), dw (out, in), db (out,))."""
    raise NotImplementedError("write linear_backward(dy, x, w)")
