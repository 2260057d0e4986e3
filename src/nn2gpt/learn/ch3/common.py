"""What chapter 3's exercises share; each one's check and trace example are its folder's check.py.

Chapter 3's checks: padding, cross-attention, label smoothing, greedy decoding.

References: torch's own F.scaled_dot_product_attention (with a boolean key mask) for
cross-attention, F.cross_entropy(label_smoothing=eps, ignore_index=pad) for the loss (as chapter
3's training calls it), and a scripted "model" with known logits for greedy decoding.

Chapter 3's examples for `nn2gpt learn trace`: short German-English pairs of Multi30k.

The first two test pairs ("Ein Mann mit einem orangefarbenen Hut, der etwas anstarrt." - "A man in
an orange hat starring at something.", and the next) are split into words, numbered in one small
vocabulary (<pad> 0, <bos> 1, <eos> 2, then the words) and padded into src (2, S) and tgt (2, T):
two sentences, so that the padding is real. The embeddings (d_model 32, 4 heads) and the scores are
seeded; greedy decoding is handed a "model" whose logits point at the English sentence's next word,
so a right search writes the sentence out. Each exercise's example() returns (what the example is, a
function of the learner's module that runs it).
"""

from __future__ import annotations

import torch

from nn2gpt.learn.example_data import padded, pairs, words


def random_batch(seed: int, B: int, S: int, V: int = 20, pad: int = 0):
    """src (B, S) with rows of different lengths padded by `pad`, and their lengths."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, S + 1, (B,), generator=g)
    lengths[0] = S                                                       # one row without padding
    src = torch.randint(1, V, (B, S), generator=g)
    src[torch.arange(S)[None, :] >= lengths[:, None]] = pad
    return src, lengths


N, D_MODEL, N_HEAD, PAD, BOS, EOS = 2, 32, 4, 0, 1, 2


def batch():
    """src (2, S), tgt (2, T) long, padded; the vocabulary; the first pair."""
    chosen, vocab = pairs(N)
    ids = {w: i for i, w in enumerate(vocab)}
    src = padded([[ids[w] for w in words(de)] for de, _ in chosen], PAD)
    tgt = padded([[ids[w] for w in words(en)] + [EOS] for _, en in chosen], PAD)
    return torch.from_numpy(src), torch.from_numpy(tgt), vocab, chosen[0]
