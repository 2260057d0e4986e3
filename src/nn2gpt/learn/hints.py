"""Which hint `nn2gpt learn hint NAME` (and `h` in `learn watch`) shows next.

A check that fails names the mistake when it knows it ("sigma'(z^l) is left out of BP2", "the
step is 10 times too large"). The learner asking for a hint right after is stuck on *that*
mistake, so the hint answers it first: each exercise lists, beside its general ladder, a few
hints of its own for its known mistakes (`Exercise.mistake_hints`: words of the failure message,
then the hints). The workbook keeps each exercise's last failure message (`Workbook.failed`);
the next hint is the next one for the mistake it names, and once those are shown, the general
ladder goes on where it was. A pass forgets the failure; a new failure naming another mistake
starts that mistake's hints from the first.

    03_backprop.py: FAILED: backprop(x, y): sigma'(z^l) is left out of BP2: ...
    nn2gpt learn hint backprop  ->  the hint for BP2's missing sigma', then hint 1 of 3, 2 of 3, ...
"""

from __future__ import annotations


def next_hint(book, ex) -> str:
    """The next hint's text as the learner reads it (a line, or two after the last hint); the
    progress file records that it was shown."""
    data = book.load()
    message = data.get("failures", {}).get(ex.name)
    i = ex.mistake(message) if message else None
    if i is not None:
        ladder = ex.mistake_hints[i][1]
        shown = data.get("mistake_hints", {}).get(ex.name, 0)
        if shown < len(ladder):
            data.setdefault("mistake_hints", {})[ex.name] = shown + 1
            book.save(data)
            of = f" {shown + 1} of {len(ladder)}" if len(ladder) > 1 else ""
            return f"{ex.file}, hint{of} for the mistake your last check found: {ladder[shown]}"
    k, text = book.next_hint(ex)
    line = f"{ex.file}, hint {k} of {len(ex.hints)}: {text}"
    if k == len(ex.hints):
        line += f"\n(that was the last hint; `nn2gpt learn solution {ex.name} --give-up` shows the reference)"
    return line
