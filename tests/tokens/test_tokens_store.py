"""merges.txt + tokenizer.json: saved readably, loaded back equal, and every damaged form refused in one line."""

import hashlib
import json

import pytest

from nn2gpt.errors import UserError
from nn2gpt.tokens import store
from nn2gpt.tokens.train import train

TEXT = ("the cat sat on the mat; the mat sat on the cat. é é 🙂\n"
        "The quick brown fox jumps over the lazy dog, quickly; the dog jumps back.\n") * 5


@pytest.fixture
def saved(tmp_path):
    tok, _ = train(TEXT, 280, specials=["<|endoftext|>", "<|pad|>"])
    store.save(tok, tmp_path / "tok")
    return tok, tmp_path / "tok"


def test_save_then_load_gives_the_same_tokenizer(saved):
    tok, path = saved
    again = store.load(path)
    assert again.merges == tok.merges and again.specials == tok.specials and again.pattern == tok.pattern
    assert again.vocab == tok.vocab and again.encode(TEXT) == tok.encode(TEXT)
    meta = json.loads((path / "tokenizer.json").read_text())
    assert meta["vocab_size"] == 280 and meta["special_tokens"] == {"<|endoftext|>": 278, "<|pad|>": 279}
    assert sorted(p.name for p in path.iterdir()) == ["merges.txt", "tokenizer.json"]


def test_merges_txt_reads_as_ids_and_bytes(saved):
    tok, path = saved
    lines = [line for line in (path / "merges.txt").read_text().splitlines() if not line.startswith("#")]
    assert len(lines) == len(tok.merges)
    new, left, right = map(int, lines[0].split()[:3])
    assert (new, (left, right)) == (256, tok.merges[0])
    assert store.escape(b" the") == "' the'" and store.escape(b"\n\t\\'") == "'\\n\\t\\\\\\''"
    assert store.escape("é".encode()) == "'é'" and store.escape(b"\xc3") == "'\\xc3'"


def _edit_merges(path, change):
    """Change merges.txt's lines (after the header) and record the new sha256, as if written so."""
    text = (path / "merges.txt").read_text()
    header = [line for line in text.splitlines() if line.startswith("#")]
    body = change([line for line in text.splitlines() if not line.startswith("#")])
    new = "\n".join(header + body) + "\n"
    (path / "merges.txt").write_text(new)
    meta = json.loads((path / "tokenizer.json").read_text())
    meta["merges_sha256"] = hashlib.sha256(new.encode()).hexdigest()
    meta["merges"] = len(body)
    meta["vocab_size"] = 256 + len(body) + len(meta["special_tokens"])
    meta["special_tokens"] = {k: 256 + len(body) + i for i, k in enumerate(meta["special_tokens"])}
    (path / "tokenizer.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("change,words", [
    (lambda b: [b[0].replace("256 ", "300 ", 1), *b[1:]], ("line 3 makes token 300", "256, 257, ... in order")),
    (lambda b: [b[0], "257 -4 10", *b[2:]], ("line 4 uses token -4", "does not exist")),
    (lambda b: [b[0], "257 258 10", *b[2:]], ("line 4 makes 257 from token 258", "forward reference")),
    (lambda b: [b[0], "257 257 10", *b[2:]], ("from token 257", "forward reference, or a loop")),
    (lambda b: [b[0], "257 " + " ".join(b[0].split()[1:3]), *b[2:]], ("line 4 merges", "again (line 3")),
    (lambda b: [b[0], "257 x 10", *b[2:]], ("line 4: expected three ids NEW LEFT RIGHT",)),
    (lambda b: [b[0], "257 10", *b[2:]], ("line 4: expected three ids",)),
])
def test_a_damaged_merge_list_is_refused_naming_the_line(saved, change, words):
    _, path = saved
    _edit_merges(path, change)
    with pytest.raises(UserError) as e:
        store.load(path)
    message = str(e.value)
    assert "\n" not in message and "merges.txt" in message
    for w in words:
        assert w in message, message


@pytest.mark.parametrize("edit,words", [
    (lambda m: m.update(special_tokens={"<|a|>": 278, "<|a|>x": 279}), ("contains", "<|a|>")),
    (lambda m: m.update(special_tokens={"": 278, "<|pad|>": 279}), ("is empty",)),
    (lambda m: m.update(special_tokens={"<|a|>": 278, "<|b|>": 278}), ("not the ids right after",)),
    (lambda m: m.update(special_tokens={"<|a|>": 12, "<|b|>": 279}), ("not the ids right after",)),
    (lambda m: m.update(vocab_size=5000), ("vocab_size 5000",)),
    (lambda m: m.update(merges=3), ("says 3 merges",)),
    (lambda m: m.update(version=7), ("format version 7",)),
    (lambda m: m.update(format="other"), ("was not written by `nn2gpt tokens train`",)),
    (lambda m: m.update(split_pattern="(unclosed"), ("split_pattern", "not a regular expression")),
    (lambda m: m.update(merges_sha256="0" * 64), ("merges.txt is not the file tokenizer.json was written with",)),
])
def test_a_damaged_description_is_refused(saved, edit, words):
    _, path = saved
    meta = json.loads((path / "tokenizer.json").read_text())
    edit(meta)
    (path / "tokenizer.json").write_text(json.dumps(meta))
    with pytest.raises(UserError) as e:
        store.load(path)
    assert "\n" not in str(e.value)
    for w in words:
        assert w in str(e.value), str(e.value)


def test_broken_json_and_a_missing_merges_file_are_one_line_errors(saved):
    _, path = saved
    (path / "merges.txt").unlink()
    with pytest.raises(UserError, match="no merges.txt"):
        store.load(path)
    (path / "tokenizer.json").write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        store.load(path)


def test_a_save_stopped_halfway_leaves_a_whole_tokenizer(saved, monkeypatch):
    """Stopped before the rename: tokenizer.json is the new one, merges.txt the old; load reads the new merges."""
    old, path = saved
    new, _ = train(TEXT + "dogs and frogs " * 9, 290)
    assert new.merges != old.merges

    def stop(*args):
        raise KeyboardInterrupt  # Ctrl-C (or a power cut) between the two renames

    import nn2gpt.files

    monkeypatch.setattr(nn2gpt.files, "atomic_write_json", stop)  # stopped before tokenizer.json: the old one
    with pytest.raises(KeyboardInterrupt):
        store.save(new, path)
    monkeypatch.undo()
    assert store.load(path).merges == old.merges
    monkeypatch.setattr(store, "_finish", stop)  # stopped after it: the new one
    with pytest.raises(KeyboardInterrupt):
        store.save(new, path)
    monkeypatch.undo()
    assert (path / store.PENDING).exists()
    assert store.load(path).merges == new.merges
    store.save(new, path)  # the next save finishes the job
    assert not (path / store.PENDING).exists() and store.load(path).merges == new.merges
