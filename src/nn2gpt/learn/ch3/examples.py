"""Chapter 3's examples for `nn2gpt learn trace`: short German-English pairs of Multi30k.

The first two test pairs ("Ein Mann mit einem orangefarbenen Hut, der etwas anstarrt." - "A man
in an orange hat starring at something.", and the next) are split into words, numbered in one
small vocabulary (<pad> 0, <bos> 1, <eos> 2, then the words) and padded into src (2, S) and
tgt (2, T): two sentences, so that the padding is real. The embeddings (d_model 32, 4 heads) and
the scores are seeded; greedy decoding is handed a "model" whose logits point at the English
sentence's next word, so a right search writes the sentence out. Each builder returns (what the
example is, a function of the learner's module that runs it).
"""

from __future__ import annotations

import torch

from nn2gpt.learn.checking import need
from nn2gpt.learn.example_data import padded, pairs, words

N, D_MODEL, N_HEAD, PAD, BOS, EOS = 2, 32, 4, 0, 1, 2


def batch():
    """src (2, S), tgt (2, T) long, padded; the vocabulary; the first pair."""
    chosen, vocab = pairs(N)
    ids = {w: i for i, w in enumerate(vocab)}
    src = padded([[ids[w] for w in words(de)] for de, _ in chosen], PAD)
    tgt = padded([[ids[w] for w in words(en)] + [EOS] for _, en in chosen], PAD)
    return torch.from_numpy(src), torch.from_numpy(tgt), vocab, chosen[0]


def _embedded(src, tgt, V):
    table = torch.randn(V, D_MODEL, generator=torch.Generator().manual_seed(0))
    return table[tgt], table[src]                    # x (2, T, C) the target's, memory (2, S, C) the source's


def padding_mask():
    src, tgt, _, _ = batch()
    scores = torch.randn(N, N_HEAD, tgt.shape[1], src.shape[1], generator=torch.Generator().manual_seed(1))

    def call(module):
        keep = need(module, "padding_mask", "padding_mask(src, pad_id)")(src.clone(), PAD)
        need(module, "masked_scores", "masked_scores(scores, keep)")(scores.clone(), keep)
    return (f"padding_mask(src {tuple(src.shape)}, 0), masked_scores(scores {tuple(scores.shape)}, keep): "
            f"Multi30k's first 2 German test sentences, padded"), call


def cross_attention():
    src, tgt, vocab, _ = batch()
    x, memory = _embedded(src, tgt, len(vocab))
    keep = src != PAD

    def call(module):
        cls = need(module, "CrossAttention", "class CrossAttention(nn.Module)")
        torch.manual_seed(0)
        cls(D_MODEL, N_HEAD)(x.clone(), memory.clone(), keep.clone())
    return (f"CrossAttention({D_MODEL}, {N_HEAD})(x {tuple(x.shape)}, memory {tuple(memory.shape)}, keep): "
            f"Multi30k's first 2 test pairs, English x, German memory"), call


def label_smoothing():
    src, tgt, vocab, _ = batch()
    logits = torch.randn(N, tgt.shape[1], len(vocab), generator=torch.Generator().manual_seed(2))

    def call(module):
        need(module, "label_smoothed_loss", "label_smoothed_loss(logits, targets, eps, pad_id)")(
            logits.clone(), tgt.clone(), 0.1, PAD)
    return (f"label_smoothed_loss(logits {tuple(logits.shape)}, targets {tuple(tgt.shape)}, 0.1, 0): "
            f"Multi30k's first 2 English test sentences, padded"), call


class Speller:
    """A 'model' whose next logits point at the English sentence's next word, then <eos>."""

    def __init__(self, script: list[int], V: int):
        self.script, self.V = script, V

    def __call__(self, prefix):
        logits = torch.randn(self.V, generator=torch.Generator().manual_seed(len(prefix)))
        step = len(prefix) - 1
        logits[self.script[step] if step < len(self.script) else EOS] = 10.0
        return logits


def greedy_decode():
    _, _, vocab, (_, english) = batch()
    ids = {w: i for i, w in enumerate(vocab)}
    model = Speller([ids[w] for w in words(english)], len(vocab))
    return (f"greedy_decode(next_logits, 1, 2, 20): a model that spells {english!r}",
            lambda m: need(m, "greedy_decode", "greedy_decode(next_logits, bos_id, eos_id, max_len)")(
                model, BOS, EOS, 20))


EXAMPLES = {"padding_mask": padding_mask, "cross_attention": cross_attention, "label_smoothing": label_smoothing,
            "greedy_decode": greedy_decode}
