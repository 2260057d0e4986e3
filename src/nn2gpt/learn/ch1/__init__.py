"""Chapter 1's exercises: Nielsen's network.py, piece by piece, with the book's own signatures.

A learner's `sigmoid`, `feedforward(self, a)`, `backprop(self, x, y)` and
`update_mini_batch(self, mini_batch, eta)` are checked as methods of a `Network` keeping the
book's attributes (nn2gpt.learn.ch1.network), so a replication of network.py drops in as it is.
The stubs import the reference `sigmoid` and `sigmoid_prime` from here: the ones chapter 1
trains with (nn2gpt.digits.costs) - or, while a milestone loads a learner's file, the learner's
own where exercise 01 passes (nn2gpt.learn.loading.load_file's `given`).
"""


def __getattr__(name):
    """sigmoid, sigmoid_prime: the ones given to the file being loaded, else chapter 1's own."""
    from nn2gpt.digits import costs
    from nn2gpt.learn.loading import earlier_piece

    return earlier_piece("ch1", name, {"sigmoid": lambda: costs.sigmoid, "sigmoid_prime": lambda: costs.sigmoid_prime})
