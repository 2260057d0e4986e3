"""Exercise 5: the whole mini-batch as one matrix, `backprop_matrix(self, X, Y)`.

backprop handles one column at a time and update_mini_batch loops over m of them in Python.
Put the m examples side by side instead: X (784, m), Y (10, m), column i = example i. Every
equation keeps its form; each (n, 1) column becomes an (n, m) matrix:

    Z^l = w^l A^{l-1} + b^l      (n_l, n_{l-1}) @ (n_{l-1}, m) + (n_l, 1) -> (n_l, m)  (b broadcasts)
    BP1  D^L = (A^L - Y) * sigma'(Z^L)                                   (10, m)
    BP2  D^l = ((w^{l+1})^T D^{l+1}) * sigma'(Z^l)                       (n_l, m)
    BP3  nabla_b[l] = D^l summed over the m columns                      (n_l, 1)  keepdims!
    BP4  nabla_w[l] = D^l (A^{l-1})^T                                    (n_l, m) @ (m, n_{l-1})

BP4 is now a matrix product, and the product does the summing: entry [j, k] is
sum_i D[j, i] A[k, i], the m outer products of the one-example version added up.

Return the SUM over the m examples (what update_mini_batch's loop adds up), not the average:
update_mini_batch divides by m. Same lists as backprop: shaped like self.biases, self.weights.
"""

import numpy as np

from nn2gpt.learn.ch1 import sigmoid, sigmoid_prime  # the reference's; yours from 01 do the same


def backprop_matrix(self, X, Y):
    """X (784, m), Y (10, m) -> (nabla_b, nabla_w) summed over the m examples."""
    raise NotImplementedError("write backprop_matrix(self, X, Y)")
