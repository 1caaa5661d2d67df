"""Timing helpers of `make bench`: best-of-rounds timing and trainers rendered and imported from a file."""

from __future__ import annotations

import gc
import importlib.util
import time
from pathlib import Path

from derive import derive, make_spec, verify
from derive.render.trainer import render


def best(fn, repeat: int = 5, number: int = 20) -> float:
    """Best mean seconds per call over ``repeat`` rounds of ``number`` calls.

    As ``timeit`` does, the garbage collector is off while a round runs: the derivations
    leave a few hundred thousand objects behind, and a full collection that happens to
    fall inside a round would be charged to whichever call is measured.
    """
    times = []
    gc.collect()
    for _ in range(repeat):
        gc.disable()
        try:
            t = time.perf_counter()
            for _ in range(number):
                fn()
            times.append((time.perf_counter() - t) / number)
        finally:
            gc.enable()
    return min(times)


def best_of_each(fns: dict[str, object], rounds: int = 5, number: int = 1) -> dict[str, float]:
    """``best`` of several functions, their rounds interleaved so that each sees the same load."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            times[name].append(best(fn, repeat=1, number=number))
    return {name: min(ts) for name, ts in times.items()}


def load_trainer(arch: str, style: str, tmp: Path, act: str = "sigmoid", loss: str = "sse", optimizer: str = "sgd"):
    """Render and import one trainer; ``style`` "default" is what a build without --style writes."""
    d = verify(derive(make_spec(arch, act, loss, optimizer=optimizer)))
    path = tmp / f"trainer_{arch.replace('-', '_')}_{style}_{loss}_{optimizer}.py"
    path.write_text(render.render(d, None if style == "default" else style))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
