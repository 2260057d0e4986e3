"""How many CPU cores a run may use: the one place the road counts them.

    cores()          the cores this process may run on (its affinity), for --threads' range,
                     the lab's parallel runs and the CPU's peak FLOP/s
    training_threads()  all of them on an idle machine, one when other processes keep it busy
    free_cores()     for a process that is itself busy (the studio): the cores others leave free now
"""

from __future__ import annotations

import os
import time


def cores() -> int:
    """The CPU cores this process may run on: its affinity (a container or `taskset` may allow
    fewer than the machine has), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def training_threads() -> int:
    """All cores on an idle machine, one thread when other processes keep the CPU busy.

    torch's OpenMP threads wait for each other at the end of every operation; when another
    process holds one of the cores, the thread that shares it makes all the others wait. On the
    project's 2-core box with other jobs running, 2 threads did 8 steps in 20 s, 1 thread 96 steps in 15 s.
    The test is "at least as many runnable processes as cores" (1-minute load average): a
    lower threshold also fires on the load a just-finished run of our own leaves behind.
    """
    n = cores()
    busy = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return n if busy < n else 1


_window: dict = {}  # free_cores' reading at the start of its window, and its last answer


def _reading() -> tuple[float, float, float]:
    """(now, the seconds all cores have been busy since boot, this process's own CPU seconds) - Linux's /proc/stat."""
    with open("/proc/stat", encoding="ascii") as f:
        ticks = [int(x) for x in f.readline().split()[1:8]]   # user nice system idle iowait irq softirq
    own = os.times()
    busy = sum(ticks) - ticks[3] - ticks[4]
    return time.monotonic(), busy / os.sysconf("SC_CLK_TCK"), own.user + own.system


def free_cores() -> int:
    """The cores other processes leave free, over about the last second: the machine's busy time less this
    process's own (so its own threads, busy a moment ago, do not count as a neighbour). For a process that
    answers again and again - the studio - where the load average would count its own last answer as another
    job. With no recent reading (the first call, a pause of over 10 s) or no /proc, training_threads()."""
    try:
        now = _reading()
    except (OSError, ValueError, IndexError):
        return training_threads()
    start = _window.get("start")
    if start is None or now[0] - start[0] > 10:
        _window.update(start=now, free=training_threads())
    elif now[0] - start[0] >= 0.2:
        others = ((now[1] - start[1]) - (now[2] - start[2])) / (now[0] - start[0])   # cores busy elsewhere
        _window["free"] = max(1, min(cores(), cores() - round(others)))
        if now[0] - start[0] >= 1:
            _window["start"] = now
    return _window["free"]
