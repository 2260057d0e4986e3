"""The nanoGPT comparison keeps evaluations off the clock on both sides."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import gpt_train_bench as gtb  # noqa: E402


def test_nanogpt_evaluation_time_is_read_off_its_log():
    # iterations 0 and 2000 each carry one evaluation (6 s and 5 s) on top of a 40 ms step
    logged = [6040.0, 41.0, 39.0, 40.0, 40.0, 5040.0]
    assert gtb.nanogpt_eval_seconds(logged) == pytest.approx(11.0)


def test_no_evaluation_is_counted_when_the_log_has_none_to_show():
    assert gtb.nanogpt_eval_seconds([40.0, 40.0]) == 0.0
    assert gtb.nanogpt_eval_seconds([38.0, 40.0, 41.0, 39.0]) == pytest.approx(0.0, abs=2e-3)
