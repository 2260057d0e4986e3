"""Exercise 23 (chapter 3): the label-smoothed loss of "Attention Is All You Need".

The plain loss asks the model to put probability 1 on the right token. Label smoothing asks for
a little less: the target distribution q puts 1 - eps on the right token and spreads eps evenly
over the whole vocabulary (the right token included, as torch does it):

    q[v] = (1 - eps) * [v == target] + eps / V
    loss at one position = -sum over v of q[v] * log p[v]      p = softmax(logits)
                         = (1 - eps) * (-log p[target]) + eps * mean over v of (-log p[v])

and the loss is the mean over the positions whose target is not <pad> (padding is no word to
predict). logits (B, T, V), targets (B, T); use F.log_softmax for log p (stable). It costs
perplexity and buys BLEU: the model stays less sure of itself, and beam search does better.
"""

import torch
import torch.nn.functional as F


def label_smoothed_loss(logits, targets, eps, pad_id):
    """logits (B, T, V), targets (B, T) long -> the mean label-smoothed loss over non-pad targets."""
    raise NotImplementedError("write label_smoothed_loss(logits, targets, eps, pad_id)")
