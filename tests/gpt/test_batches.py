"""Batches: the 90/10 split, shifted targets, fixed validation windows."""

import numpy as np
import pytest

from nn2gpt.errors import UserError
from nn2gpt.gpt.batches import get_batch, split, val_batches


def test_split_is_first_90_last_10():
    ids = np.arange(1000)
    train, val = split(ids, block_size=8)
    assert len(train) == 900 and train[-1] == 899 and val[0] == 900 and val[-1] == 999


def test_text_shorter_than_block_is_user_error():
    with pytest.raises(UserError, match="too short"):
        split(np.arange(50), block_size=8)


def test_get_batch_targets_are_next_tokens_and_rng_reproducible():
    data = np.arange(100)
    x, y = get_batch(data, 8, 4, np.random.default_rng(0))
    assert x.shape == y.shape == (4, 8) and x.dtype == np.int64
    np.testing.assert_array_equal(y, x + 1)  # data[i] = i, so the next token is i + 1
    assert y.max() <= 99
    x2, _ = get_batch(data, 8, 4, np.random.default_rng(0))
    np.testing.assert_array_equal(x, x2)


def test_val_batches_fixed_and_cover_the_ends():
    data = np.arange(200)
    a, b = val_batches(data, 8, 4, 3), val_batches(data, 8, 4, 3)
    assert len(a) == 3 and all(x.shape == (4, 8) for x, _ in a)
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, xa + 1)
    assert a[0][0][0, 0] == 0 and a[-1][1][-1, -1] == 199  # first and last token both used
