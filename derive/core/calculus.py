"""Local calculus: derivatives of activations and losses, rewritten in outputs.

Everything here is computed by SymPy from the definitions in
:mod:`derive.core.activations`; there is no table of known derivatives.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import sympy as sp

from derive.core import activations, stored
from derive.core.patterns import Patterns

A = sp.Symbol("A", real=True)  # a generic pre-activation
Y = sp.Symbol("Y", real=True)  # a generic unit output


@dataclass(frozen=True)
class ActivationCalculus:
    """f, f' and (where one exists) f' written as a function g of the output: f'(a) = g(f(a))."""

    name: str
    f: sp.Expr  # in A
    fprime: sp.Expr  # in A
    fprime_out: sp.Expr | None  # in Y, or None when f' is not a function of f
    how: str  # how the output form was found (for the verification appendix)
    inverse: sp.Expr | None = None  # A in terms of Y, where the rewrite solved Y = f(A)


def _proved_zero(expr: sp.Expr) -> bool:
    return sp.simplify(expr) == 0


def _candidates(g: sp.Expr) -> list[sp.Expr]:
    return [tidy(sp.factor(g), {Y}), sp.expand(g), sp.simplify(g)]


@cache
@stored.remembered(Path(__file__), Path(activations.__file__))  # the same on every run: kept between runs
def elementwise(name: str) -> ActivationCalculus:
    """Differentiate an elementwise activation and look for f' as a function of f.

    Two routes, both checked by SymPy afterwards: substitute Y for every
    occurrence of f(A) in f'(A) (works where f' is already written with f, as
    for tanh); otherwise solve Y = f(A) for A and substitute the inverse
    (sigmoid, softplus). A rewrite is kept only if g(f(A)) - f'(A) simplifies to 0.

    >>> elementwise("sigmoid").fprime_out
    Y*(1 - Y)
    >>> elementwise("tanh").fprime_out
    1 - Y**2
    >>> elementwise("relu").fprime_out is None
    True
    """
    f = activations.ELEMENTWISE[name](A)
    fprime = sp.diff(f, A)
    found: list[tuple[sp.Expr, str, sp.Expr | None]] = []
    direct = fprime.subs(f, Y)
    if A not in direct.free_symbols:
        found.append((direct, "substituting y for f(a) in f'(a)", None))
    else:
        try:
            inverses = sp.solve(sp.Eq(Y, f), A)
        except (NotImplementedError, ValueError):
            inverses = []
        for inv in inverses:
            g = sp.simplify(fprime.subs(A, inv))
            if A not in g.free_symbols:
                found.append((g, f"solving y = f(a) for a = {sp.sstr(inv)} and substituting", inv))
    for g, how, inv in found:
        if _proved_zero(g.subs(Y, f) - fprime):
            best = min(_candidates(g), key=sp.count_ops)
            return ActivationCalculus(name, f, fprime, best, how, inv)
    return ActivationCalculus(name, f, fprime, None, "f'(a) is not a function of f(a); kept in terms of a")


def tidy(expr: sp.Expr, prefer: set[sp.Symbol]) -> sp.Expr:
    """Orient the sums in a product the way textbooks write them.

    A factor ``y - 1`` becomes ``1 - y`` (positive constant first) and ``t - y``
    becomes ``y - t`` (a symbol from ``prefer`` positive), with the sign moved
    to the coefficient. The value never changes.

    >>> y, t = sp.symbols("y t")
    >>> tidy(y * (y - 1) * (t - y), {y})
    y*(1 - y)*(-t + y)
    """
    if isinstance(expr, sp.Add):
        return sp.Add(*[tidy(term, prefer) for term in expr.args])
    if not isinstance(expr, sp.Mul):
        return expr
    sign = 1
    factors = []
    for factor in expr.args:
        base, exp = factor.as_base_exp()
        if isinstance(base, sp.Add) and exp.is_Integer and _wants_flip(base, prefer):
            sign = -sign if int(exp) % 2 else sign
            factors.append(sp.Add(*[-term for term in base.args]) ** exp)
        else:
            factors.append(factor)
    return sign * sp.Mul(*factors)


def _wants_flip(s: sp.Add, prefer: set[sp.Symbol]) -> bool:
    const = s.as_coeff_Add()[0]
    if const != 0:
        return bool(const < 0)
    for term in s.args:
        coeff, rest = term.as_coeff_Mul()
        if rest in prefer:
            return bool(coeff < 0)
    return False


