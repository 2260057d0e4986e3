"""How text becomes numbers: byte-level byte-pair encoding (BPE), written from scratch.

A text is a string of Unicode characters; UTF-8 writes each as 1 to 4 bytes, so every text
is a sequence of numbers 0..255 to begin with. BPE learns a vocabulary on top of those 256
tokens by repeating one step: count every pair of neighbouring tokens in the training text,
give the most frequent pair a new id, replace it everywhere. After k merges there are 256 + k
tokens, and common byte strings (" the", "ing", "\\n\\n") are one token each.

The modules, in reading order:

- `pairs`: the pre-split into chunks, counting pairs, merging one pair, the tie-break rule;
- `naive`: the trainer exactly as described above, every pair counted again after each merge;
- `fast`: the same merges, with counts kept up to date where a merge changes them;
- `bpe`: the `Tokenizer`: encode (apply the merges by rank), decode, decode_bytes;
- `train`: text -> Tokenizer, with special tokens after the merges;
- `store`: the saved form, merges.txt and tokenizer.json, and the checks made when loading;
- `gpt2`: GPT-2's published merges in our Tokenizer (its byte-to-unicode table written out);
- `folder`: which folders `--out` may write and `--model` may read;
- `embeddings`: a GPT run's token embeddings: nearest tokens by cosine, a 2-D map by PCA;
- `show`, `pipes`, `embeddings_cli`, `cli`: the `nn2gpt tokens` command.
"""
