"""A few δ forms pinned in Bishop notation: the shapes textbooks print."""

from __future__ import annotations

import sympy as sp

from derive import derive, make_spec
from derive.render.printer import latex


def S(name):
    return sp.Symbol(name, real=True)


def test_sigmoid_sse_output_delta_is_error_times_y_one_minus_y():
    d = derive(make_spec("2-3-2"))
    y, t = S("y_1"), S("t_1")
    assert d.layers[-1].delta_forms[0] == (y - t) * y * (1 - y)
    assert latex(d.layers[-1].delta_forms[0]) == r"y_{1} \left(1 - y_{1}\right) \left(y_{1} - t_{1}\right)"


def test_softmax_ce_output_delta_is_y_minus_t_under_sum_of_targets_one():
    d = derive(make_spec("2-3-3", "tanh,softmax", "ce"))
    for k, form in enumerate(d.layers[-1].delta_forms, start=1):
        assert form == S(f"y_{k}") - S(f"t_{k}")
    assert d.assumptions and "sum to one" in d.assumptions[0]


def test_softmax_ce_delta_without_the_assumption_keeps_the_sum_of_targets():
    """The y - t form comes from the assumption, not from a branch: drop it and the sum stays."""
    from derive.core import units

    saved = dict(units.TARGET_ASSUMPTIONS)
    units.TARGET_ASSUMPTIONS.clear()
    try:
        d = derive(make_spec("2-3-3", "tanh,softmax", "ce"))
    finally:
        units.TARGET_ASSUMPTIONS.update(saved)
    y1, t1, t2, t3 = S("y_1"), S("t_1"), S("t_2"), S("t_3")
    assert sp.expand(d.layers[-1].delta_forms[0] - (y1 * (t1 + t2 + t3) - t1)) == 0


def test_hidden_delta_is_derivative_times_weighted_sum_of_upper_deltas():
    d = derive(make_spec("2-3-2", "tanh,linear"))
    z = S("z_1_2")
    upper = S("delta_2_1") * S("w_2_1_2") + S("delta_2_2") * S("w_2_2_2")
    assert sp.expand(d.layers[0].delta_forms[1] - (1 - z**2) * upper) == 0
    assert latex(d.equation("delta-1").rhs) == (
        # Bishop's (5.56): h' first, then the sum of w_kj δ_k; the square of a superscripted symbol in brackets
        r"\left(1 - \left(z^{(1)}_{j}\right)^{2}\right) \sum_{k=1}^{2} {w^{(2)}_{kj}} {\delta^{(2)}_{k}}"
    )


def test_weight_gradient_is_delta_times_input():
    d = derive(make_spec("2-3-2"))
    p = next(p for p in d.parameters if p.name == "w_2_1_3")
    assert p.gradient == S("delta_2_1") * S("z_1_3")
    assert p.key == "W2" and p.index == (0, 2)


def test_activation_derivatives_found_in_terms_of_the_output():
    from derive.core.calculus import Y, elementwise

    assert sp.expand(elementwise("sigmoid").fprime_out - Y * (1 - Y)) == 0
    assert sp.expand(elementwise("tanh").fprime_out - (1 - Y**2)) == 0
    assert sp.expand(elementwise("softplus").fprime_out - (1 - sp.exp(-Y))) == 0
    assert elementwise("relu").fprime_out is None


def test_bce_with_sigmoid_gives_y_minus_t():
    d = derive(make_spec("2-2", "sigmoid", "bce"))
    assert d.layers[-1].delta_forms[1] == S("y_2") - S("t_2")
