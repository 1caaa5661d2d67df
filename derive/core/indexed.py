"""Evaluate SymPy expressions with Indexed families and sums on numpy arrays.

A generic per-layer rule such as ``z_1[j]*(1 - z_1[j])*Sum(delta_2[k]*w_2[k, j], (k, 1, 64))``
is evaluated for every unit at once: each ``Indexed`` reads an array whose
axes are labelled by its index symbols, products and sums broadcast over the
labels, and a ``Sum`` adds up the axis of its variable. Plain symbols bound to
arrays are elementwise (they share one anonymous axis set). Numbers keep the
dtype of the arrays (a rational 1/100 is divided in that precision), so a rule
evaluates in extended precision when its arrays are ``np.longdouble``.

>>> import numpy as np
>>> j, k = sp.symbols("j k", integer=True)
>>> w, v = sp.IndexedBase("w"), sp.IndexedBase("v")
>>> value, labels = evaluate(sp.Sum(w[k, j] * v[k], (k, 1, 2)), {"w": np.eye(2) * 3, "v": np.array([1.0, 2.0])})
>>> value.tolist(), labels
([3.0, 6.0], (j,))
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import sympy as sp

Labels = tuple[Any, ...]
_ELEMENT = "<elementwise>"


@cache
def _numpy_function(func: type, n_args: int):
    args = sp.symbols(f"u0:{n_args}", real=True)
    return sp.lambdify(args, func(*args), modules="numpy")


class _Evaluator:
    def __init__(self, arrays: dict[Any, np.ndarray], dtype: Any):
        self.arrays = arrays
        self.dtype = dtype

    def number(self, e: sp.Number) -> np.ndarray:
        if e.is_Rational:
            p, q = e.as_numer_denom()
            return np.asarray(self.dtype(int(p)) / self.dtype(int(q)))
        return np.asarray(self.dtype(str(sp.Float(e, 30))))

    def align(self, parts: list[tuple[np.ndarray, Labels]]) -> tuple[list[np.ndarray], Labels]:
        """Reshape each array so that numpy broadcasting pairs equal labels."""
        labels: list[Any] = []
        for _, lab in parts:
            labels += [x for x in lab if x not in labels]
        out = []
        for value, lab in parts:
            if not lab:
                out.append(value)
                continue
            order = sorted(range(len(lab)), key=lambda n: labels.index(lab[n]))
            value = np.transpose(value, order)
            shape = [1] * len(labels)
            for n in order:
                shape[labels.index(lab[n])] = value.shape[order.index(n)]
            out.append(value.reshape(shape))
        return out, tuple(labels)

    def __call__(self, e: sp.Expr) -> tuple[np.ndarray, Labels]:
        if isinstance(e, sp.Indexed):
            value = np.asarray(self.arrays[str(e.base)])
            fixed = tuple(int(k) - 1 if k.is_Integer else slice(None) for k in e.indices)
            labels = tuple(k for k in e.indices if not k.is_Integer)
            if len(set(labels)) != len(labels) or not all(isinstance(k, sp.Symbol) for k in labels):
                raise NotImplementedError(f"index pattern of {e}")
            return value[fixed], labels
        if isinstance(e, sp.Symbol):
            value = np.asarray(self.arrays[e])
            return value, tuple(f"{_ELEMENT}{n}" for n in range(value.ndim))
        if isinstance(e, sp.Number):
            return self.number(e), ()
        if e.is_number:  # pi, E, sqrt(2), ...
            return self.number(sp.Float(e, 30)), ()
        if isinstance(e, (sp.Add, sp.Mul)):
            values, labels = self.align([self(a) for a in e.args])
            total = values[0]
            for v in values[1:]:
                total = total + v if isinstance(e, sp.Add) else total * v
            return total, labels
        if isinstance(e, sp.Pow):
            (base, exp), labels = self.align([self(e.base), self(e.exp)])
            if e.exp.is_Integer:
                exp = int(e.exp)
            return np.power(base, exp), labels
        if isinstance(e, sp.Sum):
            return self.sum(e)
        if isinstance(e, (sp.Function, sp.Max, sp.Min)):
            values, labels = self.align([self(a) for a in e.args])
            fn = _numpy_function(e.func, len(e.args))
            return np.asarray(fn(*values), dtype=self.dtype), labels
        raise NotImplementedError(f"cannot evaluate {type(e).__name__}: {e}")

    def sum(self, e: sp.Sum) -> tuple[np.ndarray, Labels]:
        value, labels = self(e.function)
        for var, lo, hi in reversed(e.limits):
            if lo != 1:
                raise NotImplementedError(f"sum from {lo}")
            if var in labels:
                axis = labels.index(var)
                if value.shape[axis] != int(hi):
                    raise ValueError(f"sum over {var} to {hi} but the arrays have {value.shape[axis]} entries")
                value, labels = value.sum(axis=axis), labels[:axis] + labels[axis + 1 :]
            else:
                value = value * int(hi)
        return value, labels


def evaluate(
    expr: sp.Expr, arrays: dict[Any, np.ndarray], labels: Labels | None = None, dtype: Any = None
) -> tuple[np.ndarray, Labels]:
    """Evaluate ``expr``; returns the value and the index symbol of each of its axes.

    Args:
        expr: an expression in Indexed families, plain symbols, numbers, sums and functions.
        arrays: values by family name (``"w_2"``) for Indexed, by Symbol for plain symbols.
        labels: the axis order wanted for the result (default: order of first use).
        dtype: precision of numbers (default: that of the first array).
    """
    if dtype is None:
        dtype = next((np.asarray(v).dtype.type for v in arrays.values()), np.float64)
    value, got = _Evaluator(arrays, dtype)(expr)
    if labels is not None:
        if set(labels) != set(got) or len(labels) != len(got):
            raise ValueError(f"result has axes {got}, asked for {labels}")
        value, got = np.transpose(value, [got.index(x) for x in labels]), tuple(labels)
    return value, got
