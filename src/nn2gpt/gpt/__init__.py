"""Chapter 2: from a bigram model to GPT, in PyTorch (this package file imports nothing heavy)."""

# The road, in order: each model adds one idea to the one before (see model.py). Its names are
# declared with the run kinds, which tell a GPT's checkpoint from a translation's by them.
from nn2gpt.runkinds import GPT_MODELS as MODELS


def rope_head_problem(pos: str, n_embd: int, n_head: int) -> str | None:
    """What is wrong with rotary positions at this head size, or None: RoPE rotates q and k in
    pairs of dimensions, so a head's size n_embd / n_head must be even (both engines ask here)."""
    if pos == "rope" and (n_embd // n_head) % 2:
        return (f"rope needs an even head size, got n_embd/n_head = {n_embd // n_head}; "
                f"choose --n-embd and --n-head so that it is even")
    return None
