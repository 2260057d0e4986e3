"""Chapter 2: from a bigram model to GPT, in PyTorch (this package file imports nothing heavy)."""

# The road, in order: each model adds one idea to the one before (see model.py).
MODELS = ("bigram", "attention", "multihead", "gpt")
