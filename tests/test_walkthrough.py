"""The algebra of the chain-rule walk-throughs (derive.core.walkthrough) against SymPy's own derivatives."""

from __future__ import annotations

import pytest
import sympy as sp

from derive.core import walkthrough
from derive.pipeline import derivation
from derive.spec import make_spec


@pytest.fixture(scope="module")
def softmax_ce():
    return derivation(make_spec("2-3-3", "relu,softmax", "ce"))


def test_softmax_sum_is_y_minus_t_once_the_targets_sum_to_one(softmax_ce):
    d = softmax_ce
    out = d.layers[-1]
    total = walkthrough.softmax_sum(d, out)
    t = d.targets
    on_simplex = {t[-1]: 1 - sp.Add(*t[:-1])}
    assert sp.simplify((total - (out.out[0] - t[0])).subs(on_simplex)) == 0
    assert sp.expand(walkthrough.collected(total, out.out[0]) - total) == 0  # collecting keeps the value
    assert sp.simplify(walkthrough.softmax_entry(out, 0) - out.out[0] * (1 - out.out[0])) == 0


def test_links_and_input_factors_are_the_derivatives_they_name(softmax_ce):
    d = softmax_ce
    hidden, upper = d.layers[0], d.layers[1]
    z = hidden.out[0]
    for k in range(upper.n_out):
        assert walkthrough.link(upper, k, z) == sp.diff(upper.pre[k], z) == upper.weights[k][0]
    for p in d.parameters:
        layer = d.layers[p.layer - 1]
        a = layer.pre[p.index[0]]
        assert walkthrough.input_factor(p) == sp.diff(a, p.symbol)
