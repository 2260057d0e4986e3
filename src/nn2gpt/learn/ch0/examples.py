"""Chapter 0's examples for `nn2gpt learn trace`: a line of Tiny Shakespeare through the BPE pieces.

Each builder returns (what the example is, a function of the learner's module that runs it). The
line is the play's second, "Before we proceed any further, hear me speak."; the merges that
encode and decode use are the 80 the chapter's trainer learns from the start of the play (the
checks' own, nn2gpt.learn.ch0.checks.trained_merges).
"""

from __future__ import annotations

from nn2gpt.learn.checking import need
from nn2gpt.learn.example_data import line
from nn2gpt.tokens.pairs import GPT2_SPLIT, chunk_counts, count_pairs

LINE = 1            # "Before we proceed any further, hear me speak."


def _ids() -> list[int]:
    return list(line(LINE).encode("utf-8"))


def _merges() -> list:
    from nn2gpt.learn.ch0.checks import trained_merges

    return [tuple(m) for m in trained_merges()]


def pair_counts():
    ids = _ids()
    return (f"count_pairs(ids) for the {len(ids)} bytes of Tiny Shakespeare's line {line(LINE)!r}",
            lambda m: need(m, "count_pairs", "count_pairs(ids, counts=None, weight=1)")(list(ids)))


def merge_one():
    ids = _ids()
    counts = count_pairs(ids)
    pair = min(counts, key=lambda p: (-counts[p], p))              # the line's most frequent pair
    return (f"merge(ids, {pair}, 256): the most frequent pair of the bytes of {line(LINE)!r}",
            lambda m: need(m, "merge", "merge(ids, pair, new_id)")(list(ids), pair, 256))


def train_bpe():
    text = "\n".join(line(k) for k in range(5))
    chunks = dict(chunk_counts(text, GPT2_SPLIT))
    return (f"train(chunks, 8): the {len(chunks)} chunks of Tiny Shakespeare's first 5 lines, 8 merges",
            lambda m: need(m, "train", "train(chunks, n_merges)")(dict(chunks), 8))


def encode():
    merges = _merges()
    return (f"encode({line(LINE)!r}, merges): 80 merges learnt from the start of the play",
            lambda m: need(m, "encode", "encode(text, merges)")(line(LINE), list(merges)))


def decode():
    from nn2gpt.tokens.bpe import Tokenizer

    merges = _merges()
    ids = Tokenizer(merges, GPT2_SPLIT).encode(line(LINE))

    def call(module):
        need(module, "decode_bytes", "decode_bytes(ids, merges)")(list(ids), list(merges))
        need(module, "decode", "decode(ids, merges)")(list(ids), list(merges))
    return f"decode_bytes(ids, merges), decode(ids, merges): the {len(ids)} ids of {line(LINE)!r}", call


def regex_split():
    return (f"split({line(LINE)!r})", lambda m: need(m, "split", "split(text)")(line(LINE)))


def byte_table():
    return "byte_to_unicode(): the table of all 256 bytes", lambda m: need(m, "byte_to_unicode",
                                                                            "byte_to_unicode()")()


EXAMPLES = {"pair_counts": pair_counts, "merge": merge_one, "train_bpe": train_bpe, "encode": encode,
            "decode": decode, "regex_split": regex_split, "byte_table": byte_table}
