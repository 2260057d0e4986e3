"""A tokenizer on disk: merges.txt to read, tokenizer.json to describe it, both checked on load.

    DIR/merges.txt       one merge a line, in order:  NEW LEFT RIGHT  'left' + 'right' = 'new'
    DIR/tokenizer.json   {"format": "nn2gpt-bpe", "version": 1, "vocab_size", "merges",
                          "split_pattern", "special_tokens": {text: id}, "merges_sha256", ...}

Only the three ids of a merges.txt line are read; the bytes after them are there for a person
(`escape`: printable characters as they are, the rest as \\xNN, \\n, \\t). A file is trusted
only once it passes every check, each failure one line naming the file, the line and the fix:
ids 256, 257, ... in order; each merge made from two tokens that exist before it (a later id
would be a forward reference, and a chain of them could loop: a token made from itself); no
pair merged twice; the special tokens' ids right after the merges, none empty, none inside
another; the sha256 of merges.txt the one tokenizer.json recorded.

Saving never leaves a half tokenizer: the new merges go to a hidden file, then tokenizer.json
(naming their sha256) replaces the old one atomically, then the merges take merges.txt's name.
A save stopped at any point leaves the old tokenizer or the new one: `load` reads the hidden
file when tokenizer.json names its sha256 and merges.txt is still the old one.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from nn2gpt.errors import UserError
from nn2gpt.tokens.bpe import Tokenizer

FORMAT, VERSION = "nn2gpt-bpe", 1
MERGES, META, PENDING = "merges.txt", "tokenizer.json", ".merges-next.tmp"
HEADER = ("# nn2gpt byte-level BPE: merge i makes token 256 + i from two tokens made before it.\n"
          "# NEW LEFT RIGHT, then the bytes 'left' + 'right' = 'new' for the reader (only the ids are read).\n")
FIX = "train it again with `nn2gpt tokens train`"


def escape(data: bytes) -> str:
    """Bytes as readable text in quotes: UTF-8 characters as themselves, other bytes as \\xNN."""
    out = []
    for ch in data.decode("utf-8", errors="surrogateescape"):
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")  # a byte that is not part of a whole UTF-8 character
        elif ch in "\\'":
            out.append("\\" + ch)
        elif ch == " " or ch.isprintable():
            out.append(ch)
        else:
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(ch) or f"\\u{code:04x}")
    return "'" + "".join(out) + "'"


def merges_text(tok: Tokenizer) -> str:
    v = tok.vocab
    lines = [f"{256 + i} {a} {b}\t{escape(v[a])} + {escape(v[b])} = {escape(v[256 + i])}\n"
             for i, (a, b) in enumerate(tok.merges)]
    return HEADER + "".join(lines)


def is_tokenizer_dir(path) -> bool:
    """True when `path` holds a tokenizer.json written by `nn2gpt tokens train`."""
    import json

    meta = Path(path) / META
    try:
        return meta.is_file() and json.loads(meta.read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def save(tok: Tokenizer, out, trained_on: dict | None = None) -> Path:
    """Write `tok` into the folder `out` (see the module docstring for the order of the writes)."""
    from nn2gpt.files import atomic_write_json, atomic_write_text

    if tok.byte_ids != list(range(256)):
        raise UserError("only tokenizers whose first 256 ids are the bytes in order can be saved; "
                        "GPT-2's is read from its own files (--model gpt2)")
    out = Path(out)
    text = merges_text(tok)
    atomic_write_text(out / PENDING, text)
    meta = {"format": FORMAT, "version": VERSION, "vocab_size": tok.vocab_size, "merges": len(tok.merges),
            "split_pattern": tok.pattern, "special_tokens": tok.specials,
            "merges_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(), "trained_on": trained_on or {}}
    atomic_write_json(out / META, meta)
    _finish(out)
    return out


def _finish(out: Path) -> None:
    """The last step of a save: the new merges take merges.txt's name (atomically)."""
    os.replace(out / PENDING, out / MERGES)


