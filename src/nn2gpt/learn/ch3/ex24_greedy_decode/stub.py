"""Exercise 24 (chapter 3): greedy decoding.

The decoder writes the translation one token at a time. Greedy decoding always takes the most
likely next token:

    out = [bos_id]
    repeat: logits = next_logits(out)        (V,) the scores of the token after `out`
            token = index of the largest logit
            stop if token == eos_id; else append it
    until max_len tokens have been written

Return the tokens written, WITHOUT the leading bos_id and without the eos_id. `next_logits`
takes the list of ids so far (starting with bos_id) and returns a 1-D tensor of V logits;
it is the model (the encoder has already read the source). Greedy is beam search with a beam
of one: fast, and usually a little worse.
"""

import torch


def greedy_decode(next_logits, bos_id, eos_id, max_len):
    """-> the list of token ids written (no bos, no eos), at most max_len of them."""
    raise NotImplementedError("write greedy_decode(next_logits, bos_id, eos_id, max_len)")
