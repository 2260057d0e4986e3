"""Exercise 00b (chapter 0, tokens): one merge - replace a pair by a new token, left to right.

Once a pair is chosen, say (a, b), it becomes a new token z (the next free id: 256, 257, ...),
and every occurrence of a followed by b in the ids is replaced by z:

    merge([a, b, c, a, b], (a, b), z)  ->  [z, c, z]

Scan from the left. Where ids[i], ids[i + 1] is the pair, write z and move on by TWO: both
tokens are used up. Otherwise copy ids[i] and move on by one. So occurrences that overlap are
merged from the left, one at a time:

    merge([a, a, a], (a, a), z)     ->  [z, a]      (the middle a joins the first pair only)
    merge([a, a, a, a], (a, a), z)  ->  [z, z]

Types: ids list[int], pair tuple (a, b), new_id int -> a NEW list[int]. Do not change `ids`:
the caller (training, encoding) still holds it.
"""


def merge(ids, pair, new_id):
    """ids list[int], pair (a, b), new_id int -> a new list[int]; `ids` is left as it was."""
    raise NotImplementedError("write merge(ids, pair, new_id)")
