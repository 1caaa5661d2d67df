"""Printer pieces that do not depend on a notation: the natural order of indices, a memo of printed
subexpressions, and the order of the factors of a printed product.

:mod:`derive.render.printer` (LaTeX) and :mod:`derive.render.mathml` (MathML) share them; see the
former's module documentation for the order and the elision they implement.
"""

from __future__ import annotations

import re
from functools import lru_cache

import sympy as sp
from sympy.printing.str import StrPrinter

from derive.core import general, naming

_LONG_NUMBER_RE = re.compile(r"_[0-9]{2}")
_DIGITS_RE = re.compile(r"[0-9]+")
#: digits of a padded index; no network has a billion units in a layer
PAD = 9
_PADDED_RE = re.compile(r"(x|a|z|y|t|w|b|delta)((?:_[0-9]{%d})+)" % PAD)
#: an elided run shows this many terms, then the ellipsis, then its last term
ELIDED_HEAD = 3


def natural(expr: sp.Basic) -> sp.Basic:
    """``expr`` with canonical symbols renamed so that SymPy's name order is the natural order.

    >>> sorted(s.name for s in natural(sp.Symbol("y_10") + sp.Symbol("y_2")).atoms(sp.Symbol))
    ['y_000000002', 'y_000000010']
    >>> natural(sp.Symbol("y_2") + sp.Symbol("y_3")) == sp.Symbol("y_2") + sp.Symbol("y_3")
    True
    """
    if not isinstance(expr, sp.Basic):
        return expr
    symbols = [s for s in named_atoms(expr) if isinstance(s, sp.Symbol)]
    if not any(_LONG_NUMBER_RE.search(s.name) for s in symbols):  # the common case: nothing to rename
        return expr
    labels = {b.label for b in expr.atoms(sp.IndexedBase)}
    names = [s for s in symbols if type(s) is sp.Symbol and s not in labels and naming.NAME_RE.fullmatch(s.name)]
    if not any(_LONG_NUMBER_RE.search(s.name) for s in names):
        return expr
    pad = {s: sp.Symbol(_DIGITS_RE.sub(lambda m: m.group().zfill(PAD), s.name), **s.assumptions0) for s in names}
    return expr.xreplace(pad)


#: subexpressions whose atoms are remembered (a build prints a few thousand distinct ones)
_CACHED = 1 << 16


@lru_cache(maxsize=_CACHED)
def named_atoms(expr: sp.Basic) -> frozenset[sp.Basic]:
    """``expr.atoms(sp.Symbol, sp.Indexed)``, remembered per subexpression.

    A printer asks this of every factor at every level of a nested product; built from the
    arguments' own sets, the whole of a large expanded gradient is walked once instead of once
    per level.
    """
    found = frozenset((expr,)) if isinstance(expr, (sp.Symbol, sp.Indexed)) else frozenset()
    return found.union(*(named_atoms(a) for a in expr.args if isinstance(a, sp.Basic)))


@lru_cache(maxsize=_CACHED)
def contains(expr: sp.Basic, kinds: tuple[type, ...]) -> bool:
    """``expr.has(*kinds)`` for classes, remembered per subexpression (printers ask it at every level)."""
    return isinstance(expr, kinds) or any(contains(a, kinds) for a in expr.args if isinstance(a, sp.Basic))


def shown_as_written(expr: sp.Basic) -> bool:
    """Whether ``expr`` holds numbers put in by hand (an ``UnevaluatedExpr``)."""
    return contains(expr, (sp.UnevaluatedExpr,))


@lru_cache(maxsize=_CACHED)
def _mentions(g: sp.Basic) -> frozenset[sp.Basic]:
    """The free symbols and the indexed symbols of ``g`` (what a factor may be found inside)."""
    return frozenset(g.free_symbols) | frozenset(a for a in named_atoms(g) if isinstance(a, sp.Indexed))


def unpadded(sym: sp.Symbol) -> sp.Symbol:
    """The canonical symbol a padded one stands for (any other symbol unchanged)."""
    if not _PADDED_RE.fullmatch(sym.name):
        return sym
    return sp.Symbol(_DIGITS_RE.sub(lambda m: str(int(m.group())), sym.name), **sym.assumptions0)


class Memo:
    """A printer mixin that prints each distinct subexpression once per printer.

    Expanded gradients repeat the same sums (a unit's input, a softmax denominator) many
    times within one expression and across the parameters of a net; the printed text of a
    subexpression depends only on it, the keyword arguments of the call and whether it is
    printed at the top (SymPy strips a Float's trailing zeros only inside an expression).
    The key carries the class as well as the expression: ``Float(1) == Integer(1)``.
    """

    def _print(self, expr, **kwargs) -> str:
        if not isinstance(expr, sp.Basic) or expr.is_Atom:
            return super()._print(expr, **kwargs)
        try:
            key = (type(expr), expr, tuple(sorted(kwargs.items())), self._print_level == 0)
            hash(key)
        except TypeError:  # an unhashable keyword value
            return super()._print(expr, **kwargs)
        memo = self.__dict__.setdefault("_memo", {})
        if key not in memo:
            memo[key] = super()._print(expr, **kwargs)
        return memo[key]


class LexStrPrinter(Memo, StrPrinter):
    """``sympy.sstr(expr, order="lex")``, each distinct subexpression printed once per printer."""

    def __init__(self) -> None:
        super().__init__({"order": "lex"})


def role_of(f: sp.Basic) -> str | None:
    if isinstance(f, sp.Indexed):
        name = str(f.base)
        return general.role_of(f.base) if general.is_generic(f.base) else name.split("_")[0]
    if isinstance(f, sp.Symbol):
        m = naming.NAME_RE.fullmatch(unpadded(f).name)
        return m.group(1) if m else None
    return None


def factor_rank(f: sp.Expr, factors: list[sp.Expr]) -> tuple[int, int]:
    """Where a factor goes in a printed product (a stable sort keeps SymPy's order within a rank).

    w before δ (Σ w_kj δ_k); a bare δ before everything else (δ_j z_i); then the unit's activation derivative
    with the bare output first (y_k (1 - y_k)); then other bare symbols; then the error factor (y_k - t_k);
    then sums; logs last.
    """
    role = role_of(f)
    if role is None and isinstance(f, sp.Symbol) and not f.name.startswith(("idx", "gidx_")):
        return (-1, 0)  # a constant such as the learning rate or the momentum factor leads: α Δw, η δ
    if role == "w":
        return (0, 0)
    if role == "delta":
        return (1, 0)
    if isinstance(f, (sp.Symbol, sp.Indexed)):
        inside = any(f in _mentions(g) for g in factors if g is not f)
        return (2, 0) if inside else (3, 0)  # y (t_1 + ... + t_K), t log y, δ_j z_i
    if isinstance(f, sp.log):
        return (7, 0)
    if isinstance(f, sp.Sum) or any(role_of(s) in ("w", "delta") for s in named_atoms(f)):
        return (5, 0)
    if any(role_of(s) == "t" for s in named_atoms(f)):
        return (4, 0)
    return (2, 1)


def vector(role: str, layer: int, rows: int, cols: int = 1) -> sp.MatrixSymbol:
    """The vector (for ``w`` the matrix) of one role in one layer, printed in the notation's bold forms.

    ``fprime`` is h'(a^(l)), the activation derivative applied elementwise.
    """
    return sp.MatrixSymbol(f"vec:{role}:{layer}", rows, cols)
