"""Tiny trained runs of every chapter, made once per test session (see reliability_helpers)."""

import shutil
from pathlib import Path

import pytest
from reliability_helpers import DIGITS_TINY, GPT_TINY, NUMPY_TINY, TRANSLATE_TINY

from nn2gpt.cli import main
from shared_runs import once


KINDS = {"gpt": "gpt", "numpy": "numpy", "translate": "translate", "digits": "digits", "tokens": "tokens",
         "export": "export", "hf-gpt2": "hf/gpt2", "hf-marian": "hf/marian/opus-mt-es-en"}  # kind -> its folder


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> dict:
    """One tiny trained run per kind: gpt (torch), numpy, translate, digits; and two model folders to import.
    Trained once for every worker (shared_runs); each worker reads a copy of its own."""
    trained = once(tmp_path_factory, "reliability-runs", _train_runs)
    root = tmp_path_factory.mktemp("reliability") / "runs"
    shutil.copytree(trained, root)
    return {kind: root / folder for kind, folder in KINDS.items()}


def _train_runs(root: Path) -> None:
    out = {k: root / k for k in ("gpt", "numpy", "translate", "digits")}
    assert main(["gpt", "train", "--out", str(out["gpt"]), "--max-iters", "6", "--eval-interval", "3", *GPT_TINY]) == 0
    assert main(["gpt", "train", "--out", str(out["numpy"]), "--max-iters", "6", "--eval-interval", "3",
                 *NUMPY_TINY]) == 0
    assert main(["translate", "train", "--out", str(out["translate"]), "--epochs", "1", *TRANSLATE_TINY]) == 0
    assert main(["digits", "train", "--out", str(out["digits"]), *DIGITS_TINY]) == 0
    out["tokens"] = root / "tokens"
    assert main(["tokens", "train", "--out", str(out["tokens"]), "--vocab-size", "300", "--quiet"]) == 0
    out["export"] = root / "export"  # the GPT as a Hugging Face folder (nn2gpt gpt export)
    assert main(["gpt", "export", str(out["gpt"]), "--out", str(out["export"])]) == 0
    from hf_tiny import gpt2_folder, marian_folder  # tiny Hugging Face folders for the two importers

    gpt2_folder(root / KINDS["hf-gpt2"])
    marian_folder(root / KINDS["hf-marian"])


@pytest.fixture
def copy_of(runs, tmp_path):
    """copy_of("gpt") -> a fresh copy of that trained run, to damage or overwrite."""
    def make(kind: str) -> Path:
        dest = tmp_path / f"copy-{kind}"
        shutil.copytree(runs[kind], dest)
        return dest
    return make

