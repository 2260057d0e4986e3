"""Chapter 2's exercises, in PyTorch: from the bigram's loss to a Transformer block and sampling.

The names and structure are the lecture's ("Let's build GPT": Head, MultiHeadAttention,
FeedForward, Block), and each is checked against chapter 2's own pieces (nn2gpt.gpt.model's
written-out `attention`, nn2gpt.nn.positional) with the learner's weights copied in. The stubs
of later exercises import the earlier pieces from here: the references, i.e. the exercises'
solutions, loaded on first use (torch is imported only then) - or, while a milestone loads a
learner's file, the learner's own where they pass (nn2gpt.learn.loading.load_file's `given`).
"""

import functools

_SOLVED = {"Head": "head", "MultiHeadAttention": "multi_head", "FeedForward": "feed_forward", "Block": "block"}


@functools.cache
def _solution(name: str):
    from nn2gpt.learn.loading import load_file, pick
    from nn2gpt.learn.registry import find

    ex = find(_SOLVED[name])
    return pick(load_file(ex.solution, f"nn2gpt_learn_solution_{ex.name}"), name)


def __getattr__(name):
    """Head, MultiHeadAttention, FeedForward, Block: the ones given to the file being loaded, else the
    reference versions (the solutions). Never kept in this module's namespace, so each load asks."""
    from nn2gpt.learn.loading import earlier_piece

    return earlier_piece("ch2", name, {cls: functools.partial(_solution, cls) for cls in _SOLVED})
