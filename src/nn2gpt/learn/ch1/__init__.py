"""Chapter 1's exercises: Nielsen's network.py, piece by piece, with the book's own signatures.

A learner's `sigmoid`, `feedforward(self, a)`, `backprop(self, x, y)` and
`update_mini_batch(self, mini_batch, eta)` are checked as methods of a `Network` keeping the
book's attributes (nn2gpt.learn.ch1.network), so a replication of network.py drops in as it is.
The stubs import the reference `sigmoid` and `sigmoid_prime` from here: the ones chapter 1
trains with (nn2gpt.digits.costs).
"""

from nn2gpt.digits.costs import sigmoid, sigmoid_prime  # noqa: F401 - what the stubs import
