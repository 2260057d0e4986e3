"""How many CPU cores a run may use: the one place the road counts them.

    cores()          the cores this process may run on (its affinity), for --threads' range,
                     the lab's parallel runs and the CPU's peak FLOP/s
    training_threads()  all of them on an idle machine, one when other processes keep it busy
"""

from __future__ import annotations

import os


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
