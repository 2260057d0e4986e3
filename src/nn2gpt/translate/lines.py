"""Translating a file or a pipe, one sentence a line, the way MT tools do.

    nn2gpt translate --model runs/de-en < test.de > test.hyp.en      # or --input test.de(.gz)
    nn2gpt translate eval --model runs/de-en --src test.de --ref test.en
    nn2gpt translate --model runs/de-en < test.de | sacrebleu test.en  # the same BLEU as eval

Line i of the output is the translation of line i of the input, always: a blank line stays
blank, and a line the model cannot read well is still translated, and reported on stderr with
its number (characters the model never saw are read as <unk>; a sentence longer than the
model's positions is cut). Every line goes through the same preparation in `eval --src` and in
the pipe, so the two give one BLEU. The sentences are translated together, in batches of
similar length (decode.translate), which is what makes a file fast.

A single sentence (`translate "..."`, the studio, the pictures) is prepared here too, by
`prepare_sentence`, with the same steps, except that it refuses bad input in one line.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

from nn2gpt.errors import UserError


def read_lines(path, what: str = "--input") -> list[str]:
    """The lines of a UTF-8 text file, or of a .gz of one, or of stdin when `path` is None or "-"."""
    from nn2gpt.files import check_file

    if path in (None, "-"):
        data = sys.stdin.buffer.read()
        name = "standard input"
    else:
        path = check_file(path, what, "give a text file, one sentence a line (plain or .gz)")
        name = str(path)
        try:
            with open(path, "rb") as f:
                data = f.read()
            if data[:2] == b"\x1f\x8b":  # gzip's magic number, whatever the file is called
                data = gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise UserError(f"{what} {path} cannot be read ({e}); give a text file or an intact .gz") from None
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the newline that ends the last line does not start another
    out = []
    for i, raw in enumerate(lines, start=1):
        try:
            out.append(raw.decode("utf-8").rstrip("\r"))
        except UnicodeDecodeError:
            raise UserError(f"{name} line {i} is not UTF-8 text; convert the file to UTF-8") from None
    return out


# Typographic punctuation and its plain form, as MT preprocessing has long normalised it (Moses'
# normalize-punctuation): used only where the vocabulary lacks the typographic character.
PLAIN_PUNCTUATION = {"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2018": "'", "\u2019": "'",
                     "\u2026": "...", "\u2013": "-", "\u2014": "-"}


def plain_punctuation(tok, sentence: str) -> str:
    """`sentence` with each typographic mark the vocabulary lacks replaced by its plain form."""
    for fancy, plain in PLAIN_PUNCTUATION.items():
        if fancy in sentence and tok.unknown_characters(fancy) and not tok.unknown_characters(plain):
            sentence = sentence.replace(fancy, plain)
    return sentence


def prepare_sentence(model, tok, sentence: str, what: str = "sentence") -> str:
    """The sentence as the model should read it: stripped, typographic punctuation the vocabulary
    lacks made plain ("…" -> "..."). Bad input -> UserError: an empty sentence, characters the
    model never saw, or a sentence longer than the model can read. `what` names it in the
    message ("translation" for a target sentence: the same vocabulary, the same limit)."""
    target = what == "translation"  # a target sentence: the target side's pieces
    sentence = plain_punctuation(tok, sentence.strip())
    if not sentence:
        raise UserError(f"the {what} is empty; give some text to translate")
    unknown = tok.unknown_characters(sentence, target)
    if unknown:
        raise UserError(f"the {what} has characters this model never saw in training "
                        f"({' '.join(map(repr, unknown[:10]))}); remove or replace them")
    n = len(tok.encode(sentence, target)) + 1  # + </s>
    if n > model.max_len:
        raise UserError(f"the {what} is {n} tokens long, more than this model's maximum of {model.max_len}; "
                        f"split it into shorter sentences")
    return sentence


def prepare_lines(model, tok, lines: list[str]) -> tuple[list[str], list[tuple[int, str]]]:
    """(the sentences as the model reads them, [(line number, what is wrong with it)]).

    The same steps as a single sentence (prepare_sentence: stripped, typographic punctuation
    the vocabulary lacks made plain), but nothing is refused: a whole file must come back line
    for line, so a problem is noted and the line translated as well as it can be."""
    sentences, notes = [], []
    for number, line in enumerate(lines, start=1):
        sentence = plain_punctuation(tok, line.strip())
        unknown = tok.unknown_characters(sentence) if sentence else []
        if unknown:
            notes.append((number, f"characters this model never saw ({' '.join(map(repr, unknown[:10]))}), "
                                  f"read as <unk>"))
        n = len(tok.encode(sentence)) + 1 if sentence else 0
        if n > model.max_len:
            notes.append((number, f"{n} tokens, more than this model's {model.max_len}: only the first "
                                  f"{model.max_len - 1} are read"))
        sentences.append(sentence)
    return sentences, notes


def translate_lines(model, tok, lines: list[str], beam: int = 4, alpha: float = 0.6, reranker=None, greedy=None):
    """(one translation per line, in order; the notes of prepare_lines). Blank lines stay blank.
    `greedy`: the greedy search to use (decode.greedy_decode unless given)."""
    from nn2gpt.translate.decode import translate

    sentences, notes = prepare_lines(model, tok, lines)
    todo = [i for i, s in enumerate(sentences) if s]
    done = translate(model, tok, [sentences[i] for i in todo], beam, alpha, reranker=reranker,
                     greedy=greedy) if todo else []
    out = [""] * len(sentences)
    for i, hyp in zip(todo, done):
        out[i] = hyp
    return out, notes


def report(notes: list[tuple[int, str]], where: str, most: int = 20) -> None:
    """The notes on stderr, one line each ("line 7: ..."), at most `most` of them then a count."""
    for number, note in notes[:most]:
        print(f"nn2gpt translate: {where} line {number}: {note}", file=sys.stderr)
    if len(notes) > most:
        print(f"nn2gpt translate: {where}: {len(notes) - most} more lines with notes like these", file=sys.stderr)


def translate_stream(model, tok, input_path, beam: int, alpha: float, reranker=None) -> int:
    """Translate --input (or stdin) to stdout, line for line; the number of lines translated."""
    lines = read_lines(input_path)
    if input_path in (None, "-") and not lines:
        raise UserError("no sentence given and nothing on standard input; pass a sentence, or pipe lines in: "
                        "nn2gpt translate --model RUN < sentences.txt")
    hyps, notes = translate_lines(model, tok, lines, beam, alpha, reranker)
    report(notes, "input" if input_path in (None, "-") else str(Path(input_path)))
    sys.stdout.write("".join(h + "\n" for h in hyps))
    sys.stdout.flush()
    return len(lines)
