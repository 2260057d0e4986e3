"""Chapter 5: chapter 2's GPT written again in numpy alone, forward and backward by hand.

A GPT is, in essence, no different from chapter 1's digit network: matrices, a loss and the
chain rule. Read the modules in this order:

    layers.py     linear, layer norm, GELU, embedding, softmax cross-entropy: forward + backward
    attention.py  masked multi-head self-attention: forward + backward (+ a KV cache)
    model.py      the GPT: blocks with residual connections, the tied head, the full backward
    optim.py      AdamW, the cosine schedule with warmup, gradient clipping
    train.py      the training loop (same run directory and checkpoints as the torch engine)
    sample.py     sampling with temperature, top-k, top-p and a KV cache
    cli_entry.py  `nn2gpt gpt train|sample --engine numpy`

Nothing here imports torch.
"""
