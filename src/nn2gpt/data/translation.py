"""Parallel corpora for chapter 3: Multi30k (German -> English) and Tatoeba (Spanish -> English).

Both come through `nn2gpt.data.fetch` (verified sha256) and are returned the same way:
a dict split name -> list of (source, target) sentence pairs, plain strings, untokenized.

- Multi30k task 1 ships its own split: train 29,000 / val 1,014 / test_2016_flickr 1,000.
- Tatoeba (`spa-eng.zip`, lines `English<TAB>Spanish`) ships no split, so we make one with a
  fixed seed (`TATOEBA_SEED`). Many Spanish sentences occur several times with different
  English translations; we split by *distinct source sentence*, so every pair whose source is
  in test stays out of train (no test sentence was seen in training, only its siblings in test).
"""

from __future__ import annotations

import gzip
import os
import random
import zipfile

from nn2gpt.data.fetch import fetch, file_state
from nn2gpt.errors import UserError

PAIRS = {"de-en": "Multi30k task 1 (German -> English)", "es-en": "Tatoeba (Spanish -> English)"}
MULTI30K_FILES = {"train": "train", "val": "val", "test": "test_2016_flickr"}
TATOEBA_SEED = 1234  # recorded: changing it changes the test set, so BLEU numbers stop being comparable
TATOEBA_HELD_OUT = 2000  # distinct Spanish sentences in val and in test each (each may carry several pairs)

Pair = tuple[str, str]


def _read_gz_lines(path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return f.read().splitlines()


def load_multi30k(data_dir: str | os.PathLike | None = None) -> dict[str, list[Pair]]:
    """Multi30k de-en: {"train": 29,000, "val": 1,014, "test": 1,000} (German, English) pairs."""
    splits = {}
    for split, stem in MULTI30K_FILES.items():
        de = _read_gz_lines(fetch("multi30k", f"{stem}.de.gz", data_dir))
        en = _read_gz_lines(fetch("multi30k", f"{stem}.en.gz", data_dir))
        if len(de) != len(en):  # the sha256 check makes this impossible unless the registry is wrong
            raise UserError(f"multi30k {stem}: {len(de)} German vs {len(en)} English lines; re-fetch the data")
        splits[split] = [(s.strip(), t.strip()) for s, t in zip(de, en)]
    return splits


def read_tatoeba_pairs(data_dir: str | os.PathLike | None = None) -> list[Pair]:
    """All 118,964 (Spanish, English) pairs of spa-eng.zip, in file order."""
    path = fetch("spa-eng", "spa-eng.zip", data_dir)
    with zipfile.ZipFile(path) as z:
        text = z.read("spa-eng/spa.txt").decode("utf-8")
    pairs = []
    for line in text.splitlines():
        english, spanish = line.split("\t")  # the manifest checked: exactly one TAB per line
        pairs.append((spanish.strip(), english.strip()))
    return pairs


def split_by_source(pairs: list[Pair], held_out: int, seed: int) -> dict[str, list[Pair]]:
    """Shuffle the *distinct* source sentences with `seed`; `held_out` go to test, as many to val.

    All pairs sharing a source sentence land in the same split, so no test (or val) source
    sentence ever appears in train. Within each split the file order is kept.
    """
    sources = sorted({s for s, _ in pairs})  # sorted first: set order must not leak into the split
    random.Random(seed).shuffle(sources)
    if len(sources) < 3 * held_out:
        raise ValueError(f"only {len(sources)} distinct sources; cannot hold out {held_out} twice")
    which = {s: "test" for s in sources[:held_out]}
    which.update({s: "val" for s in sources[held_out:2 * held_out]})
    splits: dict[str, list[Pair]] = {"train": [], "val": [], "test": []}
    for pair in pairs:
        splits[which.get(pair[0], "train")].append(pair)
    return splits


def load_tatoeba(data_dir: str | os.PathLike | None = None) -> dict[str, list[Pair]]:
    """Tatoeba es-en, split by distinct Spanish sentence with TATOEBA_SEED (about 114k/2.4k/2.4k pairs)."""
    return split_by_source(read_tatoeba_pairs(data_dir), TATOEBA_HELD_OUT, TATOEBA_SEED)


_READ: dict = {}  # pair -> (its files' paths, sizes and times, the splits read from them)


def _files(pair: str, data_dir) -> tuple:
    paths = ([fetch("multi30k", f"{stem}.{lang}.gz", data_dir) for stem in MULTI30K_FILES.values() for lang in ("de", "en")]
             if pair == "de-en" else [fetch("spa-eng", "spa-eng.zip", data_dir)])
    return tuple(file_state(p) for p in paths)


def load_pair(pair: str, data_dir: str | os.PathLike | None = None) -> dict[str, list[Pair]]:
    """The train/val/test splits of a language pair named like "de-en" or "es-en".

    Read once per process while its files stay the same (a lab, a workbook milestone or the studio trains
    and scores many times over one corpus: Tatoeba's 118,964 pairs take half a second to read and split);
    every call gets lists of its own, so a caller that changes its splits changes no one else's."""
    if pair not in PAIRS:
        raise UserError(f"unknown language pair {pair!r}; choose from {', '.join(PAIRS)}")
    files = _files(pair, data_dir)
    if pair not in _READ or _READ[pair][0] != files:
        _READ[pair] = (files, load_multi30k(data_dir) if pair == "de-en" else load_tatoeba(data_dir))
    return {split: list(pairs) for split, pairs in _READ[pair][1].items()}
