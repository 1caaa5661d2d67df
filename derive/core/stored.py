"""Slow SymPy results that depend only on the source code, kept between runs in the cache folder.

Finding f'(a) as a function of f(a) solves y = f(a) for a, which takes SymPy
about half a second per activation and gives the same answer on every run.
:func:`remembered` stores such a result in :func:`derive.cache.folder` under a
key made of the arguments, the Python and SymPy versions and the full text of
the source files the result depends on: an edit to any of them, or another
SymPy, computes it afresh. A missing, unreadable or unwritable entry only means
the work is done again, so the result never depends on the cache.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sympy as sp

from derive import cache


def _key(name: str, args: tuple, sources: tuple[Path, ...]) -> str:
    h = hashlib.sha256(repr((name, args, sys.version_info[:3], sp.__version__)).encode())
    for path in sources:
        h.update(path.read_bytes())
    return h.hexdigest()


def _load(path: Path) -> Any:
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except Exception:  # missing, truncated or from an incompatible version: compute it again
        return None


def _save(folder: Path, path: Path, value: Any) -> None:
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)  # readers see the whole entry or none
    except OSError:  # a full or read-only disk: the next run computes it again
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.remove(tmp)


def remembered(*sources: Path) -> Callable:
    """Keep the results of a function of hashable, ``repr``-stable arguments in the cache folder.

    ``sources``: the files whose text determines the result (the function's own module among them).
    The result must pickle and unpickle to an equal value.
    """

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def call(*args):
            folder = cache.folder("sympy")
            if folder is None:
                return fn(*args)
            path = folder / f"{fn.__module__}.{fn.__name__}-{_key(fn.__qualname__, args, sources)}.pickle"
            value = _load(path)
            if value is None:
                value = fn(*args)
                _save(folder, path, value)
            return value

        return call

    return wrap
