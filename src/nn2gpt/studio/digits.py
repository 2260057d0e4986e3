"""The digits page: a drawing goes through the same steps as `nn2gpt digits predict`.

The browser sends the canvas as grey levels (0 = black .. 255 = white, row by row). From there
it is the command's own path: `mnist_like` finds the ink, fits it into 20x20, centres it by mass
in 28x28 (what MNIST did to every digit it holds), and the network's `activations` give every
layer: the hidden neurons (sigmoids in [0, 1]) and the 10 outputs.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

from nn2gpt.errors import UserError

MAX_SIDE = 512  # a canvas bigger than this is not a drawing
SHOWN = 48  # misclassified digits in the gallery


def canvas_gray(body: dict) -> np.ndarray:
    """The request's {"width", "height", "pixels"} as an (H, W) float array; UserError when malformed."""
    w, h, pixels = body.get("width"), body.get("height"), body.get("pixels")
    if not all(isinstance(v, int) and not isinstance(v, bool) and 8 <= v <= MAX_SIDE for v in (w, h)):
        raise UserError(f"the canvas must be 8 to {MAX_SIDE} pixels a side, with whole-number width and height")
    if not isinstance(pixels, list) or len(pixels) != w * h:
        raise UserError(f"the canvas sent {len(pixels) if isinstance(pixels, list) else 'no'} pixels "
                        f"for {w}x{h}; send one grey level per pixel")
    try:
        gray = np.asarray(pixels, dtype=np.float64).reshape(h, w)  # (H, W)
    except (TypeError, ValueError):
        raise UserError("the canvas pixels must be numbers from 0 to 255") from None
    if not np.isfinite(gray).all() or gray.min() < 0 or gray.max() > 255:
        raise UserError("the canvas pixels must be numbers from 0 to 255")
    return gray


def predict(net, gray: np.ndarray) -> dict:
    """(H, W) grey levels -> what the page draws: input (784,), hidden layers, probabilities (10,)."""
    from nn2gpt.digits.image import mnist_like

    try:
        x = mnist_like(gray)  # (784,) in [0, 1], the network's input
    except UserError as e:
        if "blank" in str(e):
            raise UserError("the canvas is blank; draw a digit on it") from None
        raise
    return forward(net, x)


def forward(net, x: np.ndarray) -> dict:
    """The network's input x (784,) in [0, 1] through every layer: what the page draws."""
    layers = net.activations(x.reshape(784, 1).astype(net.dtype))[1:]  # [a^1, ..., a^L], each (n_l, 1)
    out = layers[-1][:, 0]  # (10,)
    probs = out if net.output == "softmax" else out / out.sum()
    return {"digit": int(np.argmax(out)), "probabilities": [round(float(p), 5) for p in probs],
            "input": [round(float(v), 3) for v in x],
            "hidden": [[round(float(v), 3) for v in a[:, 0]] for a in layers[:-1]],
            "sizes": net.sizes, "output": net.output}


def neuron(net, index) -> dict:
    """What hidden neuron `index` of the first hidden layer looks for: its 784 incoming weights
    (as a 28x28 picture, one weight per input pixel) and its bias. The neuron's input is w.x + b,
    so ink on a pixel with a large positive weight pushes it on, ink on a negative one pushes it off."""
    from nn2gpt.studio import checks

    if len(net.sizes) < 3:
        raise UserError("this network has no hidden layer; its inputs go straight to the 10 outputs")
    index = checks.number({"neuron": index}, "neuron", int, 0, net.sizes[1] - 1)
    w = net.weights[0][index]  # (784,) the row of W^1 that feeds neuron `index`
    return {"neuron": index, "weights": [round(float(v), 4) for v in w], "bias": round(float(net.biases[0][index, 0]), 4),
            "largest": round(float(np.abs(w).max()), 4)}


class Gallery:
    """The test digits a network gets wrong, computed once per network and kept."""

    def __init__(self, data_dir=None):
        self.data_dir = data_dir
        self._test = None
        self._done: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # net -> its gallery, gone with it
        self._lock = threading.Lock()

    def misclassified(self, net, limit: int = SHOWN) -> dict:
        with self._lock:
            found = self._done.get(net)
        if found is None:
            found = self._compute(net)
            with self._lock:
                self._done[net] = found
        return found | {"items": found["items"][:limit]}

    def test_digit(self, net, index) -> dict:
        """Test digit `index` through the network, as MNIST holds it (already 28x28, centred): its input,
        hidden layer and outputs, with its true label."""
        from nn2gpt.studio import checks

        images, labels = self._images()
        index = checks.number({"index": index}, "index", int, 0, len(labels) - 1)
        return forward(net, images[index]) | {"index": index, "label": int(labels[index])}

    def _images(self):
        from nn2gpt.data.mnist import load_mnist

        with self._lock:
            if self._test is None:
                self._test = load_mnist(self.data_dir, dtype=np.float32).test
        return self._test.images, self._test.labels  # (10000, 784), (10000,)

    def _compute(self, net) -> dict:
        images, labels = self._images()
        outputs = net.predict(images)  # (10000, 10)
        predicted = np.argmax(outputs, axis=1)
        wrong = np.flatnonzero(predicted != labels)
        items = [{"index": int(i), "label": int(labels[i]), "predicted": int(predicted[i]),
                  "pixels": (images[i] * 255).round().astype(int).tolist()} for i in wrong[:SHOWN]]
        return {"wrong": int(len(wrong)), "total": int(len(labels)), "items": items,
                "accuracy": round(100 * (1 - len(wrong) / max(len(labels), 1)), 2)}
