"""Large nets: per-layer derivation, lazy records, the directional proof and its failures."""

from __future__ import annotations

import functools
import io
import json

import numpy as np
import pytest
import sympy as sp
from gradcheck import assert_close, central_difference

from derive import VerificationError, derive, make_spec, verify
from derive.progress import Progress
from derive.render import formulas

LARGE = "64-32-16-10"


@functools.cache
def _large(act: str = "sigmoid", loss: str = "sse"):
    return verify(derive(make_spec(LARGE, act, loss)))


def _fresh(arch: str = LARGE, act: str = "sigmoid", loss: str = "sse", per_layer: bool | None = None):
    return derive(make_spec(arch, act, loss), per_layer=per_layer)


# ---------------------------------------------------------------- an independent numeric reference


def _act(name: str, a: np.ndarray) -> np.ndarray:
    if name == "softmax":
        e = np.exp(a - a.max())
        return e / e.sum()
    return {"sigmoid": lambda v: 1 / (1 + np.exp(-v)), "tanh": np.tanh, "linear": lambda v: v}[name](a)


def _loss(name: str, y: np.ndarray, t: np.ndarray) -> float:
    if name == "sse":
        return 0.5 * float(np.sum((t - y) ** 2))
    if name == "ce":
        return -float(np.sum(t * np.log(y)))
    raise KeyError(name)


def _unflatten(d, theta):
    params, n = {}, 0
    for g in d.parameter_groups:
        size = int(np.prod(g.shape))
        params[g.key] = theta[n : n + size].reshape(g.shape)
        n += size
    return params


def _error(d, params, x, t) -> float:
    z = x
    for layer in d.layers:
        z = _act(layer.activation, params[f"W{layer.index}"] @ z + params[f"b{layer.index}"])
    return _loss(d.spec.loss, z, t)


def _values(d, params, x, t) -> dict:
    """Every unit symbol's value: a forward pass, then the Derivation's δ forms as SymPy expressions."""
    v = {s: x[n] for n, s in enumerate(d.inputs)} | {s: t[n] for n, s in enumerate(d.targets)}
    z = x
    for layer in d.layers:
        l = layer.index
        v.update({layer.weights[j][i]: params[f"W{l}"][j, i] for j in range(layer.n_out) for i in range(layer.n_in)})
        v.update({b: params[f"b{l}"][j] for j, b in enumerate(layer.biases)})
        z = _act(layer.activation, params[f"W{l}"] @ z + params[f"b{l}"])
        v.update(dict(zip(layer.out, z)))
    for layer in reversed(d.layers):
        for dj, form in zip(layer.delta, layer.delta_forms):
            v[dj] = float(form.xreplace(v))
    return v


@pytest.mark.parametrize("act,loss", [("sigmoid", "sse"), ("tanh,tanh,softmax", "ce")])
def test_large_net_proved_fast_and_its_delta_forms_match_finite_differences(act, loss):
    d = _large(act, loss)
    assert d.per_layer and len(d.parameters) == d.spec.n_parameters == 2778
    assert {g.proof.method for g in d.parameter_groups} == {"directional"}
    assert all(g.proof.false_pass_bound and "2T/eta" in g.proof.false_pass_bound for g in d.parameter_groups)
    rng = np.random.default_rng(7)
    for _ in range(2):
        theta = rng.normal(0, 0.4, d.spec.n_parameters)
        x = rng.normal(size=d.spec.sizes[0])
        t = rng.dirichlet(np.ones(10)) if loss == "ce" else rng.uniform(0, 1, 10)
        v = _values(d, _unflatten(d, theta), x, t)
        offsets = dict(zip((g.key for g in d.parameter_groups), np.cumsum([0] + [g.size for g in d.parameter_groups])))
        got = np.zeros_like(theta)
        for p in d.parameters:  # each from its own lazy record
            g_shape = next(g.shape for g in d.parameter_groups if g.key == p.key)
            got[offsets[p.key] + int(np.ravel_multi_index(p.index, g_shape))] = float(p.gradient.xreplace(v))
        want = central_difference(lambda th, x=x, t=t: _error(d, _unflatten(d, th), x, t), theta)
        assert_close(got, want, what=f"{LARGE} {act} {loss}")


def test_large_derivation_builds_no_per_weight_objects():
    """Derive, prove and write formulas.json without building a single a_j sum or hidden δ instance beyond one."""
    d = verify(_fresh())
    formulas.render(d)
    for layer in d.layers:
        assert layer.pre.n_built == 0
    for layer in d.layers[:-1]:
        assert layer.delta_forms.n_built <= 1  # the first unit stands for the layer's δ chain


# ---------------------------------------------------------------- the fast method can fail


def _z_factor(rule, layer):
    return next(ix for ix in rule.atoms(sp.Indexed) if str(ix.base) == f"z_{layer}")


