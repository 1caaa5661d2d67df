"""``build --optimizer adam``: Kingma and Ba (2015), Algorithm 1, in the equations, the document, JSON and trainer.

The trainer's Adam steps are checked against Algorithm 1 written out here, with
gradients from the ``autograd`` package (through the reference forward pass of
tests/test_trainer.py) and from central differences of the trainer's own loss.
Three steps in a row exercise the bias corrections 1 − β^t at t = 1, 2, 3.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import autograd.numpy as anp
import numpy as np
import pytest
import sympy as sp
from autograd import grad
from gradcheck import assert_close, central_difference
from test_trainer import Config, flat, reference_loss, sample_point, unflat
from trainer_build import build, ruff_check

from derive import make_spec
from derive.cli import main
from derive.core import decay, update
from derive.core.symbolic import derive

CONFIGS = [
    Config("2-3-2", "sigmoid", "sse", True, False),
    Config("3-4-3", "tanh,softmax", "ce", False, True),
]
CASES = [pytest.param(cfg, style, id=f"{cfg.id}-{style}") for cfg in CONFIGS for style in ("scalar", "vector")]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def trainers(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("adam")
    built = {
        (cfg, style): build(tmp, cfg.arch, cfg.act, cfg.loss, style, bias=cfg.bias, mean=cfg.mean, optimizer="adam")
        for cfg in CONFIGS
        for style in ("scalar", "vector")
    }
    cfg = CONFIGS[0]
    for style in ("scalar", "vector"):
        built[(cfg, style, "decay")] = build(
            tmp, cfg.arch, cfg.act, cfg.loss, style, optimizer="adam", weight_decay=True
        )
    built[(cfg, None)] = build(tmp, cfg.arch, cfg.act, cfg.loss, None, optimizer="adam")
    return built


def kingma_ba(theta, m, v, t, g, lr, beta1, beta2, eps):
    """One step of Algorithm 1 of Kingma and Ba (2015) on one array: (θ, m, v, t) after the step."""
    t = t + 1
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v, t


def reference_run(params, gradient, steps, lr, beta1=0.9, beta2=0.999, eps=1e-8, state=None):
    """Parameters and state after each of ``steps`` Adam steps, each with ``gradient`` at that step's params."""
    if state is None:
        state = {"m": {k: np.zeros_like(p) for k, p in params.items()}, "v": {}, "t": 0}
        state["v"] = {k: np.zeros_like(p) for k, p in params.items()}
    out = []
    for _ in range(steps):
        g = gradient(params)
        new, m, v = {}, {}, {}
        for key in params:
            new[key], m[key], v[key], t = kingma_ba(
                params[key], state["m"][key], state["v"][key], state["t"], g[key], lr, beta1, beta2, eps
            )
        params, state = new, {"m": m, "v": v, "t": t}
        out.append((params, state))
    return out


def assert_state(got, want, what, atol=1e-12, rtol=1e-10):
    assert got["t"] == want["t"], f"{what}: t"
    assert set(got) == {"m", "v", "t"}
    for part in ("m", "v"):
        assert set(got[part]) == set(want[part])
        for key in want[part]:
            assert_close(got[part][key], want[part][key], atol=atol, rtol=rtol, what=f"{what} {part} {key}")


@pytest.mark.parametrize("cfg,style", CASES)
def test_three_adam_steps_follow_kingma_ba_with_autograd_gradients(trainers, cfg, style):
    """t = 1, 2, 3 from the zero state: every parameter, moment and count as Algorithm 1 gives them."""
    tr = trainers[(cfg, style)]
    params, X, T = sample_point(cfg, seed=7, batch=4)
    before = {k: v.copy() for k, v in params.items()}
    lr, b1, b2, eps = 0.01, 0.8, 0.95, 1e-6  # not the defaults, so that a swapped or ignored keyword shows
    reference = grad(lambda p: reference_loss(cfg, p, X, T))
    want = reference_run(params, reference, 3, lr, b1, b2, eps)
    p, state = params, None  # None is the zero state
    for step, (want_p, want_state) in enumerate(want, start=1):
        p, state = tr.adam_step(p, state, X, T, lr, beta1=b1, beta2=b2, eps=eps)
        assert state["t"] == step
        assert_state(state, want_state, f"step {step}")
        for key in params:
            assert_close(p[key], want_p[key], atol=1e-12, rtol=1e-10, what=f"step {step} {key}")
    for key in params:
        np.testing.assert_array_equal(params[key], before[key])  # nothing is modified in place
    # the bias correction matters: without it the first step would be (1 - β1)/sqrt(1 - β2) times as long
    first = want[0][0]
    assert all(np.abs(first[k] - params[k]).max() > 0.5 * lr for k in params)