def jacobian_to_outputs(
    outputs: list[sp.Expr], a: list[sp.Symbol], y: list[sp.Symbol], name: str, columns: list[int] | None = None
) -> tuple[dict[tuple[int, int], sp.Expr], str]:
    """dy_m/da_k for one layer, written in the outputs y where possible.

    Returns the nonzero entries ``{(m, k): expr}`` (of the columns k in
    ``columns`` only, if given) and a sentence on how the rewrite was found.
    Elementwise layers are recognised by dependency (output m depends on a_m
    alone), normalised layers (softmax) by their common denominator S:
    y_m = n_m / S is solved for n_m = S y_m and substituted.
    """
    entries: dict[tuple[int, int], sp.Expr] = {}
    a_set = set(a)
    elementwise_layer = all(out.free_symbols & a_set <= {a[m]} for m, out in enumerate(outputs))
    if elementwise_layer:
        calc = elementwise(name)
        for m, am in enumerate(a):
            if calc.fprime_out is not None:
                entries[(m, m)] = calc.fprime_out.subs(Y, y[m])
            else:
                entries[(m, m)] = calc.fprime.subs(A, am)
        return entries, calc.how
    numerators, denominators = zip(*(sp.fraction(out) for out in outputs))
    if len(set(denominators)) != 1:
        raise NotImplementedError(f"activation {name}: outputs are neither elementwise nor normalised")
    S = sp.Symbol("S", positive=True)
    total = denominators[0]
    # name each numerator so SymPy cannot merge exp(a)*exp(a) into exp(2a)
    n_syms = [sp.Symbol(f"n{i}", positive=True) for i in range(len(a))]
    named = dict(zip(numerators, n_syms))
    solve = Patterns(lambda zero, var: sp.solve(zero, var)[0])  # one equation per unit, one pattern
    solved = {n_syms[i]: solve(y[i] - n_syms[i] / S, n_syms[i]) for i in range(len(a))}
    ks = range(len(a)) if columns is None else columns
    # dS/da_k from the definition of S, once per k (S has a term per unit)
    ds = {k: sp.diff(total, a[k]).xreplace(named) for k in ks}
    for m in range(len(outputs)):
        for k in ks:
            # quotient rule with S kept as a named intermediate
            dn = sp.diff(numerators[m], a[k]).xreplace(named)
            entry = sp.expand((dn / S - n_syms[m] * ds[k] / S**2).xreplace(solved))
            if entry != 0:
                entries[(m, k)] = entry
    return entries, "writing y_m = n_m / S, solving for n_m = S y_m and substituting in the quotient rule"


def gradient(expr: sp.Expr, xs: list[sp.Symbol]) -> list[sp.Expr]:
    """``[sp.diff(expr, x) for x in xs]``, each derivative taken of the terms that contain ``x`` only.

    An error is a sum with one term per output; differentiating the whole sum by
    each output costs time quadratic in the number of outputs. By linearity the
    derivative by ``x`` is the sum of the derivatives of the terms that contain
    ``x``, so each term is differentiated by its own symbols, a cost linear in
    the size of ``expr``; terms that differ only in their symbols' names are
    differentiated once (:class:`derive.core.patterns.Patterns`). A factor free of
    every ``x`` (the ½ of the squared error) stays outside.

    >>> y1, y2 = sp.symbols("y1 y2")
    >>> gradient(sp.Rational(1, 2) * (y1**2 + y2**3), [y1, y2])
    [y1, 3*y2**2/2]
    """
    wanted = set(xs)
    coeff, body = sp.Integer(1), expr
    if isinstance(expr, sp.Mul):
        free = [f for f in expr.args if not (f.free_symbols & wanted)]
        rest = [f for f in expr.args if f.free_symbols & wanted]
        if len(rest) == 1:
            coeff, body = sp.Mul(*free), rest[0]
    terms: dict[sp.Symbol, list[sp.Expr]] = {x: [] for x in xs}
    for term in sp.Add.make_args(body):
        for x in term.free_symbols & wanted:
            terms[x].append(term)
    diff = Patterns(sp.diff)  # the terms of different outputs are one pattern
    return [coeff * sp.Add(*[diff(term, x) for term in terms[x]]) for x in xs]
