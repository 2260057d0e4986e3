"""Training progress: a live bar on a terminal, a plain line every few seconds anywhere else.

A progress bar redraws itself with carriage returns; in a log file (`make demo > log`, CI)
every redraw stays, and 2,000 steps leave some 200 KB of them. So when stderr is not a
terminal, `progress_bar` returns a `PlainProgress` instead, with the same few methods, that
writes one line such as

    step 1200/2000 (60%), 410.3 step/s, loss 1.9321 | 52,100 tok/s

at the first step (a sign of life), then every `every` seconds, and a last one when it closes.

A run whose budget is seconds (`--max-seconds 60`, most often with a huge `--max-iters`, as the studio
and `nn2gpt learn` start it) passes `seconds=60`: its line reads the clock instead of a step count
that would say 0% to the end,

    step 132, 12 s of 60 s (20%), 11.0 step/s, loss 2.4817 | 52,100 tok/s

(the share is the larger of time and steps: the run ends at whichever budget comes first), and on a
terminal the bar counts steps without a total, its elapsed time beside them.
"""

from __future__ import annotations

import sys
import time


def progress_bar(total: int, initial: int = 0, desc: str = "", unit: str = "step", disable: bool = False,
                 every: float = 5.0, stream=None, seconds: float | None = None, spent: float = 0.0):
    """A tqdm bar on a terminal, a PlainProgress elsewhere, nothing at all when `disable`. `seconds`: a
    budget of wall-clock seconds, `spent` of which a resumed run has used already."""
    stream = stream or sys.stderr
    if disable or not stream.isatty():
        return PlainProgress(total, initial, desc, unit, every, stream, silent=disable, seconds=seconds, spent=spent)
    from tqdm import tqdm

    if seconds:  # a count and the elapsed time; a share of a step budget the clock ends first would mislead
        return tqdm(initial=initial, desc=desc or f"{seconds:g} s budget", unit=unit, dynamic_ncols=True, file=stream)
    return tqdm(total=total, initial=initial, desc=desc or None, unit=unit, dynamic_ncols=True, file=stream)


class PlainProgress:
    """tqdm's update / set_postfix_str / set_postfix / close, printed as a line now and then."""

    def __init__(self, total: int, initial: int, desc: str, unit: str, every: float, stream, silent: bool = False,
                 seconds: float | None = None, spent: float = 0.0):
        self.total, self.n, self.desc, self.unit, self.every, self.stream = total, initial, desc, unit, every, stream
        self.silent, self.postfix, self.seconds, self.spent = silent, "", seconds, spent
        self._start_n, self._t0 = initial, time.perf_counter()
        self._last = float("-inf")  # the first update writes at once

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.perf_counter()
        if now - self._last >= self.every:
            self._last = now
            self._write(now)

    def set_postfix_str(self, text: str, refresh: bool = False) -> None:
        self.postfix = text

    def set_postfix(self, **values) -> None:
        self.postfix = ", ".join(f"{k} {v}" for k, v in values.items())

    def close(self) -> None:
        if self.n > self._start_n:
            self._write(time.perf_counter())
        self._start_n = self.n  # a second close writes nothing

    def _write(self, now: float) -> None:
        if self.silent:
            return
        rate = (self.n - self._start_n) / max(now - self._t0, 1e-9)
        head = f"{self.desc}: " if self.desc else ""
        tail = f", {self.postfix}" if self.postfix else ""
        if self.seconds:
            used = self.spent + now - self._t0
            done = max(used / self.seconds, self.n / self.total if self.total else 0.0)
            count = f"{self.n}, {used:.0f} s of {self.seconds:g} s ({100 * min(done, 1.0):.0f}%)"
        else:
            count = f"{self.n}/{self.total}" + (f" ({100 * self.n / self.total:.0f}%)" if self.total else "")
        print(f"{head}{self.unit} {count}, {rate:.1f} {self.unit}/s{tail}", file=self.stream, flush=True)
