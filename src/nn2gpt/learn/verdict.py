"""What `nn2gpt learn` shows of a workbook: a check's verdict (and what comes next), the list.

    report(book, ex, result)    one check's outcome printed, a pass recorded; -> the exit code
    following(book, ex)         the first exercise after `ex` that has not passed
    do_list(book, args)         every exercise, done or not, and the milestones (MILESTONES)

`learn check`, `learn watch` and the keys of watch (nn2gpt.learn.actions) all print through these.
"""

from __future__ import annotations

MILESTONES = {"tokens": "ch.0: your BPE trained on Tiny Shakespeare, a GPT on its tokens beside a character one",
              "digits": "ch.1: the book's 784-30-10 network on MNIST, trained with your functions",
              "gpt": "ch.2: the char GPT on Tiny Shakespeare, its blocks built from your modules",
              "translate": "ch.3: a few minutes of de-en with your cross-attention, then BLEU with your greedy search",
              "lab": "ch.4: your squared / inverse score and anticausal mask against the scaled dot product",
              "numpy-gpt": "ch.5: the numpy GPT on Tiny Shakespeare, trained with your backward passes"}



def report(book, ex, result) -> int:
    """Print a check's outcome, record a pass, return the exit code."""
    if result.output.strip():
        print(result.output.rstrip())
    if result.status == "passed":
        first, chosen = not book.passed(ex), book.current() is ex
        book.mark(ex, True)
        nxt = book.current()
        first = first or (chosen and nxt is not ex)     # goto's exercise passed again: the road goes on
        note = f" ({result.message})" if result.message else ""
        ahead = following(book, ex)
        more = (f". next: {ahead.file} - {ahead.task}" if ahead else ". every exercise has passed: train with your "
                f"code, `nn2gpt learn run NAME` ({', '.join(MILESTONES)})") if first else ""
        print(f"{ex.file}: passed{note}{more}")
        return 0
    book.failed(ex, result.message)  # no longer passed, if it was; the message kept for `hint`
    print(f"{ex.file}: {'FAILED' if result.status == 'failed' else 'ERROR'}: {result.message}")
    return result.exit_code


def following(book, ex):
    """The first exercise after `ex` in road order (from the start again past the last) that has not
    passed; None when every one has."""
    from nn2gpt.learn.registry import all_exercises

    done, road = book.load()["passed"], all_exercises()
    i = next((k for k, e in enumerate(road) if e.name == ex.name), len(road))
    return next((e for e in road[i + 1:] + road[:i] if e.name not in done), None)


def do_list(book, args) -> int:
    from nn2gpt.learn.registry import all_exercises

    data = book.load()
    current = book.current()
    width = max(len(ex.file) for ex in all_exercises())     # one column for every name: the rows stay aligned
    for ex in all_exercises():
        mark = "current" if ex is current else "passed" if ex.name in data["passed"] else ""   # goto may pick a passed one
        print(f"  {ex.file:<{width}} {mark:<8} ch.{ex.chapter}  {ex.task}")
    print("milestones (nn2gpt learn run NAME):")
    for name, text in MILESTONES.items():
        print(f"  {name:<{width}} {text}")
    return 0
