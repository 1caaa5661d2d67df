"""The algebra of the document's chain-rule walk-throughs, as SymPy expressions (renderers only print them).

One output weight and one weight per hidden layer are followed through the chain rule;
each step shows a factor the Derivation already holds, brought into the form the page
prints: the softmax Jacobian factored, the products with ∂E/∂y summed and expanded, and
that sum collected on one output, where the assumption Σt = 1 enters.
"""

from __future__ import annotations

import sympy as sp

from derive.core import calculus
from derive.core.model import Derivation, Layer, Parameter


def input_factor(p: Parameter) -> sp.Expr:
    """∂a/∂θ of a parameter, read off its gradient δ·input (the core writes the gradient as that product)."""
    return p.gradient.as_independent(p.delta)[0]


def link(upper: Layer, k: int, z: sp.Symbol) -> sp.Expr:
    """∂a_k/∂z for unit k of the layer above: the coefficient of z in its pre-activation (a weight)."""
    return upper.pre[k].coeff(z)


def fprime_at(layer: Layer, a: sp.Symbol) -> sp.Expr:
    """f′ of the layer's activation at the pre-activation ``a``."""
    return layer.fprime.subs(calculus.A, a)


def fprime_out_at(layer: Layer, y: sp.Symbol) -> sp.Expr | None:
    """f′ written in the unit's output ``y`` (None where the activation has no such form)."""
    return None if layer.fprime_out is None else layer.fprime_out.subs(calculus.Y, y)


def softmax_column(layer: Layer) -> list[int]:
    """The outputs m whose ∂y_m/∂a_1 the Jacobian holds (0-based)."""
    return [m for m in range(layer.n_out) if (m, 0) in layer.jacobian]


def softmax_entry(layer: Layer, m: int) -> sp.Expr:
    """∂y_m/∂a_1 factored, its sums oriented as textbooks write them."""
    return calculus.tidy(sp.factor(layer.jacobian[m, 0]), set(layer.out))


def softmax_sum(d: Derivation, layer: Layer) -> sp.Expr:
    """δ_1 = Σ_m ∂E/∂y_m · ∂y_m/∂a_1, multiplied out."""
    return sp.expand(sp.Add(*[d.dE_dy[m] * layer.jacobian[m, 0] for m in softmax_column(layer)]))


def collected(total: sp.Expr, y: sp.Symbol) -> sp.Expr:
    """``total`` collected on the output ``y`` (with Σt = 1 this shows where the assumption enters)."""
    return sp.collect(total, y)
