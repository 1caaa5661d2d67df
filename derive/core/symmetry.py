"""Interchangeable units: derive the first unit of a wide coupled layer, carry the result to the others.

A softmax layer couples its units: each output depends on every
pre-activation, so its Jacobian has n² entries and each unit's δ sums n
products. Deriving them one by one costs time quadratic (or worse) in the
width. But the layer and a loss that sums one term per output do not change
when two units swap places. Where that holds, renaming is a symmetry of the
whole problem, and derivatives commute with it: for the transposition π of
units 1 and k,

    ∂y_m/∂a_k = π(∂y_π(m)/∂a_1),        δ_k = π(δ_1).

So only the first column of the Jacobian and the first δ are derived; the
rest are those expressions with the symbols of units 1 and k swapped.

The symmetry is not assumed: :func:`is_symmetric` checks it with SymPy on the
expressions themselves, for the transposition (1 2) and the cycle
(1 2 ... n), which together generate every permutation of the units.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import sympy as sp

Families = Sequence[Sequence[sp.Symbol]]  # per-unit symbol lists of one layer: a, y, t


def swap(n: int, k: int) -> list[int]:
    """The transposition of units 0 and k, as a list: unit m goes to position ``perm[m]``."""
    perm = list(range(n))
    perm[0], perm[k] = k, 0
    return perm


def renaming(families: Families, perm: Sequence[int]) -> dict[sp.Symbol, sp.Symbol]:
    """Each family's symbol of unit m renamed to the symbol of unit ``perm[m]``."""
    return {fam[m]: fam[p] for fam in families for m, p in enumerate(perm) if m != p}


def is_symmetric(per_unit: Sequence[sp.Expr], whole: Sequence[sp.Expr], families: Families) -> bool:
    """True if permuting the units permutes ``per_unit`` the same way and leaves ``whole`` unchanged.

    >>> a1, a2, a3 = sp.symbols("a1:4")
    >>> soft = [sp.exp(a) / (sp.exp(a1) + sp.exp(a2) + sp.exp(a3)) for a in (a1, a2, a3)]
    >>> is_symmetric(soft, [], [[a1, a2, a3]]), is_symmetric([a1, 2 * a2, a3], [], [[a1, a2, a3]])
    (True, False)
    """
    n = len(families[0])
    if n < 2:
        return True
    for perm in (swap(n, 1), [(m + 1) % n for m in range(n)]):
        rename = _SharedRenaming(renaming(families, perm))
        if any(per_unit[perm[m]] != rename(e) for m, e in enumerate(per_unit)):
            return False
        if any(rename(e) != e for e in whole):
            return False
    return True


class _SharedRenaming:
    """``xreplace`` over many expressions that share subexpressions, each shared one renamed once.

    The outputs of a softmax layer all contain the same sum S of n terms;
    renaming each output anew would rebuild S n times. A rebuilt node that
    equals the original is replaced by the original object, so comparing the
    results with the originals meets the same S object and stops there.
    """

    def __init__(self, mapping: dict[sp.Symbol, sp.Symbol]):
        self.mapping, self.memo = mapping, {}

    def __call__(self, e: sp.Basic) -> sp.Basic:
        if e in self.mapping:
            return self.mapping[e]
        done = self.memo.get(e)
        if done is None:
            done = e
            if e.args:
                args = tuple(self(arg) for arg in e.args)
                if any(new is not old for new, old in zip(args, e.args)):
                    rebuilt = e.func(*args)
                    done = e if rebuilt == e else rebuilt
            self.memo[e] = done
        return done


def carry(expr: sp.Expr, families: Families, k: int) -> sp.Expr:
    """``expr`` derived for unit 0, carried to unit k by swapping the symbols of units 0 and k."""
    if k == 0:
        return expr
    mapping = {}
    for fam in families:
        mapping[fam[0]], mapping[fam[k]] = fam[k], fam[0]
    return expr.xreplace(mapping)


class CarriedJacobian(Mapping):
    """dy_m/da_k of a symmetric layer from its first column: entry (m, k) is π_k(column[π_k(m)]).

    Entries are built when read; the layer's derivation reads column 0 and the
    first δ only.
    """

    def __init__(self, column: Mapping[int, sp.Expr], families: Families):
        self.column, self.families, self.n = dict(column), families, len(families[0])

    def __getitem__(self, key: tuple[int, int]) -> sp.Expr:
        m, k = key
        source = swap(self.n, k)[m]
        if source not in self.column:
            raise KeyError(key)
        return carry(self.column[source], self.families, k)

    def __contains__(self, key: object) -> bool:
        if not (isinstance(key, tuple) and len(key) == 2):
            return False
        m, k = key
        return 0 <= k < self.n and 0 <= m < self.n and swap(self.n, k)[m] in self.column

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for k in range(self.n):
            perm = swap(self.n, k)
            yield from ((m, k) for m in range(self.n) if perm[m] in self.column)

    def __len__(self) -> int:
        return self.n * len(self.column)
