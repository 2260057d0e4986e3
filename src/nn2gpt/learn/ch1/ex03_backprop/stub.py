"""Exercise 3: backpropagation, `backprop(self, x, y)` -> `(nabla_b, nabla_w)`.

For ONE example, x (784, 1) pixels and y (10, 1) one-hot, the quadratic cost is

    C = 1/2 ||a^L - y||^2             and its gradient in a^L is  a^L - y = self.cost_derivative(a^L, y)

backprop returns dC/db and dC/dw for every layer, as two lists shaped exactly like
self.biases and self.weights: nabla_b[l] (n_l, 1), nabla_w[l] (n_l, n_{l-1}).

1. Forward, keeping what you pass: activations = [x], zs = []; for each layer
       z = w a + b  (n_l, 1);  a = sigma(z);  append z to zs and a to activations.
2. Backward, the four equations. delta^l = dC/dz^l is the layer's error, (n_l, 1):
       BP1  delta^L = (a^L - y) * sigma'(z^L)                        (10, 1)   output error
       BP2  delta^l = ((w^{l+1})^T delta^{l+1}) * sigma'(z^l)         (n_l, 1)  one layer down:
            (n_{l+1}, n_l)^T @ (n_{l+1}, 1) -> (n_l, 1); the transpose carries the error back
       BP3  dC/db^l = delta^l                                         (n_l, 1)
       BP4  dC/dw^l = delta^l (a^{l-1})^T                             (n_l, 1) @ (1, n_{l-1})
   (* is elementwise.) BP4 is an outer product: entry [j, k] is delta_j times the activation
   a_k that fed weight w_jk. In Python lists, layer -1 is the output, -2 the one below...

Check with `nn2gpt learn check backprop`: your gradients are compared with the reference and
with finite differences of the cost (nudge each weight by 1e-6, see how C moves).
"""

import numpy as np

from nn2gpt.learn.ch1 import sigmoid, sigmoid_prime  # the reference's; yours from 01 do the same


def backprop(self, x, y):
    """Gradient of the cost of one example: x (784, 1), y (10, 1) -> (nabla_b, nabla_w),
    lists shaped like self.biases and self.weights."""
    raise NotImplementedError("write backprop(self, x, y)")
