"""Building blocks shared by the GPT (ch. 2), the translator (ch. 3) and the attention lab (ch. 4).

    nn2gpt.nn.attention   attention(), fast_attention(), MultiHeadAttention, KVCache
    nn2gpt.nn.scores      the score functions (scaled_dot, dot, squared, inverse, neg_dot,
                          cosine, additive, neg_l2) and the `Score` module holding their parameters
    nn2gpt.nn.masks       boolean masks, True = may attend: causal, anticausal, none, window,
                          key padding, and how they combine
    nn2gpt.nn.positional  sinusoidal_encoding, LearnedPositions, Rotary (RoPE), ALiBi

Nothing is imported here, so `import nn2gpt.nn` stays free of torch until a module is used.
"""
