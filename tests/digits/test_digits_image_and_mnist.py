"""Preprocessing real pictures, and a short training run on the real MNIST."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from nn2gpt.data.mnist import load_mnist
from nn2gpt.digits.image import load_digit, mnist_like
from nn2gpt.digits.network import Network
from nn2gpt.errors import UserError


@pytest.fixture(scope="module")
def mnist():
    return load_mnist(dtype=np.float32)


def book_correct(net, examples) -> int:
    """The book's evaluate, written out: each (image, label) fed alone as a (784, 1) column through
    sigmoid(w @ a + b) layer by layer (in float64, from the net's weights), argmax vs label."""
    correct = 0
    for x, label in examples:
        a = np.asarray(x, dtype=np.float64).reshape(784, 1)
        for w, b in zip(net.weights, net.biases):
            a = 1 / (1 + np.exp(-(w.astype(np.float64) @ a + b.astype(np.float64))))
        correct += int(np.argmax(a)) == int(label)
    return correct


def test_two_epochs_of_the_books_setting_reach_90_percent(mnist):
    net = Network([784, 30, 10], seed=0, dtype=np.float32)       # ch.1: quadratic cost, N(0,1) init
    lines = []
    net.SGD(mnist.train, 2, 10, 3.0, test_data=mnist.test, on_epoch=lambda h: lines.append(h["test_accuracy"][-1]))
    assert len(lines) == 2 and lines[-1] >= 0.90
    # the reported accuracy is what feeding the test digits one at a time through the net scores
    correct = book_correct(net, zip(mnist.test.images, mnist.test.labels))
    assert net.evaluate(mnist.test) == correct and correct / 10_000 == lines[-1]


@pytest.mark.parametrize("size,polarity", [(100, "dark-on-light"), (57, "light-on-dark"), (300, "dark-on-light")])
def test_mnist_digits_survive_the_round_trip(mnist, size, polarity):
    """An MNIST digit, enlarged and maybe inverted, comes back close to the original 28x28."""
    for i in range(20):
        original = mnist.test.images[i].astype(np.float64)
        im = Image.fromarray((original.reshape(28, 28) * 255).astype(np.uint8)).resize((size, size),
                                                                                        Image.Resampling.BICUBIC)
        pixels = np.asarray(im, dtype=np.float64)
        if polarity == "dark-on-light":
            pixels = 255 - pixels
        back = mnist_like(pixels)
        assert back.shape == (784,) and back.min() >= 0 and back.max() == pytest.approx(1, abs=0.05)
        assert np.corrcoef(back, original)[0, 1] > 0.8, i


def test_digit_off_centre_on_a_wide_page_is_centred_by_mass(tmp_path):
    im = Image.new("L", (400, 200), 255)                           # white paper, wide
    ImageDraw.Draw(im).line([(330, 30), (330, 170)], fill=0, width=14)   # a "1" near the right edge
    im.save(tmp_path / "one.png")
    x = load_digit(tmp_path / "one.png").reshape(28, 28)
    ys, xs = np.indices(x.shape)
    assert abs((ys * x).sum() / x.sum() - 14) < 1 and abs((xs * x).sum() / x.sum() - 14) < 1
    assert np.flatnonzero(x.any(axis=1)).size == 20               # the long side fills 20 px


def test_transparent_png_and_blank_image(tmp_path):
    im = Image.new("RGBA", (60, 60), (0, 0, 0, 0))                  # transparent, ink drawn in black
    ImageDraw.Draw(im).ellipse([15, 10, 45, 50], outline=(0, 0, 0, 255), width=6)
    im.save(tmp_path / "zero.png")
    x = load_digit(tmp_path / "zero.png").reshape(28, 28)
    assert x[14, 14] < 0.2 and x.max() > 0.9                       # a ring: bright edge, dark middle
    Image.new("L", (30, 30), 200).save(tmp_path / "blank.png")
    with pytest.raises(UserError, match="blank"):
        load_digit(tmp_path / "blank.png")
