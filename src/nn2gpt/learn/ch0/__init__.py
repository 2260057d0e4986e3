"""Chapter 0's exercises: byte-level BPE from scratch, the pieces of nn2gpt.tokens by hand.

Pair counts, one merge, the training loop, encode, decode, GPT-2's pre-split and its byte
table: each is checked against chapter 0's own code (nn2gpt.tokens) on Tiny Shakespeare, and
`nn2gpt learn run tokens` then trains a BPE with the learner's pieces and a GPT on its tokens.
The files are 00a ... 00g: chapter 0 comes before exercise 01 (nn2gpt.learn.exercise).

The stubs of the training loop and of encode import `count_pairs` and `merge` from here: the
chapter's own (exercises 00a and 00b), so that each exercise can be written on its own; the
milestone hands them the learner's where those pass.
"""

from nn2gpt.learn.exercise import Exercise
from nn2gpt.tokens.pairs import count_pairs, merge  # noqa: F401 - what the stubs of 00c and 00d import

C = "nn2gpt.learn.ch0.checks:"
G = "nn2gpt.learn.ch0.gpt2_checks:"

# Each known mistake's own hints: (words of the check's message, hints). `learn hint` shows them
# first after a check that named the mistake (nn2gpt.learn.hints), then the exercise's ladder.
PAIR_MISTAKES = (
    (("only every other place is counted",), (
        "Stepping by two (range(0, len(ids) - 1, 2)) counts the pairs that start at even places only; a pair "
        "starts at EVERY place, so step by one: zip(ids, ids[1:]) gives each of them once.",)),
    (("the last pair (ids[-2], ids[-1]) is missing",), (
        "The last pair starts at len(ids) - 2: range(len(ids) - 1) reaches it, range(len(ids) - 2) does not. "
        "zip(ids, ids[1:]) stops at the right place by itself.",)),
    (("the ids are a line, not a circle",), (
        "ids[i + 1] with i = len(ids) - 1 is out of range, and ids[(i + 1) % len(ids)] wraps to the first "
        "token: stop one place before the end.",)),
)
MERGE_MISTAKES = (
    (("a merge that overlaps itself",), (
        "When the pair matches at i, ids[i] and ids[i + 1] are both used up: append new_id and jump to i + 2. "
        "Stepping by one lets ids[i + 1] start a second pair with the token after it.",)),
    (("the last token is lost",), (
        "`while i < len(ids) - 1` stops before the last token. Loop while i < len(ids), and test "
        "i + 1 < len(ids) before looking at the pair; a last token that is not merged is appended as it is.",)),
)
TRAIN_MISTAKES = (
    (("ties broken another way",), (
        "max(counts, key=counts.get) keeps whichever of the equal pairs it met first, which depends on the "
        "text's order; the rule is the smallest pair: min(counts, key=lambda p: (-counts[p], p[0], p[1])).",)),
    (("each chunk's pairs are counted once",), (
        "The chunks come with their counts ({b' the': 1234, ...}): a chunk found 1234 times adds 1234 to each "
        "of its pairs. Pass its count as the weight: count_pairs(ids, counts, weight).",)),
    (("an off-by-one",), (
        "The bytes are ids 0 to 255, so the first merge makes 256: new_id = 256 + i with i counted from 0 "
        "(enumerate, or len(merges) before appending).",)),
)
ENCODE_MISTAKES = (
    (("as training does",), (
        "Training picks the most frequent pair; encoding replays what training learnt, in the order it learnt "
        "it: among the pairs present, the one with the lowest rank (merges.index, or a dict pair -> 256 + i).",)),
    (("learnt LAST first",), (
        "The rank of merges[i] is i: the LOWER, the earlier it was learnt, and the earlier it must be applied "
        "(later merges are built from earlier ones). Take min over the pairs of ranks.get(pair, inf).",)),
    (("code points",), (
        "ord(c) of 'é' is 233, one number, but byte-level BPE sees its UTF-8 bytes, 195 169: start from "
        "list(text.encode('utf-8')).",)),
)