def load(path) -> Tokenizer:
    """The tokenizer in the folder `path`, checked; UserError in one line if any check fails."""
    from nn2gpt.files import read_json

    path = Path(path)
    meta = read_json(path / META, "tokenizer file")
    where = path / META
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UserError(f"{where} was not written by `nn2gpt tokens train` (no \"format\": \"{FORMAT}\"); "
                        f"give a folder of `nn2gpt tokens train`, or gpt2")
    if meta.get("version") != VERSION:
        raise UserError(f"{where} has format version {meta.get('version')!r}; this nn2gpt reads version "
                        f"{VERSION}: {FIX}")
    text = _merges_file_text(path, meta)
    merges = parse_merges(text, path / MERGES)
    n, specials, pattern = meta.get("merges"), meta.get("special_tokens"), meta.get("split_pattern")
    if n != len(merges):
        raise UserError(f"{where} says {n!r} merges, {path / MERGES} holds {len(merges)}: {FIX}")
    if pattern is not None:
        _check_pattern(pattern, where)
    if not isinstance(specials, dict) or not all(isinstance(i, int) and not isinstance(i, bool)
                                                 for i in specials.values()):
        raise UserError(f"{where}: \"special_tokens\" must map each token's text to its id: {FIX}")
    from nn2gpt.tokens.train import check_specials

    check_specials(list(specials), f"{where}: special token")
    first = 256 + len(merges)
    if sorted(specials.values()) != list(range(first, first + len(specials))):
        raise UserError(f"{where}: the special tokens' ids {sorted(specials.values())} are not the ids right after "
                        f"the {len(merges)} merges ({first}, {first + 1}, ...): {FIX}")
    if meta.get("vocab_size") != first + len(specials):
        raise UserError(f"{where} says vocab_size {meta.get('vocab_size')!r}, but 256 bytes + {len(merges)} merges + "
                        f"{len(specials)} special tokens make {first + len(specials)}: {FIX}")
    return Tokenizer(merges, pattern, specials)


def from_json(d: dict, where: str = "the checkpoint") -> Tokenizer:
    """The tokenizer a GPT run saved in its checkpoint (`Tokenizer.to_json`), with the checks
    `load` makes: merges in order, none of unknown or later tokens, none twice, a pattern that
    compiles, special tokens right after the merges."""
    merges, pattern, specials = d.get("merges"), d.get("split_pattern"), d.get("special_tokens", {})
    bad = f"{where}'s BPE tokenizer is damaged"
    if not isinstance(merges, list) or not all(isinstance(m, list) and len(m) == 2 and all(
            isinstance(i, int) and not isinstance(i, bool) for i in m) for m in merges):
        raise UserError(f"{bad}: its merges are not a list of [left, right] id pairs; retrain it or restore a copy")
    text = "".join(f"{256 + i} {a} {b}\n" for i, (a, b) in enumerate(merges))
    merges = parse_merges(text, f"{where}'s merges (merge 1 is line 1)")
    if pattern is not None:
        _check_pattern(pattern, where)
    first = 256 + len(merges)
    if not isinstance(specials, dict) or sorted(specials.values()) != list(range(first, first + len(specials))):
        raise UserError(f"{bad}: its special tokens do not take the ids right after the merges; retrain it or "
                        f"restore a copy")
    return Tokenizer(merges, pattern, specials)


def _merges_file_text(path: Path, meta: dict) -> str:
    """merges.txt's text, or the hidden new one of a save that stopped before renaming it."""
    want = meta.get("merges_sha256")
    for name in (MERGES, PENDING):
        try:
            data = (path / name).read_bytes()
        except FileNotFoundError:
            continue
        except OSError as e:
            raise UserError(f"cannot read {path / name} ({e.strerror}); check its permissions") from None
        if hashlib.sha256(data).hexdigest() == want:
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                break
    if not (path / MERGES).is_file():
        raise UserError(f"{path} has a tokenizer.json but no {MERGES}: {FIX}")
    raise UserError(f"{path / MERGES} is not the file tokenizer.json was written with (its sha256 differs): "
                    f"it was changed or damaged; {FIX}")


def parse_merges(text: str, where) -> list[tuple[int, int]]:
    """The (left, right) of each line, after every check of the module docstring."""
    merges: list[tuple[int, int]] = []
    made_at: dict[tuple[int, int], int] = {}  # pair -> the line that merged it
    number = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split(None, 3)
        try:
            new, left, right = (int(f) for f in fields[:3])  # fewer than three: ValueError too
        except ValueError:
            raise UserError(f"{where} line {number}: expected three ids NEW LEFT RIGHT, got {line[:60]!r}: "
                            f"{FIX}") from None
        expected = 256 + len(merges)
        if new != expected:
            raise UserError(f"{where} line {number} makes token {new}, but the merges must make 256, 257, ... in "
                            f"order and this one is {expected}: {FIX}")
        for t in (left, right):
            if t < 0:
                raise UserError(f"{where} line {number} uses token {t}, which does not exist (ids start at 0): {FIX}")
            if t >= new:
                raise UserError(f"{where} line {number} makes {new} from token {t}, which is not made before it "
                                f"(a forward reference, or a loop): a merge may use only tokens 0..{new - 1}: {FIX}")
        if (left, right) in made_at:
            raise UserError(f"{where} line {number} merges {left} {right} again (line {made_at[(left, right)]} "
                            f"already did): {FIX}")
        made_at[(left, right)] = number
        merges.append((left, right))
    return merges


def _check_pattern(pattern, where) -> None:
    import regex

    try:
        regex.compile(pattern)
    except (TypeError, regex.error) as e:
        raise UserError(f"{where}: \"split_pattern\" is not a regular expression ({e}): {FIX}") from None