def test_planted_wrong_rule_is_caught():
    d = _fresh()
    forms = d.layers[0].delta_forms
    z = _z_factor(forms.rule, 1)
    forms.rule = forms.rule.subs(1 - z, 1 + z)  # σ' = z(1+z): a classic slip
    with pytest.raises(VerificationError, match=r"w_1_1_1"):
        verify(d)


@pytest.mark.parametrize("layer,unit,factor", [(2, 5, sp.Rational(101, 100)), (1, 17, 1 + sp.Rational(1, 10**6))])
def test_one_wrong_hidden_unit_is_caught_and_named(layer, unit, factor):
    d = _fresh()
    lower = d.layers[layer - 1]
    # the layer's forms written out unit by unit, one of them wrong
    lower.delta_forms = [f * factor if k == unit - 1 else f for k, f in enumerate(lower.delta_forms)]
    with pytest.raises(VerificationError, match=rf"w_{layer}_{unit}_1 "):
        verify(d)


def test_wrong_output_delta_is_caught_and_named():
    d = _fresh(act="tanh,tanh,softmax", loss="ce")
    out = d.layers[-1]
    y, t = out.out[3], d.targets[3]
    out.delta_forms[3] = y - t + (y - t) * y  # an extra softmax-Jacobian term
    with pytest.raises(VerificationError, match=r"w_3_4_1 "):
        verify(d)


def test_wrong_gradient_rule_is_caught():
    d = _fresh()
    g = next(g for g in d.parameter_groups if g.key == "W2")
    g.rule = g.rule * 2
    with pytest.raises(VerificationError, match=r"w_2_1_1 "):
        verify(d)


# ---------------------------------------------------------------- both proofs on nets small enough for both

SMALL = [
    ("2-3-2", "sigmoid", "sse"),
    ("2-3-3", "tanh,softmax", "ce"),
    ("3-4-4-2", "relu", "mse"),
    ("2-2", "sigmoid", "bce"),
]


@pytest.mark.parametrize("arch,act,loss", SMALL, ids=["-".join(c) for c in SMALL])
def test_symbolic_and_fast_proofs_agree(arch, act, loss):
    spec = make_spec(arch, act, loss)
    sym = verify(derive(spec, per_layer=False), "symbolic")
    fast = verify(derive(spec, per_layer=False), "directional")
    assert all(p.proof.method.startswith("symbolic") for p in sym.parameters)
    assert all(p.proof.method == "directional" for p in fast.parameters)
    for method in ("symbolic", "directional"):
        d = derive(spec, per_layer=False)
        first = d.layers[0]
        first.delta_forms[0] = first.delta_forms[0] * 2 + first.out[0]
        with pytest.raises(VerificationError):
            verify(d, method)


@pytest.mark.parametrize("arch,act,loss", SMALL, ids=["-".join(c) for c in SMALL])
def test_lazy_records_equal_the_unit_by_unit_derivation(arch, act, loss):
    spec = make_spec(arch, act, loss)
    eager, lazy = derive(spec, per_layer=False), derive(spec, per_layer=True)
    assert len(lazy.parameters) == len(eager.parameters)
    for p, q in zip(eager.parameters, lazy.parameters):
        assert (p.symbol, p.key, p.index, p.delta, p.chain) == (q.symbol, q.key, q.index, q.delta, q.chain)
        assert sp.expand(p.gradient - q.gradient) == 0
    for a, b in zip(eager.layers, lazy.layers):
        assert [list(row) for row in a.weights] == [list(row) for row in b.weights]
        assert list(a.pre) == list(b.pre)
        assert all(sp.expand(f - g) == 0 for f, g in zip(a.delta_forms, b.delta_forms))
    assert [(e.id, e.rhs) for e in eager.equations] == [(e.id, e.rhs) for e in lazy.equations]


def test_group_patterns_expand_to_the_parameter_records():
    d = _large()
    data = json.loads(formulas.render(d))
    assert data["parameter_layout"] == "per-layer" and "parameters" not in data
    assert sum(g["count"] for g in data["parameter_groups"]) == d.spec.n_parameters
    groups = {g["key"]: g for g in data["parameter_groups"]}
    for n in range(0, d.spec.n_parameters, 97):
        p = d.parameters[n]
        g = groups[p.key]
        ji = {"j": p.unit, "i": p.source}
        assert g["name"].format(**ji) == p.name
        assert g["delta_form"]["sympy"].format(**ji) == sp.sstr(p.gradient, order="lex")
        assert [g["delta_chain"][0].format(**ji), *g["delta_chain"][1:]] == [s.name for s in p.chain]
        assert eval(g["trainer_index"], {}, {"j": p.unit, "i": p.source}) == list(p.index)
        assert g["proof"]["method"] == p.proof.method


