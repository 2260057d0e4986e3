"""GPT-2's tokenizer in this chapter's code: OpenAI's two published files, read into `Tokenizer`.

`vocab.bpe` is GPT-2's merge list: after a "#version" line, one merge a line, "LEFT RIGHT",
in the order they were learnt, so line i (from 0) is the merge of rank i. `encoder.json` maps
each of the 50,257 tokens to its id: the 256 bytes take ids 0..255, merge i makes id 256 + i,
and "<|endoftext|>" is 50256. Both are found like every dataset (`nn2gpt.data.fetch`: --data-dir,
$NN2GPT_DATA, the cache, else downloaded) and sha256-checked before they are read.

The files write tokens as text, not bytes, through a table from the 256 byte values to 256
printable characters (`byte_to_unicode`): a byte that is itself a visible character, "!" to
"~", "¡" to "¬", "®" to "ÿ" (188 of them), stands for itself, and the other 68 (the control
bytes, the space, DEL, the non-breaking space, the soft hyphen...) take the characters from
U+0100 on, in byte order. So the space is "Ġ" (U+0120, the 33rd of those), the newline "Ċ",
and the token " the" is written "Ġthe". Tokens of the merge list stay readable, with no
whitespace inside one to confuse "LEFT RIGHT".

That table only spells the files; underneath, GPT-2 is a byte-level BPE like ours, with its
byte ids in another order (`byte_ids`: the id of byte 33, "!", is 0) and the same encoding
by rank. The tests hold it to tiktoken's ids on whole corpora.
"""

from __future__ import annotations

import functools
import json
import os

from nn2gpt.errors import UserError
from nn2gpt.tokens.pairs import GPT2_EOT, GPT2_EOT_ID, GPT2_SPLIT
from nn2gpt.tokens.bpe import Tokenizer


def byte_to_unicode() -> dict[int, str]:
    """GPT-2's spelling of each byte value as one printable character (see the module docstring)."""
    visible = {*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)}
    table, moved = {}, 0
    for byte in range(256):
        if byte in visible:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + moved)
            moved += 1
    return table


def load_gpt2(data_dir: str | os.PathLike | None = None) -> Tokenizer:
    """GPT-2's 50,257-token tokenizer, from the `gpt2` dataset's vocab.bpe and encoder.json."""
    from nn2gpt.data import fetch

    return _load(str(fetch("gpt2", "encoder.json", data_dir)), str(fetch("gpt2", "vocab.bpe", data_dir)))


@functools.lru_cache(maxsize=2)
def _load(encoder_path: str, vocab_path: str) -> Tokenizer:
    with open(encoder_path, encoding="utf-8") as f:
        encoder: dict[str, int] = json.load(f)
    with open(vocab_path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    spell = byte_to_unicode()
    byte_ids = [encoder[spell[b]] for b in range(256)]
    merges = []
    for rank, line in enumerate(line for line in lines[1:] if line):
        left, right = line.split(" ")
        if encoder[left + right] != 256 + rank:  # the sha256 checks make this impossible, unless the files change
            raise UserError(f"{vocab_path}: merge {rank} ({line!r}) is id {encoder[left + right]} in encoder.json, "
                            f"not {256 + rank}; fetch the gpt2 dataset again (`nn2gpt data fetch gpt2`)")
        merges.append((encoder[left], encoder[right]))
    tok = Tokenizer(merges, GPT2_SPLIT, {GPT2_EOT: GPT2_EOT_ID}, byte_ids)
    unspell = {c: b for b, c in spell.items()}
    for text, i in encoder.items():  # every token's bytes, as our merges make them, against the file's spelling
        if text != GPT2_EOT and tok.vocab[i] != bytes(unspell[c] for c in text):
            raise UserError(f"{encoder_path}: token {i} ({text!r}) is not what the merges make; "
                            f"fetch the gpt2 dataset again (`nn2gpt data fetch gpt2`)")
    return tok
