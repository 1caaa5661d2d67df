"""Timing helpers of `make bench`: interleaved rounds, same-round ratios, and trainers imported from a file.

The machine may be shared: a neighbour's work slows whatever runs beside it. So the
functions compared in one table row run in the same process, in alternating rounds of
about ``ROUND`` seconds each, and a ratio is the median over the rounds of the ratio
measured within one round: load that comes and goes falls on both sides of each ratio.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import os
import re
import statistics
import time
from pathlib import Path

from derive import derive, make_spec, verify
from derive.render.trainer import render

#: seconds of calls of one function in one round
ROUND = 0.02


def calls_per_round(fn, seconds: float = ROUND) -> int:
    """How many calls of ``fn`` take about ``seconds`` (after one warm-up call)."""
    fn()
    n, spent = 1, 0.0
    while spent < seconds / 10:
        t = time.perf_counter()
        for _ in range(n):
            fn()
        spent = time.perf_counter() - t
        if spent < seconds / 10:
            n *= 4
    return max(1, round(n * seconds / spent))


def rounds(fns: dict[str, object], n_rounds: int = 25, seconds: float = ROUND) -> dict[str, list[float]]:
    """Seconds per call of each function in each of ``n_rounds`` interleaved rounds.

    Round r runs every function once for about ``seconds``, starting with a different one in
    each round, so no function always follows the same neighbour. As ``timeit`` does, the
    garbage collector is off while a round runs: a full collection of the objects the
    derivations left behind would be charged to whichever call happens to be measured.
    """
    names = list(fns)
    number = {name: calls_per_round(fns[name], seconds) for name in names}
    times: dict[str, list[float]] = {name: [] for name in names}
    gc.collect()
    for r in range(n_rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            fn, k = fns[name], number[name]
            gc.disable()
            try:
                t = time.perf_counter()
                for _ in range(k):
                    fn()
                times[name].append((time.perf_counter() - t) / k)
            finally:
                gc.enable()
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)


def ratio(times: dict[str, list[float]], slow: str, fast: str | tuple[str, ...]) -> float:
    """Median over the rounds of ``slow``'s time over ``fast``'s in the same round.

    ``fast`` may name several functions: each round then takes the fastest of them.
    """
    fasts = (fast,) if isinstance(fast, str) else fast
    per_round = zip(times[slow], *(times[f] for f in fasts))
    return statistics.median(s / min(fs) for s, *fs in per_round)


def spread(times: dict[str, list[float]], slow: str, fast: str) -> tuple[float, float]:
    """The lower and upper quartile of the same-round ratios: how much the rounds disagree."""
    q = statistics.quantiles([s / f for s, f in zip(times[slow], times[fast])], n=4)
    return q[0], q[2]


@contextlib.contextmanager
def threads(n: int):
    """numpy's BLAS and PyTorch both limited to ``n`` threads inside the block.

    On a shared machine both libraries' threads compete with other work; one thread each
    compares the libraries' kernels with the least disturbance, two threads what a user gets.
    """
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(before)


def load(first: int = 3) -> str:
    """The machine's load average (1, 5 and 15 min; ``first``: how many of them): work beside the
    bench slows it, PyTorch's threads most."""
    try:
        return ", ".join(f"{v:.2f}" for v in os.getloadavg()[:first])
    except OSError:
        return "unknown"


def load_trainer(arch: str, style: str, tmp: Path, act: str = "sigmoid", loss: str = "sse", **options):
    """Render and import one trainer; ``style`` "default" is what a build without --style writes.

    ``options``: the other keywords of ``make_spec`` (optimizer, weight_decay, mean, ...).
    """
    d = verify(derive(make_spec(arch, act, loss, **options)))
    extra = "".join(f"_{k}_{v}" for k, v in sorted(options.items()))
    name = f"trainer_{arch}_{style}_{act}_{loss}{extra}"
    path = tmp / (re.sub(r"[^A-Za-z0-9_]", "_", name) + ".py")
    path.write_text(render.render(d, None if style == "default" else style))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
