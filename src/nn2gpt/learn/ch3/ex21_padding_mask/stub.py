"""Exercise 21 (chapter 3): the padding mask.

Sentences differ in length, so a batch pads them to one length S with a <pad> token id:

    src (B, S) token ids        e.g. [[5, 9, 2, 0, 0], [7, 3, 8, 6, 2]] with pad_id 0

No query may attend to a padding key: it carries no meaning, and the result would change with
how much a sentence happened to be padded. Two functions:

    padding_mask(src, pad_id)   -> keep (B, S) bool, True on the real tokens, False on <pad>
    masked_scores(scores, keep) -> the scores (B, nh, Tq, S) with every padding KEY set to -inf

A key is a column of the scores (the last axis): view keep as (B, 1, 1, S) so it broadcasts
over the heads and the queries, and fill with float("-inf") - after the softmax exp(-inf) = 0,
exactly no weight. (Filling with 0 is not "never": exp(0) = 1 is as much as any other score.)
"""

import torch


def padding_mask(src, pad_id):
    """src (B, S) long -> (B, S) bool, True where the token is real (not pad_id)."""
    raise NotImplementedError("write padding_mask(src, pad_id)")


def masked_scores(scores, keep):
    """scores (B, nh, Tq, S), keep (B, S) bool -> scores with the padding keys at -inf."""
    raise NotImplementedError("write masked_scores(scores, keep)")