@pytest.mark.parametrize("cfg,style", CASES)
def test_adam_step_from_a_state_matches_central_differences(trainers, cfg, style):
    """From a random state at t = 4: the step of Algorithm 1 with central-difference gradients."""
    tr = trainers[(cfg, style)]
    params, X, T = sample_point(cfg, seed=8, batch=3)
    rng = np.random.default_rng(0)
    state = {
        "m": {k: rng.normal(0.0, 0.1, size=v.shape) for k, v in params.items()},
        "v": {k: rng.uniform(0.0, 0.05, size=v.shape) for k, v in params.items()},
        "t": 4,
    }
    saved = {part: {k: a.copy() for k, a in state[part].items()} for part in ("m", "v")}
    g_fd = unflat(central_difference(lambda th: tr.loss(unflat(th, params), X, T), flat(params)), params)
    g_auto = grad(lambda p: reference_loss(cfg, p, X, T))(params)
    for key in params:  # the gradient Adam is fed, two ways
        assert_close(g_fd[key], g_auto[key], atol=1e-7, rtol=1e-5, what=f"gradient {key}")
    new, after = tr.adam_step(params, state, X, T, 0.05, beta1=0.7, beta2=0.9, eps=1e-3)
    for key in params:
        want, m, v, t = kingma_ba(params[key], state["m"][key], state["v"][key], 4, g_fd[key], 0.05, 0.7, 0.9, 1e-3)
        assert_close(new[key], want, atol=1e-8, rtol=1e-5, what=key)
        assert_close(after["m"][key], m, atol=1e-8, rtol=1e-5, what=f"m {key}")
        assert_close(after["v"][key], v, atol=1e-8, rtol=1e-5, what=f"v {key}")
        np.testing.assert_array_equal(state["m"][key], saved["m"][key])
        np.testing.assert_array_equal(state["v"][key], saved["v"][key])
    assert after["t"] == 5 and state["t"] == 4


@pytest.mark.parametrize("style", ["scalar", "vector"])
def test_adam_with_weight_decay_descends_on_e_plus_the_penalty(trainers, style):
    """g is the autograd gradient of E + (λ/2) Σ w² (weights only), fed through the moments (L2 in the loss)."""
    cfg = CONFIGS[0]
    tr = trainers[(cfg, style, "decay")]
    assert tr.DECAYED == ("W1", "W2")
    params, X, T = sample_point(cfg, seed=11, batch=5)
    lam = 0.3

    def objective(p):
        return reference_loss(cfg, p, X, T) + lam / 2 * sum(anp.sum(p[k] ** 2) for k in tr.DECAYED)

    want = reference_run(params, grad(objective), 3, 0.02)
    plain = reference_run(params, grad(lambda p: reference_loss(cfg, p, X, T)), 3, 0.02)
    p, state = params, tr.init_adam_state(params)
    for step, (want_p, want_state) in enumerate(want, start=1):
        p, state = tr.adam_step(p, state, X, T, 0.02, weight_decay=lam)
        assert_state(state, want_state, f"step {step}")
        for key in params:
            assert_close(p[key], want_p[key], atol=1e-12, rtol=1e-10, what=f"step {step} {key}")
    assert np.abs(p["W1"] - plain[-1][0]["W1"]).max() > 1e-3  # the penalty changed the weights' steps
    with pytest.raises(ValueError, match="weight_decay must be a finite number >= 0"):
        tr.adam_step(params, None, X, T, 0.02, weight_decay=-1.0)


