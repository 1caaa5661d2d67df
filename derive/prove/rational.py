"""A fast zero test for a rational function of symbols, without polynomial gcds.

The symbolic proof names every function application of a difference by a
symbol (:class:`derive.prove.symbolic._Namer`); what is left is a rational
function of those symbols, and the difference is proved zero when it cancels
to 0. ``sympy.cancel(sympy.together(...))`` decides that by computing gcds of
large polynomials, most of the proof's time.

A zero test needs no gcd. Write the expression as N / D where D is the product
of the denominators of its terms, each raised to the highest power any term
needs (a common denominator, not the least one) and N the sum of the
numerators, each multiplied by the part of D its own denominator lacks. D is a
product of polynomials that appear as denominators in the expression, so it is
not the zero polynomial where the expression is defined; hence the expression
is 0 exactly when the polynomial N is 0. All arithmetic is on sparse
polynomials over the rationals (:func:`sympy.ring`), exact.

:func:`is_zero` answers None (undecided) where that route does not apply: a
power with an exponent that is not an integer, a float, or a numerator that
grows past :data:`MAX_TERMS` terms. The caller then falls back to
``sympy.cancel``.
"""

from __future__ import annotations

import sympy as sp

#: A numerator with more terms than this gives up (the caller cancels instead).
MAX_TERMS = 20_000


class _Undecided(Exception):
    """The expression is outside what this test handles."""


def is_zero(expr: sp.Expr, max_terms: int = MAX_TERMS) -> bool | None:
    """True if ``expr`` is identically 0 as a rational function, False if not, None if undecided.

    Every subexpression that is not a sum, a product, an integer power, a
    rational number or a symbol is one indeterminate (as ``sympy.cancel``
    treats it), so True and False agree with ``cancel(together(expr)) == 0``.

    >>> x, y = sp.symbols("x y")
    >>> is_zero(1 / (x + y) - x / (x**2 + x * y))
    True
    >>> is_zero(1 / (x + y) - 1 / x)
    False
    >>> is_zero(sp.sqrt(x) - x) is None
    True
    """
    atoms: dict[sp.Expr, int] = {}
    try:
        _collect(expr, atoms)
    except _Undecided:
        return None
    if not atoms:
        return sp.nsimplify(expr) == 0 if expr.is_number else None
    ring, *gens = sp.ring([sp.Dummy(f"g{i}") for i in range(len(atoms))], sp.QQ)
    try:
        num, _den = _Fraction(ring, gens, atoms, max_terms).convert(expr)
    except _Undecided:
        return None
    return not num


def _collect(expr: sp.Expr, atoms: dict[sp.Expr, int]) -> None:
    """Number every indeterminate of ``expr``, in the order first met; raise _Undecided outside the test."""
    stack = [expr]
    seen: set[sp.Expr] = set()
    while stack:
        e = stack.pop()
        if e in seen:
            continue
        seen.add(e)
        if e.is_Rational:
            continue
        if e.is_Number:  # a float: leave it to cancel
            raise _Undecided
        if e.is_Add or e.is_Mul:
            stack.extend(e.args)
        elif e.is_Pow and e.exp.is_Integer:
            stack.append(e.base)
        elif e.is_Pow and e.exp.is_number:
            raise _Undecided  # a fractional power ties two indeterminates together
        elif e not in atoms:
            atoms[e] = len(atoms)


class _Fraction:
    """Convert an expression to (numerator, {denominator factor: power}) over a polynomial ring."""

    def __init__(self, ring, gens, atoms: dict[sp.Expr, int], max_terms: int) -> None:
        self.ring, self.gens, self.atoms, self.max_terms = ring, gens, atoms, max_terms
        self.memo: dict[sp.Expr, tuple] = {}

    def convert(self, e: sp.Expr) -> tuple:
        if e not in self.memo:
            self.memo[e] = self._convert(e)
        return self.memo[e]

    def _check(self, poly):
        if len(poly) > self.max_terms:
            raise _Undecided
        return poly

    def _power(self, den: dict, k: int = 1):
        """The product of ``den``'s factors to their powers (each power times k)."""
        out = self.ring.one
        for factor, power in den.items():
            out = self._check(out * factor ** (power * k))
        return out

    def _convert(self, e: sp.Expr) -> tuple:
        if e.is_Rational:
            return self.ring(sp.QQ(int(e.p), int(e.q))), {}
        if e.is_Add:
            parts = [self.convert(a) for a in e.args]
            common: dict = {}
            for _, den in parts:
                for factor, power in den.items():
                    common[factor] = max(common.get(factor, 0), power)
            num = self.ring.zero
            for n, den in parts:
                rest = {f: p - den.get(f, 0) for f, p in common.items() if p > den.get(f, 0)}
                num = self._check(num + n * self._power(rest))
            return num, common
        if e.is_Mul:
            num, common = self.ring.one, {}
            for a in e.args:
                n, den = self.convert(a)
                num = self._check(num * n)
                for factor, power in den.items():
                    common[factor] = common.get(factor, 0) + power
            return num, common
        if e.is_Pow and e.exp.is_Integer:
            n, den = self.convert(e.base)
            k = int(e.exp)
            if k >= 0:
                return self._check(n**k), {f: p * k for f, p in den.items()}
            if not n:
                raise _Undecided  # division by zero: not a rational function
            # (n / D)^-k = D^k / n^k; a constant n is folded into the numerator
            num = self._power(den, -k)
            if n.is_ground:
                return self._check(num * (1 / n.LC) ** (-k)), {}
            return num, {n: -k}
        return self.gens[self.atoms[e]], {}
