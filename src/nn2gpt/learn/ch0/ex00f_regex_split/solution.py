"""GPT-2's pre-split: the text cut into chunks that merges stay inside."""

import regex

GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def split(text):
    """text str -> its chunks, list[str], which join back to the text."""
    return regex.findall(GPT2_PATTERN, text)