def test_init_state_and_none_are_the_zero_state_and_float32_stays_float32(trainers):
    cfg = CONFIGS[0]
    tr = trainers[(cfg, None)]
    params = tr.init_params(seed=3)
    state = tr.init_adam_state(params)
    assert state["t"] == 0 and set(state["m"]) == set(params) == set(state["v"])
    for key, value in params.items():
        assert state["m"][key].shape == value.shape and not state["m"][key].any() and not state["v"][key].any()
    X, T = np.array([0.5, -1.0]), np.array([0.2, 0.9])
    a, sa = tr.adam_step(params, None, X, T, 0.01)
    b, sb = tr.adam_step(params, state, X, T, 0.01)
    for key in params:
        np.testing.assert_array_equal(a[key], b[key])
    assert_state(sa, sb, "None and init_adam_state", atol=0, rtol=0)
    p32 = tr.init_params(seed=3, dtype=np.float32)
    new, s32 = tr.adam_step(p32, None, X, T, 0.01)
    assert all(new[k].dtype == np.float32 and s32["m"][k].dtype == np.float32 for k in p32)
    assert all(s32["v"][k].dtype == np.float32 for k in p32)
    plain = tr.sgd_step(params, X, T, 0.01)  # plain gradient descent is still there
    assert_close(plain["W1"], params["W1"] - 0.01 * tr.gradients(params, X, T)["W1"], atol=1e-15, rtol=0)


@pytest.mark.parametrize("cfg,style", CASES)
def test_train_is_the_loop_of_adam_steps_and_hands_the_state_on(trainers, cfg, style):
    tr = trainers[(cfg, style)]
    params, X, T = sample_point(cfg, seed=9, batch=6)
    kw = {"beta1": 0.85, "beta2": 0.99, "eps": 1e-7}
    got, history = tr.train(params, X, T, epochs=3, lr=0.02, batch_size=2, seed=1, **kw)
    rng, want, state = np.random.default_rng(1), params, None
    for _ in range(3):
        order = rng.permutation(6)
        for start in range(0, 6, 2):
            rows = order[start : start + 2]
            want, state = tr.adam_step(want, state, X[rows], T[rows], 0.02, **kw)
    for key in params:
        assert_close(got[key], want[key], atol=1e-13, rtol=1e-12, what=key)
    assert history.state["t"] == 9
    assert_state(history.state, state, "history.state", atol=1e-13, rtol=1e-12)
    half, h1 = tr.train(params, X, T, epochs=2, lr=0.02, shuffle=False, **kw)
    rest, h2 = tr.train(half, X, T, epochs=1, lr=0.02, shuffle=False, state=h1.state, **kw)
    whole, hw = tr.train(params, X, T, epochs=3, lr=0.02, shuffle=False, **kw)
    for key in params:  # the state carries a run over into the next call (t goes on counting)
        assert_close(rest[key], whole[key], atol=1e-13, rtol=1e-12, what=key)
    assert h1.state["t"] == 12 and h2.state["t"] == hw.state["t"] == 18
    assert history[-1] < history[0] * 1.5  # the loss is recorded as for the other optimisers


BAD = [
    ({"beta1": 1.0}, r"beta1 must be a number in \[0, 1\); got 1.0"),
    ({"beta1": -0.1}, r"beta1 must be a number in \[0, 1\); got -0.1"),
    ({"beta2": 1.5}, r"beta2 must be a number in \[0, 1\); got 1.5"),
    ({"beta2": float("nan")}, r"beta2 must be a number in \[0, 1\); got nan"),
    ({"eps": 0.0}, r"eps must be a finite number > 0; got 0.0"),
    ({"eps": float("inf")}, r"eps must be a finite number > 0; got inf"),
    ({"lr": -0.1}, r"lr must be a finite number > 0; got -0.1"),
    ({"beta1": [0.9, 0.9]}, r"beta1 must be a number in \[0, 1\)"),
    ({"beta2": "0.999"}, r"beta2 must be a number in \[0, 1\); got '0.999'"),
    ({"eps": True}, r"eps must be a finite number > 0; got True"),
]


@pytest.mark.parametrize("bad,message", BAD, ids=[str(b) for b, _ in BAD])
def test_bad_hyperparameters_raise_one_clear_error(trainers, bad, message):
    cfg = CONFIGS[0]
    tr = trainers[(cfg, "vector")]
    params, X, T = sample_point(cfg, seed=12, batch=2)
    kw = {"lr": 0.01, **bad}
    with pytest.raises(ValueError, match=message):
        tr.adam_step(params, None, X, T, **kw)
    with pytest.raises(ValueError, match=message):
        tr.train(params, X, T, epochs=1, **kw)


