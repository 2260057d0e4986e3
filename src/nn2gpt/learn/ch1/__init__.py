"""Chapter 1's exercises: Nielsen's network.py, piece by piece, with the book's own signatures.

A learner's `sigmoid`, `feedforward(self, a)`, `backprop(self, x, y)` and
`update_mini_batch(self, mini_batch, eta)` are checked as methods of a `Network` keeping the
book's attributes (nn2gpt.learn.ch1.network), so a replication of network.py drops in as it is.
The stubs import the reference `sigmoid` and `sigmoid_prime` from here: the ones chapter 1
trains with (nn2gpt.digits.costs).
"""

from nn2gpt.digits.costs import sigmoid, sigmoid_prime
from nn2gpt.learn.exercise import Exercise

SHAPE_ERRORS = ("not aligned", "matmul", "could not be broadcast", "mismatch in its core dimension")
C = "nn2gpt.learn.ch1.checks:"

# Each known mistake's own hints: (words of the check's message, hints). `learn hint` shows them
# first after a check that named the mistake (nn2gpt.learn.hints), then the exercise's ladder.
SIGMOID_MISTAKES = (
    (("it is sigma(-z) = 1 - sigma(z)",), (
        "Your sigmoid is its mirror image, 1 - sigma(z) = sigma(-z): the sign in the exponent is the wrong way "
        "round. sigma(z) = 1 / (1 + np.exp(-z)), with the minus, so that a large z gives nearly 1.",)),
    (("it is 1 - sigma(z); multiply",), (
        "sigmoid_prime returned only one of its two factors. The slope of the sigmoid is sigma(z) times "
        "(1 - sigma(z)): s = sigmoid(z), then return s * (1 - s).",)),
    (("it is sigma(z) itself",), (
        "sigmoid_prime returned sigma(z): the height of the curve, not its slope. The slope is s * (1 - s) "
        "with s = sigmoid(z).",)),
    (("you computed z (1 - z)",), (
        "sigma(z) (1 - sigma(z)) is about sigma(z), not z: compute s = sigmoid(z) first, then s * (1 - s).",)),
)
BACKPROP_MISTAKES = (
    (("is left out of BP2",), (
        "The error goes back through each layer's sigmoid too: a^l = sigma(z^l), so the chain rule multiplies "
        "by its slope. After carrying delta back with the transposed weights, multiply elementwise by "
        "sigmoid_prime(zs[-l]).",
        "BP2 is one line with both factors: delta = np.dot(self.weights[-l + 1].T, delta) * sigmoid_prime(zs[-l]).")),
    (("is left out of BP1",), (
        "The output error delta^L is a derivative in z^L, not in a^L: a^L = sigma(z^L), so the cost's derivative "
        "is multiplied by sigma'(z^L): delta = self.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-1]).",)),
    (("left out of both BP1 and BP2",), (
        "Every delta is a derivative in z, so each one gets its own layer's sigmoid_prime(z): "
        "sigmoid_prime(zs[-1]) at BP1, sigmoid_prime(zs[-l]) in the loop (BP2).",)),
    (("applied to the activation a",), (
        "sigmoid_prime takes z, the weighted input, and computes sigma(z) (1 - sigma(z)) itself: given an "
        "activation it applies the sigmoid twice. Pass zs[-l], not activations[-l].",)),
    (("the gradient points the wrong way",), (
        "self.cost_derivative(output, y) is output - y; y - output flips every gradient, and the training "
        "would climb the cost instead of going down it.",)),
    (("returned the AVERAGE",), (
        "Return sums over the mini-batch's examples: update_mini_batch divides by m, once. Drop your division; "
        "BP3 is delta.sum(axis=1, keepdims=True), BP4's np.dot(delta, A.T) sums by itself.",)),
)
UPDATE_MISTAKES = (
    (("times too large: divide by m",), (
        "nabla_b and nabla_w add up m examples' gradients, so they are m times one example's. The step uses "
        "their average: multiply by eta / len(mini_batch), not by eta.",
        "self.weights = [w - (eta / len(mini_batch)) * nw for w, nw in zip(self.weights, nabla_w)]: the "
        "division is inside the step, once.")),
    (("divided by m twice",), (
        "backprop gives one example's gradient, and your sums hold m of them: divide by m once, in the step "
        "(eta / len(mini_batch)), not also while adding them up.",)),
    (("the step goes uphill",), (
        "The gradient points uphill, where the cost grows; gradient descent steps the other way: "
        "w - (eta / m) * nw, with a minus.",)),
    (("the step is divided by 10, not by len(mini_batch)",), (
        "The mini-batch's size is len(mini_batch), not a fixed 10: the last mini-batch of an epoch (and this "
        "check's) may be smaller.",)),
    (("only the last example's gradient was used",), (
        "The sums must grow with each example: inside the loop, nabla_b = [nb + dnb for nb, dnb in "
        "zip(nabla_b, delta_nabla_b)], not nabla_b = delta_nabla_b.",)),
)

