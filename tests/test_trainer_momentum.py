"""``build --optimizer momentum``: Rumelhart, Hinton and Williams (1986) eq. 9 in document, JSON and trainer.

The trainer's momentum steps are checked against the update written here from
the paper's equation, with gradients from the ``autograd`` package (through the
reference forward pass of tests/test_trainer.py) and from central differences.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp
from autograd import grad
from gradcheck import assert_close, central_difference
from test_trainer import Config, flat, reference_loss, sample_point, unflat
from trainer_build import build, ruff_check

from derive import make_spec
from derive.cli import main
from derive.core.symbolic import derive

CONFIGS = [
    Config("2-3-2", "sigmoid", "sse", True, False),
    Config("3-4-3", "tanh,softmax", "ce", False, True),
]


@pytest.fixture(scope="module")
def trainers(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("momentum")
    return {
        (cfg, style): build(tmp, cfg.arch, cfg.act, cfg.loss, style, bias=cfg.bias, mean=cfg.mean, optimizer="momentum")
        for cfg in CONFIGS
        for style in ("scalar", "vector")
    }


CASES = [pytest.param(cfg, style, id=f"{cfg.id}-{style}") for cfg in CONFIGS for style in ("scalar", "vector")]


@pytest.mark.parametrize("cfg,style", CASES)
def test_two_momentum_steps_follow_rhw_eq_9_with_autograd_gradients(trainers, cfg, style):
    """Δθ(t) = -η ∂E/∂θ(t) + α Δθ(t-1), θ(t+1) = θ(t) + Δθ(t), from Δθ(0) = 0."""
    tr = trainers[(cfg, style)]
    params, X, T = sample_point(cfg, seed=7, batch=4)
    before = {k: v.copy() for k, v in params.items()}
    lr, alpha = 0.05, 0.8
    velocity = tr.init_velocity(params)
    p1, v1 = tr.momentum_step(params, velocity, X, T, lr, momentum=alpha)
    p2, v2 = tr.momentum_step(p1, v1, X, T, lr, momentum=alpha)
    reference = grad(lambda p: reference_loss(cfg, p, X, T))
    g0 = reference(params)
    want_v1 = {k: -lr * g0[k] for k in params}
    want_p1 = {k: params[k] + want_v1[k] for k in params}
    g1 = reference(want_p1)
    for key in params:
        assert_close(v1[key], want_v1[key], atol=1e-12, rtol=1e-10, what=f"v1 {key}")
        assert_close(p1[key], want_p1[key], atol=1e-12, rtol=1e-10, what=f"p1 {key}")
        want_v2 = alpha * want_v1[key] - lr * g1[key]
        assert_close(v2[key], want_v2, atol=1e-12, rtol=1e-10, what=f"v2 {key}")
        assert_close(p2[key], want_p1[key] + want_v2, atol=1e-12, rtol=1e-10, what=f"p2 {key}")
        np.testing.assert_array_equal(params[key], before[key])  # nothing is modified in place
        assert not velocity[key].any()


@pytest.mark.parametrize("cfg,style", CASES)
def test_momentum_step_matches_central_differences(trainers, cfg, style):
    tr = trainers[(cfg, style)]
    params, X, T = sample_point(cfg, seed=8, batch=3)
    rng = np.random.default_rng(0)
    velocity = {k: rng.normal(0.0, 0.1, size=v.shape) for k, v in params.items()}
    new, change = tr.momentum_step(params, velocity, X, T, 0.1, momentum=0.5)
    g = unflat(central_difference(lambda th: tr.loss(unflat(th, params), X, T), flat(params)), params)
    for key in params:
        assert_close(change[key], 0.5 * velocity[key] - 0.1 * g[key], atol=1e-7, rtol=1e-5, what=key)
        assert_close(new[key], params[key] + change[key], atol=1e-15, rtol=0, what=key)


@pytest.mark.parametrize("cfg,style", CASES)
def test_train_is_the_loop_of_momentum_steps_and_returns_the_velocity(trainers, cfg, style):
    tr = trainers[(cfg, style)]
    params, X, T = sample_point(cfg, seed=9, batch=6)
    got, history = tr.train(params, X, T, epochs=3, lr=0.02, batch_size=2, seed=1, momentum=0.7)
    rng, want, velocity = np.random.default_rng(1), params, tr.init_velocity(params)
    for _ in range(3):
        order = rng.permutation(6)
        for start in range(0, 6, 2):
            rows = order[start : start + 2]
            want, velocity = tr.momentum_step(want, velocity, X[rows], T[rows], 0.02, momentum=0.7)
    for key in params:
        assert_close(got[key], want[key], atol=1e-13, rtol=1e-12, what=key)
        assert_close(history.velocity[key], velocity[key], atol=1e-13, rtol=1e-12, what=key)
    half, h1 = tr.train(params, X, T, epochs=2, lr=0.02, shuffle=False, momentum=0.7)
    rest, _ = tr.train(half, X, T, epochs=1, lr=0.02, shuffle=False, momentum=0.7, velocity=h1.velocity)
    whole, _ = tr.train(params, X, T, epochs=3, lr=0.02, shuffle=False, momentum=0.7)
    for key in params:  # the velocity carries a run over into the next call
        assert_close(rest[key], whole[key], atol=1e-13, rtol=1e-12, what=key)
    with pytest.raises(ValueError, match=r"momentum must be a number in \[0, 1\)"):
        tr.train(params, X, T, epochs=1, lr=0.02, momentum=1.0)


def test_momentum_zero_is_plain_gradient_descent(trainers):
    cfg = CONFIGS[0]
    tr = trainers[(cfg, "vector")]
    params, X, T = sample_point(cfg, seed=10, batch=5)
    new, _ = tr.momentum_step(params, tr.init_velocity(params), X, T, 0.1, momentum=0.0)
    plain = tr.sgd_step(params, X, T, 0.1)
    for key in params:
        assert_close(new[key], plain[key], atol=1e-15, rtol=0, what=key)


def test_the_update_equations_carry_the_momentum_term():
    """Δθ(t) minus the plain gradient step is α Δθ(t-1), for every parameter family of the Derivation."""
    from derive.core import update

    d = derive(make_spec("2-3-2", optimizer="momentum"))
    eqs = [e for e in d.equations if e.id.startswith("update-")]
    assert [e.id for e in eqs] == ["update-w-2", "update-b-2", "update-w-1", "update-b-1"]
    for e in eqs:
        theta = update.parameter(e)
        plain = -update.ETA * sp.Derivative(update.ERROR, theta)
        assert sp.simplify(e.rhs - plain - update.ALPHA * update.Increment(theta, update.STEP - 1)) == 0
        assert e.lhs == update.Increment(theta, update.STEP)
    sgd = [e for e in derive(make_spec("2-3-2")).equations if e.id.startswith("update-")]
    assert all(not e.rhs.has(update.ALPHA) for e in sgd)


def test_build_with_momentum_writes_it_everywhere(tmp_path, capsys):
    out = tmp_path / "mom"
    assert main(["build", "--arch", "2-2-1", "--optimizer", "momentum", "--no-pdf", "--out", str(out)]) == 0
    formulas = json.loads((out / "formulas.json").read_text())
    updates = [e for e in formulas["equations"] if e["id"].startswith("update-")]
    assert len(updates) == 4 and all("alpha" in e["rhs"]["sympy"] for e in updates)
    tex = (out / "derivation.tex").read_text()
    assert "Rumelhart, Hinton and Williams" in tex and r"\alpha \Delta" in tex
    assert "def momentum_step(params, velocity, X, T, lr, momentum=0.9):" in (out / "trainer.py").read_text()
    capsys.readouterr()
    assert main(["build", "--arch", "2-2-1", "--optimizer", "nesterov", "--no-pdf", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown optimizer 'nesterov'; valid: sgd, momentum, adam" in err
    assert not (tmp_path / "x").exists()


def test_momentum_sources_pass_ruff(trainers):
    result = ruff_check(module.__file__ for module in trainers.values())
    assert result.returncode == 0, result.stdout[-2000:]