def test_a_state_that_does_not_fit_is_refused(trainers):
    cfg = CONFIGS[0]
    tr = trainers[(cfg, "vector")]
    params, X, T = sample_point(cfg, seed=13, batch=2)
    good = tr.init_adam_state(params)
    wrong_shape = {**good, "m": {**good["m"], "W1": np.zeros((2, 2))}}
    negative_v = {**good, "v": {**good["v"], "b2": -np.ones(2)}}
    cases = [
        ({"m": good["m"], "v": good["v"]}, "state must be a dict with the keys 'm', 'v' and 't'"),
        ({**good, "t": -1}, r"state\['t'\] must be a whole number >= 0"),
        ({**good, "t": 1.5}, r"state\['t'\] must be a whole number >= 0"),
        (wrong_shape, r"state\['m'\] does not fit the 2-3-2 network"),
        ({**good, "v": {"W1": good["v"]["W1"]}}, r"state\['v'\] does not fit the 2-3-2 network"),
        (negative_v, r"state\['v'\] holds a negative value"),
        ({**good, "m": {**good["m"], "b1": np.full(3, np.nan)}}, r"state\['m'\] holds a NaN"),
        ([1, 2, 3], "state must be a dict"),
    ]
    for state, message in cases:
        with pytest.raises(ValueError, match=message):
            tr.adam_step(params, state, X, T, 0.01)
    with pytest.raises(ValueError, match=r"state\['t'\] must be a whole number"):
        tr.train(params, X, T, epochs=1, lr=0.01, state={**good, "t": -2})


def _by_hand(theta, penalty=0):
    """Algorithm 1's five lines for one parameter θ, written here from the paper (g plus a penalty term)."""
    t, g = update.STEP, sp.Derivative(update.ERROR, theta) + penalty
    b1, b2 = update.BETA1, update.BETA2
    m, v = update.FirstMoment(theta, t), update.SecondMoment(theta, t)
    return {
        "m": (m, b1 * update.FirstMoment(theta, t - 1) + (1 - b1) * g),
        "v": (v, b2 * update.SecondMoment(theta, t - 1) + (1 - b2) * g * g),
        "mhat": (update.FirstMomentHat(theta, t), m / (1 - b1**t)),
        "vhat": (update.SecondMomentHat(theta, t), v / (1 - b2**t)),
        "change": (
            update.Increment(theta, t),
            -update.ETA
            * update.FirstMomentHat(theta, t)
            / (sp.sqrt(update.SecondMomentHat(theta, t)) + update.EPSILON),
        ),
    }


@pytest.mark.parametrize("weight_decay", [False, True])
def test_the_update_equations_are_algorithm_1(weight_decay):
    d = derive(make_spec("2-3-2", optimizer="adam", weight_decay=weight_decay))
    eqs = {e.id: e for e in d.equations if e.id.startswith("update-")}
    assert len(eqs) == 20
    groups = update.adam_groups(list(eqs.values()))
    assert groups["change"] == ["update-w-2", "update-b-2", "update-w-1", "update-b-1"]
    for part, ids in groups.items():
        assert len(ids) == 4, part
        for eq_id in ids:
            e = eqs[eq_id]
            theta = update.parameter(e)
            penalty = decay.LAMBDA * theta if weight_decay and str(theta).startswith("w") else 0
            lhs, rhs = _by_hand(theta, penalty)[part]
            assert e.lhs == lhs and sp.simplify(e.rhs - rhs) == 0, eq_id
    numbers = [e.number for e in eqs.values()]
    assert numbers == list(range(numbers[0], numbers[0] + 20))  # numbered in a run after the gradients


def _parse(text: str, *derived: sp.Expr) -> sp.Expr:
    """A formulas.json ``sympy`` field read back into SymPy, its names bound to the objects of ``derived``
    (symbols with their assumptions, indexed bases) and to update.py's functions."""
    names = {"E": update.ERROR, "Derivative": sp.Derivative, "sqrt": sp.sqrt}
    for cls in (update.FirstMoment, update.SecondMoment, update.FirstMomentHat, update.SecondMomentHat):
        names[cls.__name__] = cls
    names["Increment"] = update.Increment
    for expr in derived:
        names |= {str(s): s for s in expr.atoms(sp.Symbol)}
        names |= {str(s): s for s in expr.atoms(sp.IndexedBase)}  # over the label symbol of the same name
    names["lam"] = names.pop("lambda", decay.LAMBDA)
    return sp.sympify(text.replace("lambda", "lam"), locals=names)


