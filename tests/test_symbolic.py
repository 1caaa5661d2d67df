"""The symbolic core: every δ form proved, and numerically equal to finite differences of E."""

from __future__ import annotations

import functools
import itertools
import zlib

import numpy as np
import pytest
import sympy as sp
from gradcheck import assert_close, central_difference

from derive import SpecError, derive, make_spec, verify
from derive.spec import ACTIVATIONS, LOSSES

ARCHS = ["1-1", "2-2-2", "2-3-2", "3-4-4-2"]
#: The deep net's proofs take seconds each, so it runs a covering set rather than the full product:
#: every activation, every loss and both bias settings appear (the shallow nets run everything).
DEEP = "3-4-4-2"
DEEP_CASES = {
    ("sigmoid", "sse", True),
    ("sigmoid", "bce", False),
    ("tanh", "mse", True),
    ("relu", "sse", False),
    ("leaky_relu", "mse", False),
    ("softplus", "sse", True),
    ("linear", "mse", False),
    ("softmax", "ce", True),
    ("softmax", "mse", False),
}


def _cases():
    for arch, act, loss, bias in itertools.product(ARCHS, ACTIVATIONS, LOSSES, (True, False)):
        if arch == DEEP and (act, loss, bias) not in DEEP_CASES:
            continue
        n_layers = arch.count("-")
        acts = ",".join(["sigmoid"] * (n_layers - 1) + ["softmax"]) if act == "softmax" else act
        try:
            make_spec(arch, acts, loss, bias=bias)
        except SpecError:
            continue
        yield pytest.param(arch, acts, loss, bias, id=f"{arch}-{acts}-{loss}-{'bias' if bias else 'nobias'}")


def test_the_deep_covering_set_covers_every_activation_loss_and_bias_setting():
    acts, losses, biases = (set(column) for column in zip(*DEEP_CASES))
    assert acts == set(ACTIVATIONS) and losses == set(LOSSES) and biases == {True, False}
    assert sum(1 for c in _cases() if c.values[0] == DEEP) == len(DEEP_CASES)  # every one is a valid spec


@functools.cache
def _derived(arch, act, loss, bias):
    """Unit by unit and proved symbolically, whatever the default for this size (the symbolic core under test)."""
    return verify(derive(make_spec(arch, act, loss, bias=bias), per_layer=False), "symbolic")


def _point(d, rng):
    """Random parameters, inputs and targets (one-hot for cross-entropy), away from relu kinks."""
    values = {s: rng.normal() for s in d.inputs}
    for layer in d.layers:
        for row in layer.weights:
            values.update({w: rng.normal() for w in row})
        values.update({b: rng.normal() for b in layer.biases or []})
    if d.spec.loss == "ce":
        hot = rng.integers(len(d.targets))
        values.update({t: float(k == hot) for k, t in enumerate(d.targets)})
    else:
        values.update({t: rng.uniform(0.05, 0.95) for t in d.targets})
    return values


def _forward_and_deltas(d, values):
    """Evaluate a, z, y layer by layer, then the δ forms, from the Derivation's local expressions."""
    v = dict(values)
    for layer in d.layers:
        for aj, pre in zip(layer.a, layer.pre):
            v[aj] = float(pre.xreplace(v))
        for out, act in zip(layer.out, layer.act):
            v[out] = float(act.xreplace(v))
    for layer in reversed(d.layers):
        for dj, form in zip(layer.delta, layer.delta_forms):
            v[dj] = float(sp.N(form.xreplace(v)))
    return v


@pytest.mark.parametrize("arch,act,loss,bias", list(_cases()))
def test_every_parameter_proved_and_matches_finite_differences(arch, act, loss, bias):
    d = _derived(arch, act, loss, bias)
    assert all(p.proof is not None and p.proof.method.startswith("symbolic") for p in d.parameters), d.proof_summary
    assert len(d.parameters) == d.spec.n_parameters

    from derive.prove.symbolic import expansions

    full = expansions(d)
    thetas = [p.symbol for p in d.parameters]
    E = sp.lambdify([thetas, d.inputs, d.targets], d.loss.xreplace(full), modules="math")
    rng = np.random.default_rng(zlib.crc32(f"{arch}{act}{loss}{bias}".encode()))
    checked = 0
    while checked < 2:
        values = _point(d, rng)
        v = _forward_and_deltas(d, values)
        if "relu" in act and any(abs(v[a]) < 1e-3 for layer in d.layers for a in layer.a):
            continue  # too close to a kink for a finite difference
        got = np.array([float(p.gradient.xreplace(v)) for p in d.parameters])
        x = [values[s] for s in d.inputs]
        t = [values[s] for s in d.targets]
        theta0 = np.array([values[s] for s in thetas])
        want = central_difference(lambda th, x=x, t=t: E(list(th), x, t), theta0)
        assert_close(got, want, what=f"{arch} {act} {loss}")
        checked += 1


@pytest.mark.parametrize("narrow", ["1-1", "2-1-2", "1-2-1", "1-1-1"])
def test_one_unit_layers_have_the_rules_of_wider_layers(narrow):
    """A layer of one unit gets the same per-layer rule as a wide one (no KroneckerDelta(1, i), no x[1])."""
    from derive.core.perlayer import widen

    wide = "-".join("3" for _ in narrow.split("-"))
    d, w = derive(make_spec(narrow)), derive(make_spec(wide))
    for eq in d.equations:
        assert not eq.rhs.has(sp.KroneckerDelta), (eq.id, eq.rhs)
        assert widen(eq.rhs, w.spec.sizes) == w.equation(eq.id).rhs, eq.id


@pytest.mark.parametrize("name", ["sigmoid", "softplus"])
def test_the_recorded_inverse_inverts_the_activation(name):
    from derive.core import calculus

    calc = calculus.elementwise(name)
    assert calc.inverse is not None
    assert sp.simplify(calc.f.subs(calculus.A, calc.inverse) - calculus.Y) == 0


def test_the_document_states_the_inverse_in_math():
    from derive.render.latex import document

    tex = document.render(verify(derive(make_spec("2-3-2"))))
    # the logit, in the document's own symbols of the hidden layer (Bishop: z = h(a))
    z, a = "{z^{(1)}_{j}}", "{a^{(1)}_{j}}"
    assert rf"solving ${z} = h({a})$ for ${a} = \log{{\left(\frac{{{z}}}{{1 - {z}}} \right)}}$ and substituting" in tex
    assert "log(-Y" not in tex
