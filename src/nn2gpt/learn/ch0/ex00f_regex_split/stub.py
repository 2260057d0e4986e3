r"""Exercise 00f (chapter 0, tokens): GPT-2's pre-split, a regular expression.

Trained on the raw text, BPE merges across word boundaries: "e t" of "the tree" becomes a
token, and "dog." "dog!" "dog?" become three tokens that each spend room on punctuation.
GPT-2 first cuts the text into chunks, and merges only inside a chunk. The chunks are what
regex.findall(pattern, text) finds, with these alternatives, tried in this order:

    '(?:[sdmt]|ll|ve|re)      a contraction: 's 't 'm 'd 'll 've 're        ("don't" -> "don", "'t")
     ?\p{L}+                  letters, with one optional space before them  (" the")
     ?\p{N}+                  digits, the same                              (" 1234")
     ?[^\s\p{L}\p{N}]+        other symbols, the same                       (" ...?!")
    \s+(?!\S)                 whitespace not followed by a non-space: "   hello" is "  ", " hello"
    \s+                       any other whitespace                           (the last run)

\p{L} is any letter in any script (é, 東), \p{N} any number: Python's own `re` does not know
them, the `regex` module does (tiktoken uses it too). The pattern is case-sensitive, as GPT-2's
is ("DON'T" keeps "'", "T" apart). The chunks always join back to the text.

    split("Hello world!!  I'll") -> ["Hello", " world", "!!", " ", " I", "'ll"]

Types: text str -> list[str].
"""

import regex


def split(text):
    """text str -> its chunks, list[str], which join back to the text."""
    raise NotImplementedError("write split(text)")
