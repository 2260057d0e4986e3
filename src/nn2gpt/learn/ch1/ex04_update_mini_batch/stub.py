"""Exercise 4: one step of gradient descent, `update_mini_batch(self, mini_batch, eta)`.

mini_batch is the book's list of m tuples (x (784, 1), y (10, 1)). The cost of the mini-batch
is the average of the m examples' costs, so its gradient is the average of their gradients:

    nabla_b[l] = sum over (x, y) of self.backprop(x, y)[0][l]        (n_l, 1)
    nabla_w[l] = sum over (x, y) of self.backprop(x, y)[1][l]        (n_l, n_{l-1})
    w^l  <-  w^l - (eta / m) nabla_w[l]
    b^l  <-  b^l - (eta / m) nabla_b[l]

A step goes *against* the gradient (downhill) and its size is eta times the AVERAGE gradient:
divide the sums by m = len(mini_batch). Update self.weights and self.biases (new lists, or in
place); return nothing. self.backprop is there for you (the reference's, or yours once passed).
"""

import numpy as np


def update_mini_batch(self, mini_batch, eta):
    """Step self.weights and self.biases against the gradient averaged over mini_batch."""
    raise NotImplementedError("write update_mini_batch(self, mini_batch, eta)")
