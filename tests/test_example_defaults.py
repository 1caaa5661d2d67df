"""The default worked example teaches: no dead hidden units, a step that lowers the error without wiping
it out, and a bar chart of the gradient per layer.

Every expected number comes from an independent reference: the forward pass written here in
autograd's numpy, and its gradient from autograd.
"""

from __future__ import annotations

import re

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

from derive import make_spec
from derive.pipeline import derivation
from derive.render import example
from derive.render.latex import document

ACT = {
    "sigmoid": lambda a: 1 / (1 + anp.exp(-a)),
    "tanh": anp.tanh,
    "relu": lambda a: anp.maximum(a, 0.0),
    "softmax": lambda a: anp.exp(a) / anp.sum(anp.exp(a)),
}


def _pre_activations(spec, ex) -> list[np.ndarray]:
    """Each layer's pre-activations for the example (plain numpy)."""
    z, out = np.asarray(ex.x, float), []
    for l, act in enumerate(spec.activations, start=1):
        a = np.asarray(ex.params[f"W{l}"], float) @ z + (np.asarray(ex.params[f"b{l}"]) if spec.bias else 0.0)
        out.append(a)
        z = np.asarray(ACT[act](a), float)
    return out


def _error(spec, ex):
    """E(params) of the example's one sample, params as a dict of arrays (differentiable by autograd)."""
    x, t = anp.asarray(ex.x, float), anp.asarray(ex.t, float)

    def E(params):
        z = x
        for l, act in enumerate(spec.activations, start=1):
            a = anp.dot(params[f"W{l}"], z) + (params[f"b{l}"] if spec.bias else 0.0)
            z = ACT[act](a)
        if spec.loss == "ce":
            return -anp.sum(t * anp.log(z))
        return 0.5 * anp.sum((z - t) ** 2)

    return E


def _arrays(ex) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, float) for k, v in ex.params.items()}


RELU_NETS = [
    ("relu-softmax-343", "3-4-3", "relu,softmax", "ce", True),
    ("relu-deep", "4-8-8-3", "relu,relu,softmax", "ce", True),
    ("relu-232", "2-3-2", "relu", "sse", True),
    ("relu-nobias", "3-6-5-2", "relu,relu,sigmoid", "sse", False),
    ("relu-wide", "5-20-3", "relu,softmax", "ce", True),
]


@pytest.mark.parametrize("arch,act,loss,bias", [n[1:] for n in RELU_NETS], ids=[n[0] for n in RELU_NETS])
def test_no_hidden_relu_is_dead_in_the_default_example(arch, act, loss, bias):
    spec = make_spec(arch, act, loss, bias=bias)
    pre = _pre_activations(spec, example.seeded(spec))
    for l, a in enumerate(pre[:-1], start=1):
        assert np.all(a > 0), f"layer {l}: pre-activations {a.tolist()} include one at or below zero"


def test_revived_numbers_stay_round():
    ex = example.seeded(make_spec("4-8-8-3", "relu,relu,softmax", "ce"))
    for rows in ex.params.values():
        flat = np.ravel(rows)
        assert np.allclose(flat, np.round(flat, 2), atol=1e-12, rtol=0)


STEP_NETS = [
    ("232", "2-3-2", "sigmoid", "sse", True),
    ("2332-tanh-softmax", "2-3-3-2", "tanh,tanh,softmax", "ce", True),
    ("relu-softmax-343", "3-4-3", "relu,softmax", "ce", True),
    ("221-nobias", "2-2-1", "sigmoid", "sse", False),
    ("mnist-sized", "784-128-64-10", "sigmoid", "sse", True),
]


@pytest.mark.parametrize("arch,act,loss,bias", [n[1:] for n in STEP_NETS], ids=[n[0] for n in STEP_NETS])
def test_one_default_step_lowers_the_error_without_collapsing_it(arch, act, loss, bias):
    spec = make_spec(arch, act, loss, bias=bias)
    ex = example.default(derivation(spec))
    E = _error(spec, ex)
    params = _arrays(ex)
    g = grad(E)(params)
    before = E(params)
    after = E({k: params[k] - ex.lr * g[k] for k in params})
    assert after < before
    assert after > 0.1 * before, f"lr {ex.lr}: the error fell from {before} to {after} in one step"


def test_the_bar_chart_shows_each_layers_gradient_norm():
    spec = make_spec("2-3-3-2", "tanh,tanh,softmax", "ce")
    d = derivation(spec)
    tex = document.render(d)
    figure = tex[tex.index(r"\begin{axis}[ybar") : tex.index(r"\label{fig:gradnorms}")]
    bars = [(int(l), float(v)) for l, v in re.findall(r"\(([0-9]+),([-0-9.e+]+)\)", figure)]
    ex = example.default(d)
    g = grad(_error(spec, ex))(_arrays(ex))
    want = [np.sqrt(np.sum(g[f"W{l}"] ** 2) + np.sum(g[f"b{l}"] ** 2)) for l in range(1, spec.n_layers + 1)]
    assert [l for l, _ in bars] == [1, 2, 3]
    np.testing.assert_allclose([v for _, v in bars], want, rtol=1e-5)


def test_large_nets_state_their_slice_instead_of_a_calculator():
    d = derivation(make_spec("20-8-3"))
    tex = document.render(d)
    section = tex[tex.index(r"\section{A worked example}") :]
    assert "calculator:" in section and "stated slice" in section
    assert "can be\nfollowed with a calculator" not in section and "can be followed with a calculator" not in section
