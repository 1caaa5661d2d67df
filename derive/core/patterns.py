"""Compute once per pattern: the same SymPy work for units that differ only in their symbols' names.

Output unit k of a sigmoid layer with the squared error has the δ
``y_k (1 - y_k) (y_k - t_k)``; unit k + 1 has the same expression with other
names. Differentiating and factoring each unit anew makes the output layer's
cost grow with its width times SymPy's cost per call, which on fresh symbols
is milliseconds. :class:`Patterns` renames the symbols of an expression to
canonical ones, does the work once per distinct renamed expression, and renames
the result back.

Renaming is a bijection that keeps each symbol's assumptions, and the
canonical names keep the symbols' sort order (``_r00000 < _r00001 < ...`` in
the order of the original names), so SymPy orders terms and factors of the
renamed expression the same way: the result equals, term for term, what the
work gives on the original expression.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

import sympy as sp


class Patterns:
    """A memo of ``fn(expr, *marks)`` keyed by ``expr`` and ``marks`` up to renaming of symbols.

    ``marks`` are symbols or sets of symbols that ``fn`` treats specially (the
    variable to differentiate by, the symbols ``tidy`` prefers), dicts from
    symbols to positions (ordered sets, which ``fn`` receives as tuples), or
    other hashable values passed as they are. ``fn`` sees only the members of a
    set that occur in the expression, so it must not depend on the absent ones.

    >>> y1, t1, y2, t2 = sp.symbols("y_1 t_1 y_2 t_2", real=True)
    >>> memo = Patterns(lambda e, x: sp.factor(sp.diff(e, x)))
    >>> memo((y1 - t1) ** 2 / 2, y1), memo((y2 - t2) ** 2 / 2, y2), memo.computed
    (-t_1 + y_1, -t_2 + y_2, 1)
    """

    def __init__(self, fn: Callable[..., sp.Expr]):
        self.fn = fn
        self.memo: dict[Hashable, sp.Expr] = {}
        self.computed = 0

    def __call__(self, expr: sp.Expr, *marks) -> sp.Expr:
        symbols = sorted(expr.free_symbols, key=lambda s: getattr(s, "name", ""))
        plain = all(type(s) is sp.Symbol for s in symbols)
        if not plain or len({s.name for s in symbols}) != len(symbols):
            return self.fn(expr, *marks)  # Indexed, Dummy or clashing names: no renaming
        forward = {s: sp.Symbol(f"_r{i:05d}", **s.assumptions0) for i, s in enumerate(symbols)}
        key = (expr.xreplace(forward), *(_rename(m, forward) for m in marks))
        if key not in self.memo:
            self.memo[key] = self.fn(*key)
            self.computed += 1
        back = {v: k for k, v in forward.items()}
        return self.memo[key].xreplace(back)


def _rename(mark, forward: dict[sp.Symbol, sp.Symbol]):
    """A mark in canonical names; members of a set or list absent from the expression are dropped.

    The cost is in the size of the expression, not of the mark: a mark is often
    every output of a wide layer.
    """
    if isinstance(mark, (set, frozenset)):
        return frozenset(forward[s] for s in forward if s in mark)
    if isinstance(mark, dict):  # an ordered set: symbol -> position
        return tuple(forward[s] for s in sorted((s for s in forward if s in mark), key=mark.__getitem__))
    if isinstance(mark, sp.Symbol):
        return forward.get(mark, mark)
    return mark
