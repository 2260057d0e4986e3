"""nn2gpt: the road from a neural network to GPT.

Chapters, each a subpackage:
    data       datasets declared once: URLs, sha256, cache, loaders
    digits     ch.1  Nielsen's MNIST network, numpy only
    nn         ch.2  shared building blocks (attention, positional encodings)
    gpt        ch.2  bigram -> self-attention -> GPT on Tiny Shakespeare
    translate  ch.3  the encoder-decoder Transformer
    lab        ch.4  experiments on attention
    numpy_gpt  ch.5  GPT in numpy with hand-written backprop
"""

__version__ = "0.1.0"
