import os
from pathlib import Path

import pytest

# Tests run on the real data in ../shared/data (no network here); CI sets NN2GPT_DATA too.
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
os.environ.setdefault("NN2GPT_DATA", str(SHARED))
os.environ.setdefault("MPLBACKEND", "Agg")
# Test models are tiny: one BLAS/torch thread is faster than two fighting over small matrices
# (and the CLI subprocesses inherit it). Benchmarks in bench/ choose their own thread counts.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# `nn2gpt learn` keeps a warm checker in the background (learn/warm.py): not in tests, whose
# workbooks come and go; tests/learn/test_server.py turns it on for itself and stops what it starts.
os.environ["NN2GPT_LEARN_WARM"] = "0"


@pytest.fixture
def data_dir() -> Path:
    return Path(os.environ["NN2GPT_DATA"])
