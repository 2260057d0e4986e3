"""Exercise 43 (chapter 5): the backward pass of GELU, in numpy.

GPT-2's feed-forward layer uses GELU, in its tanh approximation:

    u = sqrt(2/pi) * (x + 0.044715 x^3)        t = tanh(u)        y = 0.5 x (1 + t)

all elementwise on x (N, 4C). Its derivative needs the product rule (x times (1 + t)) and the
chain rule (t depends on x through u):

    dy/dx = 0.5 (1 + t)  +  0.5 x (1 - t^2) du/dx         tanh'(u) = 1 - tanh(u)^2
    du/dx = sqrt(2/pi) (1 + 3 * 0.044715 x^2)

and the backward pass multiplies by the gradient arriving from above: dx = dy * dy/dx.
(Here dy is dL/dy, the incoming gradient, not the derivative dy/dx - the usual notation clash.)
"""

import numpy as np


def gelu_backward(dy, x):
    """dy (N, D) the gradient of the output, x (N, D) the input -> dx (N, D)."""
    raise NotImplementedError("write gelu_backward(dy, x)")