EXERCISES = [
    Exercise(0, "pair_counts", 0, "write count_pairs(ids, counts, weight): how often each neighbouring pair occurs",
             ("count_pairs",), (
        "The neighbouring pairs of ids are (ids[0], ids[1]), (ids[1], ids[2]), ...: len(ids) - 1 of them, "
        "one starting at every place but the last.",
        "Every place counts, overlapping ones too: in [a, a, a] the pair (a, a) starts at 0 and at 1, so "
        "its count is 2. Each occurrence adds `weight`, not 1.",
        "counts = {} if counts is None else counts; for pair in zip(ids, ids[1:]): "
        "counts[pair] = counts.get(pair, 0) + weight; return counts.",
    ), C + "check_pair_counts", letter="a", mistake_hints=PAIR_MISTAKES),
    Exercise(0, "merge", 0, "write merge(ids, pair, new_id): every occurrence of pair replaced, left to right",
             ("merge",), (
        "Build a new list; never change `ids` itself. Walk an index i from the left.",
        "Where ids[i], ids[i + 1] is the pair, append new_id and move on by TWO: both tokens are used up. "
        "Otherwise append ids[i] and move on by one.",
        "while i < len(ids): if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair: out.append(new_id); "
        "i += 2  else: out.append(ids[i]); i += 1. [a, a, a] with (a, a) gives [new_id, a].",
    ), C + "check_merge", letter="b", mistake_hints=MERGE_MISTAKES),
    Exercise(0, "train_bpe", 0, "write train(chunks, n_merges): count, merge the most frequent pair, repeat",
             ("train",), (
        "Start from each chunk's bytes, [list(chunk) for chunk in chunks], and keep the chunks' counts "
        "beside them: a chunk that occurs 5 times counts each of its pairs 5 times.",
        "Each round: count every pair of every chunk into one dict (count_pairs(ids, counts, weight)); "
        "stop if it is empty; the best pair is the smallest key (-count, a, b): the highest count, "
        "then the smallest ids.",
        "best = min(counts, key=lambda p: (-counts[p], p[0], p[1])); new_id = 256 + i; "
        "ids = [merge(chunk, best, new_id) for chunk in ids]; merges.append(best). Return merges.",
    ), C + "check_train", ((("empty sequence", "empty iterable"),
                            "no pair is left: once every chunk is a single token the counts are empty; "
                            "stop there (if not counts: break)"),), letter="c", mistake_hints=TRAIN_MISTAKES),
    Exercise(0, "encode", 0, "write encode(text, merges): UTF-8 bytes, then the merges by rank", ("encode",), (
        "Start from list(text.encode('utf-8')): bytes, not characters. merges[i] makes id 256 + i, and "
        "its rank is i: the lower, the earlier it was learnt.",
        "Repeat: among the neighbouring pairs of ids, take the one with the LOWEST rank (not the most "
        "frequent one: that is training's rule); if none of them is a merge, stop; else merge it everywhere.",
        "ranks = {pair: 256 + i for i, pair in enumerate(merges)}; pair = min(count_pairs(ids), "
        "key=lambda p: ranks.get(p, float('inf'))); if pair not in ranks: break; "
        "ids = merge(ids, pair, ranks[pair]).",
    ), C + "check_encode", letter="d", mistake_hints=ENCODE_MISTAKES),
    Exercise(0, "decode", 0, "write decode_bytes(ids, merges) (the exact bytes) and decode(ids, merges) (text)",
             ("decode", "decode_bytes"), (
        "Every id stands for some bytes: ids 0..255 for one byte each, id 256 + i for the bytes of merge "
        "i's left token followed by its right token's.",
        "Build the table once, in merge order: vocab = {i: bytes([i]) for i in range(256)}, then "
        "vocab[256 + i] = vocab[a] + vocab[b]. decode_bytes joins vocab[i] for every id.",
        "decode is decode_bytes(ids, merges).decode('utf-8', errors='replace'): decode the JOINED bytes "
        "(a character can be split between two tokens), and let a cut one become U+FFFD.",
    ), C + "check_decode", ((("codec can't decode",),
                             "ids cut inside a character are not valid UTF-8: decode with errors='replace', "
                             "which writes U+FFFD for the cut bytes"),), letter="e"),
    Exercise(0, "regex_split", 0, "write split(text): the chunks of GPT-2's pre-split regular expression",
             ("split",), (
        "Use the `regex` module (import regex): Python's own re has no \\p{L} (any letter) or \\p{N} "
        "(any number). regex.findall(pattern, text) returns the chunks.",
        "The alternatives, in this order: the contractions 's 't 're 've 'm 'll 'd; letters with an "
        "optional space before them; numbers, the same; other symbols, the same; whitespace that is "
        "not followed by a non-space; any other whitespace.",
        "r\"\"\"'(?:[sdmt]|ll|ve|re)| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+\"\"\"",
    ), G + "check_split", ((("bad escape \\p",),
                                "Python's re has no \\p{L}: import regex (the module tiktoken uses) and call "
                                "regex.findall"),), letter="f"),
    Exercise(0, "byte_table", 0, "write byte_to_unicode(): GPT-2's printable character for each of the 256 bytes",
             ("byte_to_unicode",), (
        "188 bytes are printable characters already and stand for themselves: '!' (33) to '~' (126), "
        "'\u00a1' (161) to '\u00ac' (172), '\u00ae' (174) to '\u00ff' (255). Mind that range's ends.",
        "The other 68 (0-32, 127-160, 173) take new characters from U+0100 on, in byte order: the first "
        "moved byte gets chr(256), the next chr(257), ... counted over the moved bytes only.",
        "moved = 0; for b in range(256): if b is printable: table[b] = chr(b) else: table[b] = "
        "chr(256 + moved); moved += 1. The space (32) becomes '\u0120'.",
    ), G + "check_byte_table", letter="g"),
]
