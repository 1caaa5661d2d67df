"""Work kept between runs (compiled templates, solved activation lemmas) and proofs in worker processes
never change what a build writes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sympy as sp

from derive.core import calculus
from derive.prove import workers

NETS = [
    ["--arch", "2-2-1", "--no-bias"],
    ["--arch", "2-3-2", "--act", "tanh,softmax", "--loss", "ce"],
]
FILES = ("derivation.tex", "derivation.html", "trainer.py", "formulas.json")


def _build(args: list[str], out, cache: str) -> dict[str, bytes]:
    env = {**os.environ, "BACKPROP_DERIVE_CACHE": cache}
    cmd = [sys.executable, "-m", "derive", "build", *args, "--no-pdf", "--out", str(out)]
    subprocess.run(cmd, check=True, env=env, capture_output=True)
    return {f: (out / f).read_bytes() for f in FILES}


@pytest.mark.parametrize("args", NETS, ids=lambda a: " ".join(a))
def test_cold_warm_and_no_cache_write_the_same_bytes(tmp_path, args):
    folder = tmp_path / "cache"
    cold = _build(args, tmp_path / "cold", str(folder))
    assert any((folder / "jinja").iterdir()), "compiled templates were not kept"
    assert any((folder / "sympy").iterdir()), "the activation lemma was not kept"
    warm = _build(args, tmp_path / "warm", str(folder))
    off = _build(args, tmp_path / "off", "")
    assert cold == warm == off


def test_a_damaged_cache_entry_is_computed_again(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKPROP_DERIVE_CACHE", str(tmp_path))
    fresh = calculus.elementwise.__wrapped__("sigmoid")  # past the in-process memo
    for entry in (tmp_path / "sympy").iterdir():
        entry.write_bytes(b"not a pickle")
    again = calculus.elementwise.__wrapped__("sigmoid")
    assert again == fresh
    # the lemma itself, independently of the cache: σ'(a) = σ(a)(1 - σ(a))
    assert sp.simplify(again.fprime_out.subs(calculus.Y, again.f) - sp.diff(again.f, calculus.A)) == 0


def _square_of(n: int) -> tuple[int, int]:
    return n, n * n


@pytest.mark.parametrize("processes", [1, 2])
def test_workers_return_results_in_input_order(processes):
    results = list(workers.ordered(_square_of, 30, processes))
    assert results == [(n, n * n) for n in range(30)]


def _fails_at_five(n: int) -> int:
    if n == 5:
        raise ValueError("task 5 failed")
    return n


def test_an_error_in_a_worker_reaches_the_caller():
    with pytest.raises(ValueError, match="task 5 failed"):
        list(workers.ordered(_fails_at_five, 16, processes=2))
