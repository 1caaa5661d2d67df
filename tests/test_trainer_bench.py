"""The timing method of `make bench`: interleaved rounds and ratios taken within a round."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture(scope="module")
def timing():
    spec = importlib.util.spec_from_file_location("bench_timing", BENCH / "timing.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_ratio_is_the_median_of_the_ratios_within_each_round(timing):
    """Load that slows one round slows both sides of its ratio; the ratio of the medians would not see that."""
    times = {"torch": [10.0, 40.0, 12.0, 50.0, 11.0], "trainer": [1.0, 4.0, 1.0, 5.0, 1.1]}
    assert timing.ratio(times, "torch", "trainer") == 10.0
    assert timing.median(times["torch"]) / timing.median(times["trainer"]) != 10.0
    both = {"default": [2.0, 2.0, 9.0], "scalar": [1.0, 6.0, 9.0], "vector": [4.0, 1.0, 3.0]}
    assert timing.ratio(both, "default", ("scalar", "vector")) == 2.0  # per round: 2/1, 2/1, 9/3


def test_rounds_interleave_the_functions_and_time_each_per_call(timing):
    order = []

    def fast():
        order.append("fast")

    def slow():
        order.append("slow")
        time.sleep(0.001)

    times = timing.rounds({"fast": fast, "slow": slow}, n_rounds=4, seconds=0.01)
    assert [len(v) for v in times.values()] == [4, 4]
    assert all(t >= 0.001 for t in times["slow"]) and timing.median(times["fast"]) < 0.001
    runs = [name for i, name in enumerate(order) if i == 0 or order[i - 1] != name]
    assert runs.count("slow") >= 3 and runs.count("fast") >= 3  # alternating blocks, not all of one first
