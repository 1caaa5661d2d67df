"""Independent proofs in two forked worker processes, the results in the order of the inputs.

The symbolic proof of each parameter depends only on the derivation, never on
another parameter's proof, so the parameters can be proved side by side.
Workers are forked from the process that holds the derivation, so they start
with it in memory and only a parameter's number goes to a worker; the worker
sends back that parameter's result. :func:`ordered` yields the results in the
order of the inputs, whichever worker finished first, so everything built from
them is the same as with one process.

One process is used where forking is unavailable or unsafe: no ``fork`` start
method, another thread running (a fork copies its locks, not the thread), a
daemonic process (which may not have children), a single CPU, or little work.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

#: Worker processes at most (the bench machine has 2 cores).
WORKERS = 2
#: Fewer tasks than this are run in this process: starting workers costs more than they save.
MIN_TASKS = 8

#: The task of the current :func:`ordered` call, inherited by the forked workers.
_TASK: Callable[[int], Any] | None = None


def available() -> int:
    """How many processes :func:`ordered` would use for a large job (1: no forking here)."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if threading.active_count() > 1 or multiprocessing.current_process().daemon:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - platforms without affinity
        cpus = os.cpu_count() or 1
    return max(1, min(WORKERS, cpus))


def _start_worker() -> None:
    # the parent handles ^C and SIGTERM and ends the pool; a worker just stops
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _run(n: int) -> Any:
    assert _TASK is not None
    return _TASK(n)


def ordered(task: Callable[[int], Any], count: int, processes: int | None = None) -> Iterator[Any]:
    """``task(0), task(1), ..., task(count - 1)``, computed by up to :data:`WORKERS` processes.

    ``task`` must not change the state of this process that later tasks read (in a worker the change
    would stay in that worker); its results must pickle. An exception in a task is raised here.
    ``processes`` overrides the choice of :func:`available` (and :data:`MIN_TASKS`).
    """
    global _TASK
    if processes is not None:
        n_workers = processes
    else:
        n_workers = available() if count >= MIN_TASKS else 1
    if n_workers == 1:
        yield from (task(n) for n in range(count))
        return
    if _TASK is not None:  # a task that itself calls ordered: run the inner one here
        yield from (task(n) for n in range(count))
        return
    _TASK = task
    try:
        with multiprocessing.get_context("fork").Pool(n_workers, initializer=_start_worker) as pool:
            yield from pool.imap(_run, range(count), chunksize=1)
    finally:
        _TASK = None
