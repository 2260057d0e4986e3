"""Chapter 0's exercises: byte-level BPE from scratch, the pieces of nn2gpt.tokens by hand.

Pair counts, one merge, the training loop, encode, decode, GPT-2's pre-split and its byte
table: each is checked against chapter 0's own code (nn2gpt.tokens) on Tiny Shakespeare, and
`nn2gpt learn run tokens` then trains a BPE with the learner's pieces and a GPT on its tokens.
The files are 00a ... 00g: chapter 0 comes before exercise 01 (nn2gpt.learn.registry).

The stubs of the training loop and of encode import `count_pairs` and `merge` from here: the
chapter's own (exercises 00a and 00b), so that each exercise can be written on its own; the
milestone hands them the learner's where those pass (nn2gpt.learn.loading.load_file's `given`).
"""


def __getattr__(name):
    """count_pairs, merge (what the stubs of 00c and 00d import): the ones given to the file being
    loaded, else the chapter's own."""
    from nn2gpt.learn.loading import earlier_piece
    from nn2gpt.tokens import pairs

    return earlier_piece("ch0", name, {"count_pairs": lambda: pairs.count_pairs, "merge": lambda: pairs.merge})
