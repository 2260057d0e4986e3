"""Chapter 3's exercises, in PyTorch: the pieces the translation Transformer adds to GPT.

The padding mask, cross-attention, the label-smoothed loss and greedy decoding, each checked
against an independent reference (torch's own scaled_dot_product_attention and
cross_entropy(label_smoothing=...), chapter 3's conventions) with the learner's weights copied in.
"""

from nn2gpt.learn.exercise import Exercise

C = "nn2gpt.learn.ch3.checks:"
SHAPES = (("Expected size", "mat1 and mat2", "must match the size", "shape", "view size"),
          "a shape mismatch: heads are t.view(B, T, nh, hs).transpose(1, 2); the keys come from memory (B, S, C)")

EXERCISES = [
    Exercise(21, "padding_mask", 3, "write padding_mask(src, pad_id) and masked_scores(scores, keep)",
             ("padding_mask", "masked_scores"), (
        "padding_mask is one comparison: src != pad_id gives the (B, S) booleans.",
        "The keys are the LAST axis of the scores (B, nh, Tq, S): keep[:, None, None, :] broadcasts over heads "
        "and queries.",
        "return scores.masked_fill(~keep[:, None, None, :], float('-inf'))",
    ), C + "check_padding", ((("must match the size",), "a shape mismatch: keep (B, S) must broadcast over the "
                                                         "scores (B, nh, Tq, S); a key is a column (the last axis), "
                                                         "keep[:, None, None, :]"),)),
    Exercise(22, "cross_attention", 3, "write class CrossAttention: target queries, source keys and values",
             ("CrossAttention",), (
        "Four nn.Linear(d_model, d_model): query, key, value, proj. The query map reads x, the key and value maps "
        "read memory.",
        "Split heads: t.view(B, L, nh, hs).transpose(1, 2); scores q @ k.transpose(-2, -1) / sqrt(hs) are "
        "(B, nh, T, S).",
        "Mask the padding keys (exercise 21), softmax over the last axis, @ v, merge heads with "
        "y.transpose(1, 2).reshape(B, T, C), then self.proj. No causal mask.",
    ), C + "check_cross", (SHAPES,)),
    Exercise(23, "label_smoothing", 3, "write label_smoothed_loss(logits, targets, eps, pad_id)",
             ("label_smoothed_loss",), (
        "logp = F.log_softmax(logits, dim=-1); the right token's -logp is the plain loss, "
        "-logp.gather(-1, targets[..., None]).",
        "The smoothed part is eps times the mean of -logp over the vocabulary: (1 - eps) * nll + eps * "
        "(-logp.mean(-1)).",
        "Average only where targets != pad_id: loss[targets != pad_id].mean().",
    ), C + "check_smoothing"),
    Exercise(24, "greedy_decode", 3, "write greedy_decode(next_logits, bos_id, eos_id, max_len)",
             ("greedy_decode",), (
        "Keep a list out = [bos_id] and loop at most max_len times.",
        "Each step: token = int(torch.argmax(next_logits(out))); stop before appending if it is eos_id.",
        "Return out[1:]: the written tokens without the bos_id you started with.",
    ), C + "check_greedy"),
]
