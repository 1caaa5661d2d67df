"""The activation functions and losses, as SymPy expressions and nothing else.

This module states *definitions* only. Every derivative, and every rewrite of a
derivative in terms of the unit's output, is computed from these definitions by
:mod:`derive.core.calculus`.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

Expr = sp.Expr

#: Elementwise activations y = f(a).
ELEMENTWISE: dict[str, Callable[[Expr], Expr]] = {
    "sigmoid": lambda a: 1 / (1 + sp.exp(-a)),
    "tanh": sp.tanh,
    "relu": lambda a: sp.Max(0, a),
    # slope 1/100 for a < 0, written so that its derivative is a Heaviside step
    "leaky_relu": lambda a: a / 100 + sp.Rational(99, 100) * sp.Max(0, a),
    "softplus": lambda a: sp.log(1 + sp.exp(a)),
    "linear": lambda a: a,
}

#: Short descriptions for the document.
DESCRIPTIONS = {
    "sigmoid": "logistic sigmoid",
    "tanh": "hyperbolic tangent",
    "relu": "rectified linear unit",
    "leaky_relu": "leaky rectified linear unit (slope 1/100 below zero)",
    "softplus": "softplus",
    "linear": "identity (linear)",
    "softmax": "softmax",
}


def softmax_numerators(a: list[Expr]) -> list[Expr]:
    """Softmax is y_k = exp(a_k) / S with S = sum_m exp(a_m); these are the numerators."""
    return [sp.exp(ak) for ak in a]


def apply(name: str, a: list[Expr]) -> list[Expr]:
    """The layer's outputs as expressions of its pre-activations."""
    if name == "softmax":
        nums = softmax_numerators(a)
        total = sp.Add(*nums)
        return [num / total for num in nums]
    f = ELEMENTWISE[name]
    return [f(ak) for ak in a]


def loss_term(name: str, y: Expr, t: Expr) -> Expr:
    """The contribution of one output unit to the error of one sample."""
    if name == "sse":
        return sp.Rational(1, 2) * (t - y) ** 2
    if name == "mse":
        return (t - y) ** 2
    if name == "ce":
        return -t * sp.log(y)
    if name == "bce":
        return -(t * sp.log(y) + (1 - t) * sp.log(1 - y))
    raise KeyError(name)


def loss_scale(name: str, n_out: int) -> Expr:
    """The factor in front of the sum over outputs (1/K for the mean)."""
    return sp.Rational(1, n_out) if name == "mse" else sp.Integer(1)


def loss_expression(name: str, y: list[Expr], t: list[Expr]) -> Expr:
    """The error of one sample, E(y, t) = scale * sum_k term(y_k, t_k)."""
    return loss_scale(name, len(y)) * sp.Add(*[loss_term(name, yk, tk) for yk, tk in zip(y, t)])