EXERCISES = [
    Exercise(1, "sigmoid", 1, "write sigmoid(z) and its derivative sigmoid_prime(z), elementwise",
             ("sigmoid", "sigmoid_prime"), (
        "Both functions work on whole arrays at once: np.exp(-z) is e^(-z) for every entry of z.",
        "sigma(z) = 1 / (1 + e^(-z)); mind the minus sign, sigma(0) must be 0.5 and sigma(5) close to 1.",
        "sigma'(z) = sigma(z) * (1 - sigma(z)): call your sigmoid on z, then use the result twice.",
    ), C + "check_sigmoid", mistake_hints=SIGMOID_MISTAKES),
    Exercise(2, "feedforward", 1, "write feedforward(self, a): a (784, 1) -> the output (10, 1)", ("feedforward",), (
        "Walk the layers with zip(self.biases, self.weights): one (b, w) pair per layer.",
        "Each layer replaces a by sigma(w a + b); the product is np.dot(w, a) (or w @ a), w first.",
        "for b, w in zip(self.biases, self.weights): a = sigmoid(np.dot(w, a) + b) - then return a.",
    ), C + "check_feedforward", ((SHAPE_ERRORS, "a shape mismatch in a product: w^l is (n_l, n_{l-1}) and a is "
                                                "(n_{l-1}, 1), so the product is np.dot(w, a), w first"),)),
    Exercise(3, "backprop", 1, "write backprop(self, x, y) -> (nabla_b, nabla_w) for one example", ("backprop",), (
        "Do the forward pass yourself, keeping every z in a list zs and every activation in a list "
        "activations (starting with x): the backward pass needs them all.",
        "BP1: delta = self.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-1]); then "
        "nabla_b[-1] = delta and nabla_w[-1] = np.dot(delta, activations[-2].T) (BP3, BP4).",
        "Loop l = 2 .. self.num_layers - 1 from the end: delta = np.dot(self.weights[-l + 1].T, delta) * "
        "sigmoid_prime(zs[-l]) (BP2), nabla_b[-l] = delta, nabla_w[-l] = np.dot(delta, activations[-l - 1].T).",
    ), C + "check_backprop", ((SHAPE_ERRORS, "a shape mismatch in a product: BP2 carries delta^{l+1} (n_{l+1}, 1) "
                                             "back with the TRANSPOSED weight, np.dot(w.T, delta); BP4 is "
                                             "np.dot(delta, a.T), delta first"),), mistake_hints=BACKPROP_MISTAKES),
    Exercise(4, "update_mini_batch", 1, "write update_mini_batch(self, mini_batch, eta): one gradient step",
             ("update_mini_batch",), (
        "Start two lists of zeros shaped like self.biases and self.weights, and add each example's "
        "self.backprop(x, y) into them.",
        "The step uses the average gradient: eta / len(mini_batch) times the sums, and it goes downhill (minus).",
        "self.weights = [w - (eta / len(mini_batch)) * nw for w, nw in zip(self.weights, nabla_w)], and the same "
        "for self.biases with nabla_b.",
    ), C + "check_update", mistake_hints=UPDATE_MISTAKES),
    Exercise(5, "backprop_matrix", 1, "write backprop_matrix(self, X, Y): a whole mini-batch X (784, m) at once",
             ("backprop_matrix",), (
        "Nothing in backprop's code needs a single column: the same products on (n, m) matrices do m examples.",
        "Only BP3 changes: nabla_b[l] is delta summed over the columns, delta.sum(axis=1, keepdims=True), "
        "so it stays (n_l, 1). BP4's np.dot(delta, A.T) already sums over the m examples.",
        "Copy your backprop, rename x, y to X, Y, and replace `nabla_b[-l] = delta` by "
        "`nabla_b[-l] = delta.sum(axis=1, keepdims=True)` (at BP1 too). Return sums, not averages.",
    ), C + "check_backprop_matrix", ((SHAPE_ERRORS, "a shape mismatch in a product: with X (784, m) every delta is "
                                                    "(n_l, m); BP2 is np.dot(w.T, delta), BP4 np.dot(delta, A.T)"),),
             mistake_hints=BACKPROP_MISTAKES),
    Exercise(6, "cross_entropy", 1, "write CrossEntropyCost.fn(a, y) and .delta(z, a, y) (network2.py)",
             ("CrossEntropyCost",), (
        "fn is one line of numpy: the sum over the 10 outputs of -y ln a - (1 - y) ln(1 - a).",
        "Where a_j == y_j exactly (a saturated neuron that is right) numpy computes 0 * log(0) = nan; "
        "np.nan_to_num turns it into the 0 it is.",
        "delta(z, a, y) is just a - y: the sigma'(z) of BP1 cancels against the cost's denominator a (1 - a).",
    ), C + "check_cross_entropy"),
]
