"""Numerically stable forms of the trainer's expressions, as SymPy rewrites.

:func:`stabilize` rewrites node types that overflow in floating point into
named functions with stable numeric forms: ``1/(1 + exp(-u))`` becomes
:class:`Logistic`, ``log(1 + exp(u))`` :class:`Softplus`, an ``exp(u)``
divided by a sum of exps ``exp(u - LogSumExp(...))``, and an ``exp(v)`` that
multiplies a sum containing exps is moved into that sum (so
``exp(-y)*(1 - exp(y))`` never computes ``exp(y)``). Every rewrite is an
identity; nothing is differentiated. :mod:`derive.render.trainer.printer` prints the result.
"""

from __future__ import annotations

import sympy as sp
from sympy.codegen.cfunctions import expm1


class Logistic(sp.Function):
    """σ(u) = 1/(1 + exp(-u)), printed without overflow."""

    nargs = 1
    is_real = True


class Softplus(sp.Function):
    """log(1 + exp(u)), printed as ``logaddexp(0, u)``."""

    nargs = 1
    is_real = True


class LogSumExp(sp.Function):
    """log(sum_m exp(u_m)) of the exponents given as arguments."""

    is_real = True


class LogSumExpOver(sp.Function):
    """log(sum_p exp(u)) over a unit index p: arguments (u, p, low, high)."""

    is_real = True


def _exp_arg(e: sp.Expr) -> sp.Expr | None:
    return e.args[0] if isinstance(e, sp.exp) else None


def _lse_of(s: sp.Expr) -> sp.Expr | None:
    """LogSumExp of a sum of exps (concrete Add or generic Sum), else None."""
    if isinstance(s, sp.Add) and all(isinstance(t, sp.exp) for t in s.args):
        return LogSumExp(*[t.args[0] for t in s.args])
    if isinstance(s, sp.Sum) and isinstance(s.function, sp.exp) and len(s.limits) == 1:
        p, lo, hi = s.limits[0]
        return LogSumExpOver(s.function.args[0], p, lo, hi)
    return None


def _one_plus_exp(s: sp.Expr) -> sp.Expr | None:
    """v when s is 1 + exp(v)."""
    if isinstance(s, sp.Add) and len(s.args) == 2 and sp.S.One in s.args:
        other = s.args[0] if s.args[1] == 1 else s.args[1]
        return _exp_arg(other)
    return None


def _rule(e: sp.Expr) -> sp.Expr:
    if isinstance(e, sp.Pow) and e.exp == -1:
        v = _one_plus_exp(e.base)
        if v is not None:
            return Logistic(-v)
    if isinstance(e, sp.log):
        (arg,) = e.args
        if isinstance(arg, sp.exp):
            return arg.args[0]
        v = _one_plus_exp(arg)
        if v is not None:
            return Softplus(v)
        if isinstance(arg, Logistic):
            return -Softplus(-arg.args[0])
    if isinstance(e, sp.Add) and sp.S.One in e.args:
        for term in e.args:
            if isinstance(-term, Logistic):  # 1 - σ(u) = σ(-u)
                rest = [t for t in e.args if t not in (sp.S.One, term)]
                return sp.Add(Logistic(-(-term).args[0]), *rest)
    if isinstance(e, sp.Mul):
        return _rule_mul(e)
    return e


def _rule_expm1(e: sp.Add) -> sp.Expr:
    """exp(u) - 1 -> expm1(u) and 1 - exp(u) -> -expm1(u): no cancellation for small u."""
    const, rest = e.as_coeff_Add()
    if const not in (1, -1):
        return e
    for term in sp.Add.make_args(rest):
        if isinstance(-const * term, sp.exp):  # the exp term has the opposite sign of the constant
            others = [t for t in sp.Add.make_args(rest) if t is not term]
            return sp.Add(-const * expm1((-const * term).args[0]), *others)
    return e


def _rule_mul(e: sp.Mul) -> sp.Expr:
    factors = list(e.args)
    exps = [f for f in factors if isinstance(f, sp.exp)]
    for f in factors:
        if isinstance(f, sp.Pow) and f.exp == -1 and exps:
            lse = _lse_of(f.base)
            if lse is not None:  # exp(u) / sum_m exp(u_m) = exp(u - lse)
                num = exps[0]
                rest = [g for g in factors if g is not f and g is not num]
                return sp.Mul(sp.exp(num.args[0] - lse), *rest)
    for f in factors:
        if isinstance(f, sp.Add) and exps and any(t.has(sp.exp) for t in f.args):
            num = exps[0]
            moved = sp.Add(*[sp.powsimp(num * t) for t in f.args])
            rest = [g for g in factors if g is not f and g is not num]
            return sp.Mul(moved, *rest)
    return e


def stabilize(expr: sp.Expr) -> sp.Expr:
    """Rewrite ``expr`` bottom-up into forms that do not overflow (see the module docstring).

    >>> a = sp.Symbol("a", real=True)
    >>> stabilize(sp.log(1 - 1 / (1 + sp.exp(-a))))
    -Softplus(a)
    >>> stabilize(1 - sp.exp(-a))
    -expm1(-a)
    """
    # expm1 last: exp(-y)*(1 - exp(y)) must first become 1 - exp(-y), or expm1(y) would overflow
    return _walk(expr).replace(lambda e: isinstance(e, sp.Add), _rule_expm1)


def _walk(e: sp.Expr) -> sp.Expr:
    if e.is_Atom or isinstance(e, sp.Indexed):
        return e
    if isinstance(e, sp.Sum):
        return _rule(sp.Sum(_walk(e.function), *e.limits))
    args = [_walk(a) for a in e.args]
    if args != list(e.args):
        e = e.func(*args)
    return _rule(e)
