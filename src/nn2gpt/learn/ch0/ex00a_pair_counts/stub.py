"""Exercise 00a (chapter 0, tokens): count the neighbouring pairs of a list of ids.

A text is numbers before it is anything else: UTF-8 writes each character as 1 to 4 bytes,

    list("hi é".encode("utf-8"))  ->  [104, 105, 32, 195, 169]       ("é" is the two bytes C3 A9)

so the 256 byte values are the first 256 token ids, and every text has an encoding. Byte-pair
encoding (BPE) learns longer tokens by looking at which two tokens stand next to each other
most often. That starts here: count every neighbouring pair.

    ids  = [a, b, c, a, b]                    list[int]
    pairs: (a, b), (b, c), (c, a), (a, b)     len(ids) - 1 of them, one starting at each place
    ->     {(a, b): 2, (b, c): 1, (c, a): 1}  dict[tuple[int, int], int]

Every place counts, overlapping ones too: in [a, a, a] the pair (a, a) starts at 0 and at 1,
so its count is 2. (It is merging, exercise 00b, that uses a token up.)

The training loop (00c) adds the pairs of many chunks into ONE dict, and a chunk that occurs
w times in the text counts each of its pairs w times: so `counts`, when given, is added into
(and returned), and each occurrence adds `weight`. Leave `ids` as it is.
"""


def count_pairs(ids, counts=None, weight=1):
    """ids list[int] -> {(a, b): how often b follows a}, added into `counts` (weight each time) if given."""
    raise NotImplementedError("write count_pairs(ids, counts=None, weight=1)")
