"""Chapter 3's exercises, in PyTorch: the pieces the translation Transformer adds to GPT.

The padding mask, cross-attention, the label-smoothed loss and greedy decoding, each checked
against an independent reference (torch's own scaled_dot_product_attention and
cross_entropy(label_smoothing=...), chapter 3's conventions) with the learner's weights copied in.
"""
