"""Multi30k and Tatoeba loaders on the real files: sizes, alignment, and a leak-free split."""

import pytest

from nn2gpt.data.translation import (TATOEBA_HELD_OUT, TATOEBA_SEED, load_multi30k, load_pair, load_tatoeba,
                                     read_tatoeba_pairs, split_by_source)
from nn2gpt.errors import UserError


def test_multi30k_sizes_and_alignment():
    d = load_multi30k()
    assert {k: len(v) for k, v in d.items()} == {"train": 29000, "val": 1014, "test": 1000}
    assert d["train"][0] == ("Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche.",
                             "Two young, White males are outside near many bushes.")
    assert all(s and t for split in d.values() for s, t in split)


def test_tatoeba_split_is_fixed_complete_and_has_no_test_source_in_train():
    pairs = read_tatoeba_pairs()
    assert len(pairs) == 118964 and pairs[0] == ("Ve.", "Go.")
    d = load_tatoeba()
    assert sum(len(v) for v in d.values()) == len(pairs)
    sources = {k: {s for s, _ in v} for k, v in d.items()}
    assert len(sources["test"]) == len(sources["val"]) == TATOEBA_HELD_OUT
    assert not sources["test"] & sources["train"] and not sources["val"] & sources["train"]
    assert not sources["test"] & sources["val"]
    again = split_by_source(pairs, TATOEBA_HELD_OUT, TATOEBA_SEED)
    assert again["test"] == d["test"]  # the recorded seed reproduces the split exactly
    other = split_by_source(pairs, TATOEBA_HELD_OUT, TATOEBA_SEED + 1)
    assert other["test"] != d["test"]


def test_split_by_source_keeps_all_translations_of_a_sentence_together():
    pairs = [(f"s{i % 30}", f"t{i}") for i in range(90)]  # each source three times
    d = split_by_source(pairs, 5, seed=0)
    for split in d.values():
        for s in {s for s, _ in split}:
            assert sum(1 for x, _ in split if x == s) == 3


def test_unknown_pair_is_a_user_error():
    with pytest.raises(UserError, match="de-en"):
        load_pair("fr-en")


def test_a_pair_is_read_once_per_process_each_call_owns_its_lists_and_a_changed_file_is_read_again(
        tmp_path, data_dir, monkeypatch):
    import os
    import shutil

    from nn2gpt.data import translation

    (tmp_path / "spa-eng").mkdir()
    zipped = tmp_path / "spa-eng" / "spa-eng.zip"
    shutil.copy(data_dir / "spa-eng" / "spa-eng.zip", zipped)
    reads = []
    real = translation.load_tatoeba
    monkeypatch.setattr(translation, "load_tatoeba", lambda d=None: reads.append(d) or real(d))
    first = load_pair("es-en", tmp_path)
    first["train"].clear()  # a caller changing its splits
    second = load_pair("es-en", tmp_path)
    assert len(reads) == 1, "the corpus was read again although its file did not change"
    assert len(second["train"]) > 100_000, "a caller's change to its lists reached the next caller"
    assert second == load_tatoeba(tmp_path)
    st = zipped.stat()
    os.utime(zipped, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the file replaced since
    load_pair("es-en", tmp_path)
    assert len(reads) == 2, "a file that changed since it was read was not read again"
