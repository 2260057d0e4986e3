"""Chapter 2's exercises, in PyTorch: from the bigram's loss to a Transformer block and sampling.

The names and structure are the lecture's ("Let's build GPT": Head, MultiHeadAttention,
FeedForward, Block), and each is checked against chapter 2's own pieces (nn2gpt.gpt.model's
written-out `attention`, nn2gpt.nn.positional) with the learner's weights copied in. The stubs
of later exercises import the earlier pieces from here: the references, i.e. the exercises'
solutions, loaded on first use (torch is imported only then).
"""

_SOLVED = {"Head": "head", "MultiHeadAttention": "multi_head", "FeedForward": "feed_forward", "Block": "block"}


def __getattr__(name):
    """Head, MultiHeadAttention, FeedForward, Block: the reference versions (the solutions)."""
    if name not in _SOLVED:
        raise AttributeError(f"module 'nn2gpt.learn.ch2' has no attribute {name!r}")
    from nn2gpt.learn.loading import load_file, pick
    from nn2gpt.learn.registry import find

    ex = find(_SOLVED[name])
    value = pick(load_file(ex.solution, f"nn2gpt_learn_solution_{ex.name}"), name)
    globals()[name] = value
    return value
