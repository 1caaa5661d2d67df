"""Work done once per pattern must equal the work done on each expression."""

from __future__ import annotations

import pytest
import sympy as sp

from derive.core import activations, calculus, naming
from derive.core.patterns import Patterns
from derive.spec import LOSSES


def _outputs(n):
    y = [naming.symbol("y", 1, k) for k in range(1, n + 1)]
    t = [naming.symbol("t", 1, k) for k in range(1, n + 1)]
    return y, t


@pytest.mark.parametrize("loss", LOSSES)
def test_gradient_of_the_error_equals_sympys_derivative_of_the_whole_sum(loss):
    y, t = _outputs(12)  # 12 outputs: names y_1, y_10, y_11, y_12, y_2 sort out of numeric order
    E = activations.loss_expression(loss, y, t)
    grads = calculus.gradient(E, y)
    for yk, g in zip(y, grads):
        assert sp.simplify(g - sp.diff(E, yk)) == 0, yk


def test_gradient_keeps_cross_terms_of_symbols_that_share_a_term():
    a, b = sp.symbols("a b", real=True)
    expr = 3 * (a * b + a**2 + sp.sin(b))
    assert calculus.gradient(expr, [a, b]) == [sp.diff(expr, a), sp.diff(expr, b)]


def test_one_pattern_is_computed_once_and_renamed_back_exactly():
    y, t = _outputs(12)
    work = Patterns(lambda e, x, prefer: calculus.tidy(sp.factor(sp.diff(e, x)), set(prefer)))
    prefer = frozenset(y)
    terms = [sp.log(1 + sp.exp(-yk)) * tk + (yk - tk) ** 2 for yk, tk in zip(y, t)]
    got = [work(term, yk, prefer) for term, yk in zip(terms, y)]
    direct = [calculus.tidy(sp.factor(sp.diff(term, yk)), set(y)) for term, yk in zip(terms, y)]
    assert got == direct  # structurally equal: the same terms in the same order
    assert work.computed == 1


def test_patterns_distinguish_assumptions_and_ordered_marks():
    p, q = sp.Symbol("p", positive=True), sp.Symbol("q", real=True)
    work = Patterns(lambda e: sp.sqrt(e**2))
    assert work(p) == p and work(q) == sp.Abs(q)
    assert work.computed == 2
    y1, y2 = sp.symbols("y_1 y_2")
    order = Patterns(lambda e, outs: sp.Tuple(*outs))
    assert order(y1 + y2, {y2: 0, y1: 1}) == sp.Tuple(y2, y1)  # the positions of the dict, not the names


def test_output_deltas_of_a_wide_layer_share_one_pattern():
    from derive import make_spec
    from derive.core import units

    spec = make_spec("2-40", "sigmoid", "bce")
    x, layers = units.build_layers(spec)
    d = units.assemble(spec, x, layers)
    out = d.layers[-1]
    for k in (0, 9, 39):  # y_1, y_10, y_40: δ_k = y_k - t_k for sigmoid with cross-entropy
        assert sp.simplify(out.delta_forms[k] - (out.out[k] - d.targets[k])) == 0


@pytest.mark.parametrize("loss", ["ce", "sse"])
def test_carrying_the_first_unit_of_a_symmetric_softmax_layer_equals_deriving_each_unit(loss, monkeypatch):
    """The Jacobian and δs carried from unit 1 by swapping units equal the unit-by-unit derivation."""
    from derive import make_spec
    from derive.core import symbolic, symmetry, units

    spec = make_spec("2-5", "softmax", loss)
    direct = symbolic.derive(spec, per_layer=False)
    monkeypatch.setattr(units, "CARRY_ABOVE", 1)
    carried = symbolic.derive(spec, per_layer=False)
    out_d, out_c = direct.layers[-1], carried.layers[-1]
    assert isinstance(out_c.jacobian, symmetry.CarriedJacobian) and not isinstance(
        out_d.jacobian, symmetry.CarriedJacobian
    )
    assert set(out_c.jacobian) == set(out_d.jacobian)
    for key in out_d.jacobian:
        assert sp.expand(out_c.jacobian[key] - out_d.jacobian[key]) == 0, key
    for k, (fd, fc) in enumerate(zip(out_d.delta_forms, out_c.delta_forms)):
        assert sp.simplify(fd - fc) == 0, k


def test_a_layer_that_is_not_symmetric_is_not_carried():
    from derive.core import symmetry

    a = sp.symbols("a_1:5", real=True)
    S = sum(sp.exp(x) for x in a)
    soft = [sp.exp(x) / S for x in a]
    assert symmetry.is_symmetric(soft, [], [a])
    weighted = [sp.exp(2 * a[0]) / S] + soft[1:]  # unit 1 differs
    assert not symmetry.is_symmetric(weighted, [], [a])
    y, t = sp.symbols("y_1:5", real=True), sp.symbols("t_1:5", real=True)
    E = -sum(tk * sp.log(yk) for yk, tk in zip(y, t))
    assert symmetry.is_symmetric([], [E], [y, t])
    assert not symmetry.is_symmetric([], [E + y[0] ** 2], [y, t])
