"""What every workbook test starts from."""

import pytest

from nn2gpt.cli import main


@pytest.fixture
def book(tmp_path, monkeypatch, capsys):
    root = tmp_path / "wb"
    assert main(["learn", "init", str(root)]) == 0
    monkeypatch.chdir(root)
    capsys.readouterr()
    return root
