"""Builders both outputs print from: how an activation's derivative was written, the matrix backward rule."""

from __future__ import annotations

import pytest
import sympy as sp

from derive.core import activations, calculus
from derive.pipeline import derivation
from derive.render import rules, steps
from derive.render.printing import vector
from derive.spec import make_spec

#: points inside every activation's output range (sigmoid (0, 1), softplus (0, ∞), tanh (-1, 1))
OUTPUTS = (0.2, 0.45, 0.8)
PRE_ACTIVATIONS = (-1.3, -0.4, 0.6, 2.1)


def _value(expr: sp.Expr, at: dict) -> float:
    return float(expr.xreplace(at).evalf(30))


@pytest.mark.parametrize("act", sorted(activations.ELEMENTWISE))
def test_how_the_derivative_was_written_is_true(act):
    """Each phrase's claim holds: f(inverse(y)) = y, f′ in the output equals f′ in a, else f′ as printed."""
    d = derivation(make_spec(arch="2-2-2", act=f"{act},softmax", loss="ce"))
    hidden, out = d.layers
    assert steps.how(out).kind == "softmax"
    how = steps.how(hidden)
    calc = calculus.elementwise(act)
    f = calc.f.xreplace({calculus.A: how.a})
    if how.kind == "inverse":
        for y in OUTPUTS:
            assert _value(f.xreplace({how.a: how.expr}), {how.y: sp.Float(y)}) == pytest.approx(y, rel=1e-12)
    elif how.kind == "output":
        for a in PRE_ACTIVATIONS:
            y = _value(f, {how.a: sp.Float(a)})
            by_a = _value(sp.diff(f, how.a), {how.a: sp.Float(a)})
            assert _value(calc.fprime_out, {calculus.Y: sp.Float(y)}) == pytest.approx(by_a, rel=1e-12)
    else:
        assert how.kind == "direct"
        for a in PRE_ACTIVATIONS:  # away from a kink at 0
            assert _value(how.expr, {how.a: sp.Float(a)}) == pytest.approx(
                _value(sp.diff(f, how.a), {how.a: sp.Float(a)}), rel=1e-12
            )


def _slope(layer, j: int) -> sp.Expr:
    """h′(a_j) of a hidden unit written in its output z_j, as the δ forms write it."""
    return calculus.elementwise(layer.activation).fprime_out.xreplace({calculus.Y: layer.out[j]})


@pytest.mark.parametrize("arch,act", [("2-3-2", "sigmoid"), ("3-4-2-2", "tanh,sigmoid,sigmoid")])
def test_matrix_backward_rule_gives_each_delta(arch, act):
    """h′(a) ⊙ Wᵀδ, written out with this net's matrices, is each hidden δ form (Wᵀ, not W)."""
    d = derivation(make_spec(arch=arch, act=act))
    for layer in d.layers[:-1]:
        up = d.layers[layer.index]
        fprime = [sp.Symbol(f"fprime_{j}") for j in range(layer.n_out)]
        explicit = rules.backward_matrix(d, layer).xreplace(
            {
                vector("fprime", layer.index, layer.n_out): sp.ImmutableMatrix(fprime),
                vector("w", up.index, up.n_out, up.n_in): sp.ImmutableMatrix(up.weights),
                vector("delta", up.index, up.n_out): sp.ImmutableMatrix(up.delta),
            }
        )
        explicit = sp.Matrix(explicit.doit())
        assert explicit.shape == (layer.n_out, 1)
        for j, form in enumerate(layer.delta_forms):
            slope = _slope(layer, j)
            assert sp.simplify(explicit[j].xreplace({fprime[j]: slope}) - form) == 0