def test_build_with_adam_writes_it_everywhere(tmp_path):
    out = tmp_path / "adam"
    assert main(["build", "--arch", "2-3-2", "--optimizer", "adam", "--no-pdf", "--out", str(out)]) == 0
    d = derive(make_spec("2-3-2", optimizer="adam"))
    derived = {e.id: e for e in d.equations if e.id.startswith("update-")}
    formulas = json.loads((out / "formulas.json").read_text())
    written = {e["id"]: e for e in formulas["equations"] if e["id"].startswith("update-")}
    assert set(written) == set(derived)
    for eq_id, e in derived.items():  # the JSON says what update.py derives, read back as maths
        lhs, rhs = (_parse(written[eq_id][side]["sympy"], e.lhs, e.rhs) for side in ("lhs", "rhs"))
        assert lhs == e.lhs and sp.simplify(rhs - e.rhs) == 0, eq_id
        assert written[eq_id]["number"] == e.number
    tex = (out / "derivation.tex").read_text()
    html = (out / "derivation.html").read_text()
    change = derived["update-w-1"].number
    assert r"\hat{m}_{" in tex and r"\sqrt{\hat{v}_{" in tex and r"\beta_{1}^{t}" in tex
    assert "Kingma and Ba 2015" in tex and "Kingma and Ba 2015" in html
    assert rf"\tag{{{change}}}\label{{eq:update-w-1}}" in tex
    # the algorithm's update step cites every one of Adam's equations, in the PDF and on the page
    tex_step = tex[tex.index("increase $t$ by one") :].split(r"\item", 1)[0]
    html_step = html[html.index("increase <i>t</i> by one") :].split("</li>", 1)[0]
    for eq_id, e in derived.items():
        assert rf"\eqn{{{eq_id}}}" in tex_step and f'href="#eq-{e.number}"' in html_step, eq_id
    assert "output-layer section" not in html_step
    # the worked example's step is Adam's first (tests/test_example_adam.py checks its numbers), and both outputs say so
    assert "the step below is Adam's first" in tex and "the step below is Adam's first" in html
    assert f'id="eq-{change}"' in html and "<msqrt>" in html
    trainer = (out / "trainer.py").read_text()
    assert "def adam_step(params, state, X, T, lr, beta1=0.9, beta2=0.999, eps=1e-8):" in trainer
    assert "def sgd_step(" in trainer and "def init_adam_state(params):" in trainer
    numbers = ", ".join(f"({derived[f'update-{k}'].number})" for k in ("w-2", "b-2", "w-1", "b-1"))
    assert f"# eqs. {numbers}: change = -lr*m_hat/(eps + np.sqrt(v_hat))" in trainer
    demo = subprocess.run([sys.executable, str(out / "trainer.py"), "--demo"], capture_output=True, text=True)
    losses = [float(line.split()[-1]) for line in demo.stdout.splitlines()]
    assert demo.returncode == 0 and losses[-1] < 0.5 * losses[0], demo.stdout


def test_goodfellow_writes_adam_in_the_books_letters(tmp_path):
    out = tmp_path / "gf"
    args = ["build", "--arch", "2-2-1", "--optimizer", "adam", "--notation", "goodfellow", "--weight-decay"]
    assert main([*args, "--no-pdf", "--out", str(out)]) == 0
    tex = (out / "derivation.tex").read_text()
    # Algorithm 8.7 of the book: moments s and r, rates ρ1 and ρ2, the constant δ; ε is its learning rate
    assert r"\hat{s}_{" in tex and r"\hat{r}_{" in tex and r"\rho_{1}^{t}" in tex and r"\delta + \sqrt" in tex
    assert "not the decoupled weight decay of AdamW" in tex


def test_adam_trainers_pass_ruff(trainers):
    result = ruff_check(module.__file__ for module in trainers.values())
    assert result.returncode == 0, result.stdout[-2000:]
