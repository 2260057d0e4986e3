"""How a `gpt train` run that ended is reported: one way for both engines.

    done at step 2000: val loss 1.7180 (best 1.7180), 2.4787 bits per byte, in 48.1 s; run saved in runs/gpt
    sample it: nn2gpt gpt sample --model runs/gpt --prompt ROMEO:

on stderr, so that stdout carries only what a pipe would want (the numpy engine's sample, the
studio's log). The numpy engine's line says "(numpy engine)" and its sample command names it.
No torch here: both engines' command lines use it.
"""

from __future__ import annotations

import shlex
import sys


def suggested_prompt(text_path) -> str:
    """A prompt to start a sample with: a speaker of Tiny Shakespeare, else the first words of the
    training text (a prompt must use characters the model has seen, and read like its text)."""
    if text_path is None:
        return "ROMEO:"
    try:
        with open(text_path, encoding="utf-8") as f:
            head = f.read(4096)
    except (OSError, UnicodeDecodeError):
        return ""
    first = next((line.strip() for line in head.splitlines() if line.strip()), "")
    words, prompt = first.split(), ""
    for word in words:
        if len(prompt) + len(word) + 1 > 24 and prompt:
            break
        prompt = f"{prompt} {word}".strip()
    return prompt


def report(result, run_dir, text_path, engine: str = "torch", resume_note: str | None = None) -> int:
    """Print how the run ended (see the module docstring); -> the command's exit status (130 or
    143 for a run Ctrl-C or SIGTERM stopped, else 0). A diverged run raises its one line."""
    from nn2gpt.errors import UserError
    from nn2gpt.interrupt import status_of, stopped_how

    if result.status == "diverged":
        raise UserError(result.message)
    if resume_note:
        print(resume_note, file=sys.stderr)
    tag = "" if engine == "torch" else f" ({engine} engine)"
    where = f"; run saved in {run_dir}" if run_dir else ""
    print(f"{stopped_how(result.status, result.message)} at step {result.step}: val loss {result.final_val_loss:.4f} "
          f"(best {result.best_val_loss:.4f}), {result.final_val_bpb:.4f} bits per byte, in {result.seconds:.1f} s"
          f"{tag}{where}", file=sys.stderr)
    if run_dir:
        flag = "" if engine == "torch" else f" --engine {engine}"
        print(f"sample it: nn2gpt gpt sample --model {shlex.quote(str(run_dir))}{flag} "
              f"--prompt {shlex.quote(suggested_prompt(text_path))}", file=sys.stderr)
    return status_of(result.message) if result.status == "interrupted" else 0