def test_proxy_check_rejects_a_rule_that_differs():
    from derive.core import perlayer

    d = _fresh()
    eq = d.equations[0]
    d.equations[0] = type(eq)(eq.id, eq.number, eq.title, eq.lhs, eq.rhs + 1)
    with pytest.raises(AssertionError, match=eq.id):
        perlayer.check_on_proxy(d)


# ---------------------------------------------------------------- progress


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_shows_stage_layer_count_and_eta_on_a_terminal_after_a_delay():
    now = [0.0]
    stream = _Tty()
    p = Progress("prove", 100, stream=stream, clock=lambda: now[0])
    p.update(3, 10)
    assert stream.getvalue() == ""  # quick stages stay silent
    now[0] = 4.0
    p.update(2, 30)
    line = stream.getvalue()
    assert "prove" in line and "layer 2" in line and "40/100" in line and "6 s left" in line
    p.close()
    assert stream.getvalue().endswith("\r\033[K")


def test_progress_is_silent_when_stderr_is_not_a_terminal():
    now = [0.0]
    stream = io.StringIO()
    p = Progress("prove", 10, stream=stream, clock=lambda: now[0])
    now[0] = 100.0
    p.update(1, 5)
    p.close()
    assert stream.getvalue() == ""


@pytest.mark.parametrize(
    "arch,act,loss", [("2-3-2", "sigmoid", "sse"), ("3-4-3", "tanh,softmax", "ce"), ("8-16-40", "relu,sigmoid", "bce")]
)
def test_derivation_progress_counts_exactly_its_announced_work(arch, act, loss):
    """The derivation's progress line reaches its total: the ETA is computed from a true count."""
    from derive import progress
    from derive.core import route

    spec = make_spec(arch, act, loss)
    per_layer = route.per_layer(spec)
    total = route.work(spec, per_layer)
    with progress.tracking("derive", total, stream=_Tty()) as p:
        derive(spec)
    assert p.done == total


@pytest.mark.parametrize("act,loss", [("sigmoid", "sse"), ("tanh,tanh,softmax", "ce")])
def test_large_net_trainer_gradients_match_finite_differences(act, loss, tmp_path):
    """The vector trainer generated for the large net: every gradient entry against central differences."""
    import importlib.util

    from derive.render.trainer import render

    path = tmp_path / "trainer_large.py"
    path.write_text(render.render(_large(act, loss)))
    spec = importlib.util.spec_from_file_location("trainer_large", path)
    tr = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tr)
    rng = np.random.default_rng(11)
    params = tr.init_params(seed=3)
    params = {k: v + rng.normal(0, 0.1, v.shape) for k, v in params.items()}  # biases away from zero too
    X = rng.normal(size=(3, 64))
    T = rng.dirichlet(np.ones(10), size=3) if loss == "ce" else rng.uniform(0, 1, (3, 10))
    grads = tr.gradients(params, X, T)
    keys = list(params)
    flat = np.concatenate([params[k].ravel() for k in keys])
    sizes = np.cumsum([0] + [params[k].size for k in keys])

    def unflat(theta):
        return {k: theta[a:b].reshape(params[k].shape) for k, a, b in zip(keys, sizes, sizes[1:])}

    want = central_difference(lambda th: tr.loss(unflat(th), X, T), flat)
    got = np.concatenate([grads[k].ravel() for k in keys])
    assert got.size == _large(act, loss).spec.n_parameters == 2778
    assert_close(got, want, atol=1e-7, rtol=1e-5, what=f"{LARGE} {act} {loss} trainer")


def test_a_net_whose_symbolic_proof_would_be_slow_is_derived_per_layer():
    """53 parameters but five weight layers: the symbolic proof would take about a minute, so per layer."""
    from derive.core import route

    deep, shallow = make_spec("2-3-3-3-3-2"), make_spec("3-4-4-2")
    assert deep.n_parameters <= route.LAZY_ABOVE and route.proof_cost(deep) > route.PROOF_COST_ABOVE
    d = verify(derive(deep))
    assert d.per_layer and {g.proof.method for g in d.parameter_groups} == {"directional"}
    assert not route.per_layer(shallow) and not derive(shallow).per_layer


def test_a_deep_chain_of_single_units_is_derived_per_layer_and_proved():
    """1-1-...-1 has few paths but a deeply nested error: above DEPTH_ABOVE layers it takes the per-layer route."""
    from derive.core import route

    chain = make_spec("-".join(["1"] * (route.DEPTH_ABOVE + 2)))
    assert chain.n_parameters <= route.LAZY_ABOVE and route.proof_cost(chain) <= route.PROOF_COST_ABOVE
    d = verify(derive(chain))
    assert d.per_layer and {g.proof.method for g in d.parameter_groups} == {"directional"}
    shallow = make_spec("-".join(["1"] * (route.DEPTH_ABOVE + 1)))
    assert not route.per_layer(shallow)
