import os
from pathlib import Path

import pytest

# Tests run on the real data in ../shared/data (no network here); CI sets NN2GPT_DATA too.
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
os.environ.setdefault("NN2GPT_DATA", str(SHARED))
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def data_dir() -> Path:
    return Path(os.environ["NN2GPT_DATA"])
