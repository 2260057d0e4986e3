"""Plain-text corpora: Tiny Shakespeare, or any UTF-8 file the user names."""

from __future__ import annotations

import os

from nn2gpt.data.fetch import fetch
from nn2gpt.errors import UserError
from nn2gpt.files import check_file


def read_text(path: str | os.PathLike | None = None, data_dir: str | os.PathLike | None = None) -> str:
    """Return the text of `path`, or of Tiny Shakespeare when no path is given."""
    if path is None:
        path = fetch("tinyshakespeare", "input.txt", data_dir)
    path = check_file(path, "text file", "give --text the path of a UTF-8 text file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"{path} is not UTF-8 text ({e}); convert it to UTF-8 first") from None
    if not text.strip():
        raise UserError(f"{path} is empty; give a text file with some content")
    return text
