"""``build --weight-decay``: the L2 penalty (λ/2) Σ w², derived, proved, written and trained.

The penalty's gradient is checked against ``sympy.diff`` of a penalty written
here by hand; the trainer's steps against the ``autograd`` package (through the
reference forward pass of tests/test_trainer.py) and against central
differences of the trainer's own loss plus the penalty.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from autograd import grad
from gradcheck import assert_close, central_difference
from test_trainer import Config, flat, reference_loss, sample_point, unflat
from trainer_build import build, ruff_check

from derive import make_spec
from derive.cli import main
from derive.core import decay, rules, update
from derive.core.symbolic import derive
from derive.prove.symbolic import VerificationError
from derive.prove.verify import verify

ROOT = Path(__file__).resolve().parent.parent
LAM = decay.LAMBDA


def _by_hand(d, biases: bool) -> sp.Expr:
    """(λ/2) Σ θ² over the weights (and biases), from the layers' own symbols."""
    thetas = [w for layer in d.layers for row in layer.weights for w in row]
    if biases:
        thetas += [b for layer in d.layers for b in layer.biases or []]
    return LAM / 2 * sp.Add(*[t**2 for t in thetas])


@pytest.mark.parametrize("arch,biases", [("2-3-2", False), ("2-3-2", True), ("3-1-2", False)])
def test_penalty_gradient_is_sympy_diff_of_the_penalty(arch, biases):
    d = derive(make_spec(arch, weight_decay=True, decay_biases=biases))
    omega = _by_hand(d, biases)
    for p in d.parameters:
        want = sp.diff(omega, p.symbol)
        assert sp.expand(rules.penalty_gradient(d, p.symbol) - want) == 0, p.symbol
    assert any(p.kind == "bias" for p in d.parameters)
    for p in d.parameters:  # biases only when asked: their derived term is exactly zero otherwise
        assert (rules.penalty_gradient(d, p.symbol) == 0) == (p.kind == "bias" and not biases)


def test_the_proof_is_of_e_plus_penalty_and_catches_a_wrong_penalty_rule():
    spec = make_spec("2-2-1", weight_decay=True)
    d = verify(derive(spec))
    omega = _by_hand(d, biases=False)
    w = d.parameters[0].symbol
    # the recorded raw derivative is that of E + Ω: minus the derivative of E alone it leaves λw
    plain = verify(derive(make_spec("2-2-1")))
    assert sp.expand(d.parameters[0].expanded - plain.parameters[0].expanded - sp.diff(omega, w)) == 0
    assert "includes the penalty Ω" in d.parameters[0].proof.detail  # no letters: documents print it in any notation
    for method in ("symbolic", "directional"):
        for wrong in (-1, sp.Rational(1, 2), 2):  # decay sign flipped; λ/2 left in; doubled
            bad = derive(spec)
            bad.equations = [
                dataclasses.replace(e, rhs=wrong * e.rhs) if e.id == "grad-penalty-w-2" else e for e in bad.equations
            ]
            with pytest.raises(VerificationError):
                verify(bad, method=method)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum"])
def test_update_equations_add_lambda_theta_to_the_weights_only(optimizer):
    d = derive(make_spec("2-3-2", optimizer=optimizer, weight_decay=True))
    eqs = [e for e in d.equations if e.id.startswith("update-")]
    assert len(eqs) == 4
    for e in eqs:
        theta = update.parameter(e)
        plain = -update.ETA * sp.Derivative(update.ERROR, theta)
        if optimizer == "momentum":
            plain += update.ALPHA * update.Increment(theta, update.STEP - 1)
        decayed = "-w-" in e.id
        assert sp.expand(e.rhs - plain) == sp.expand(-update.ETA * LAM * theta if decayed else 0), e.id
    penalty = d.equation("penalty")
    assert penalty.number < eqs[0].number and penalty.rhs.has(LAM)


def test_decay_biases_puts_the_biases_in_the_penalty_and_the_updates():
    d = derive(make_spec("2-2-1", weight_decay=True, decay_biases=True))
    ids = [e.id for e in d.equations if e.id.startswith("grad-penalty-")]
    assert ids == ["grad-penalty-w-2", "grad-penalty-b-2", "grad-penalty-w-1", "grad-penalty-b-1"]
    assert all(d.equation(f"update-b-{l}").rhs.has(LAM) for l in (1, 2))


# --------------------------------------------------------------------------
# The trainer
# --------------------------------------------------------------------------

CONFIGS = [
    (Config("2-3-2", "sigmoid", "sse", True, False), False),
    (Config("3-4-3", "tanh,softmax", "ce", True, True), True),
]
STYLES = ("scalar", "vector", None)  # None: the default, vector lines with the one-sample float functions


@pytest.fixture(scope="module")
def trainers(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("decay")
    out = {}
    for cfg, biases in CONFIGS:
        for style in STYLES:
            for optimizer in ("sgd", "momentum"):
                out[(cfg, style, optimizer)] = build(
                    tmp,
                    cfg.arch,
                    cfg.act,
                    cfg.loss,
                    style,
                    bias=cfg.bias,
                    mean=cfg.mean,
                    optimizer=optimizer,
                    weight_decay=True,
                    decay_biases=biases,
                )
    return out


CASES = [
    pytest.param(cfg, biases, style, id=f"{cfg.id}-{style or 'default'}") for cfg, biases in CONFIGS for style in STYLES
]


def _decayed(params: dict, biases: bool) -> list[str]:
    return [k for k in params if k.startswith("W") or biases]


def _objective(cfg, biases, lam):
    """E (autograd's reference) plus (λ/2) Σ θ² over the decayed arrays: once per batch, never divided by n."""

    def J(params, X, T):
        penalty = sum(np.sum(params[k] ** 2) for k in _decayed(params, biases))
        return reference_loss(cfg, params, X, T) + lam / 2 * penalty

    return J


@pytest.mark.parametrize("cfg,biases,style", CASES)
@pytest.mark.parametrize("batch", [1, 4])
def test_sgd_step_descends_on_e_plus_penalty_as_autograd_says(trainers, cfg, biases, style, batch):
    tr = trainers[(cfg, style, "sgd")]
    params, X, T = sample_point(cfg, seed=3, batch=batch)
    lr, lam = 0.05, 0.3
    g = grad(lambda p: _objective(cfg, biases, lam)(p, X, T))(params)
    for x, t in ((X, T), (X[0], T[0])) if batch == 1 else ((X, T),):  # a 1-D sample takes the float path
        new = tr.sgd_step(params, x, t, lr, weight_decay=lam)
        for key in params:
            assert_close(new[key], params[key] - lr * g[key], atol=1e-13, rtol=1e-11, what=key)


@pytest.mark.parametrize("cfg,biases,style", CASES)
def test_sgd_step_matches_central_differences_of_loss_plus_penalty(trainers, cfg, biases, style):
    tr = trainers[(cfg, style, "sgd")]
    params, X, T = sample_point(cfg, seed=4, batch=3)
    lr, lam = 0.1, 0.2

    def J(theta):
        p = unflat(theta, params)
        return tr.loss(p, X, T) + lam / 2 * sum(np.sum(p[k] ** 2) for k in _decayed(p, biases))

    g = unflat(central_difference(J, flat(params)), params)
    new = tr.sgd_step(params, X, T, lr, weight_decay=lam)
    for key in params:
        assert_close((params[key] - new[key]) / lr, g[key], atol=1e-7, rtol=1e-5, what=key)


@pytest.mark.parametrize("cfg,biases,style", CASES)
def test_only_the_decayed_arrays_shrink(trainers, cfg, biases, style):
    """The step with λ minus the step without is -lr λ θ on the decayed arrays and exactly 0 elsewhere."""
    tr = trainers[(cfg, style, "sgd")]
    params, X, T = sample_point(cfg, seed=5, batch=2)
    with_decay = tr.sgd_step(params, X, T, 0.1, weight_decay=0.5)
    without = tr.sgd_step(params, X, T, 0.1, weight_decay=0.0)
    assert set(tr.DECAYED) == set(_decayed(params, biases))
    for key in params:
        if key in tr.DECAYED:
            assert_close(with_decay[key] - without[key], -0.05 * params[key], atol=1e-15, rtol=1e-12, what=key)
        else:
            np.testing.assert_array_equal(with_decay[key], without[key])


@pytest.mark.parametrize("cfg,biases,style", CASES)
def test_momentum_step_with_decay_follows_the_update_equation(trainers, cfg, biases, style):
    """Δθ(t) = -η (∂E/∂θ + λθ) + α Δθ(t-1), gradients from autograd."""
    tr = trainers[(cfg, style, "momentum")]
    params, X, T = sample_point(cfg, seed=6, batch=3)
    rng = np.random.default_rng(0)
    velocity = {k: rng.normal(0.0, 0.1, size=v.shape) for k, v in params.items()}
    lr, alpha, lam = 0.05, 0.8, 0.4
    new, change = tr.momentum_step(params, velocity, X, T, lr, momentum=alpha, weight_decay=lam)
    g = grad(lambda p: _objective(cfg, biases, lam)(p, X, T))(params)
    for key in params:
        assert_close(change[key], alpha * velocity[key] - lr * g[key], atol=1e-13, rtol=1e-11, what=key)
        assert_close(new[key], params[key] + change[key], atol=1e-15, rtol=0, what=key)


@pytest.mark.parametrize("cfg,biases,style", CASES)
@pytest.mark.parametrize("batch_size", [1, 2])
def test_train_is_the_loop_of_decayed_steps(trainers, cfg, biases, style, batch_size):
    tr = trainers[(cfg, style, "sgd")]
    params, X, T = sample_point(cfg, seed=7, batch=4)
    got, history = tr.train(params, X, T, epochs=2, lr=0.05, batch_size=batch_size, seed=3, weight_decay=0.25)
    rng, want = np.random.default_rng(3), params
    for _ in range(2):
        order = rng.permutation(4)
        for start in range(0, 4, batch_size):
            rows = order[start : start + batch_size]
            want = tr.sgd_step(want, X[rows], T[rows], 0.05, weight_decay=0.25)
    for key in params:
        assert_close(got[key], want[key], atol=1e-14, rtol=1e-12, what=key)
    assert history[-1] == pytest.approx(tr.loss(got, X, T), rel=1e-12)  # the recorded loss is E alone


def test_weight_decay_default_and_bad_values(trainers):
    cfg, _ = CONFIGS[0]
    tr = trainers[(cfg, "vector", "sgd")]
    params, X, T = sample_point(cfg, seed=8, batch=2)
    default, explicit = tr.sgd_step(params, X, T, 0.1), tr.sgd_step(params, X, T, 0.1, weight_decay=1e-4)
    for key in params:
        np.testing.assert_array_equal(default[key], explicit[key])
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="weight_decay must be a finite number >= 0"):
            tr.sgd_step(params, X, T, 0.1, weight_decay=bad)
        with pytest.raises(ValueError, match="weight_decay must be a finite number >= 0"):
            tr.train(params, X, T, epochs=1, lr=0.1, weight_decay=bad)


def test_decay_shrinks_the_weights_of_a_trained_net(trainers):
    """Trained on the same data, the decayed weights end smaller in norm (what the penalty is for)."""
    cfg, _ = CONFIGS[0]
    tr = trainers[(cfg, "vector", "sgd")]
    params, X, T = sample_point(cfg, seed=9, batch=8)
    plain, _ = tr.train(params, X, T, epochs=200, lr=0.05, batch_size=4, weight_decay=0.0)
    decayed, _ = tr.train(params, X, T, epochs=200, lr=0.05, batch_size=4, weight_decay=0.05)
    norm = lambda p: sum(np.sum(p[k] ** 2) for k in ("W1", "W2"))  # noqa: E731
    assert norm(decayed) < 0.9 * norm(plain)


# --------------------------------------------------------------------------
# CLI, Make, document, formulas.json
# --------------------------------------------------------------------------


def test_build_with_weight_decay_writes_it_everywhere(tmp_path, capsys):
    out = tmp_path / "wd"
    assert main(["build", "--arch", "2-2-1", "--weight-decay", "--no-pdf", "--out", str(out)]) == 0
    formulas = json.loads((out / "formulas.json").read_text())
    wd = formulas["weight_decay"]
    assert wd["enabled"] and not wd["decay_biases"] and "not divided by the batch size" in wd["placement"]
    assert set(wd["gradients"]) == {"grad-penalty-w-2", "grad-penalty-w-1"}
    updates = {e["id"]: e["rhs"]["sympy"] for e in formulas["equations"] if e["id"].startswith("update-")}
    assert "lambda" in updates["update-w-1"] and "lambda" not in updates["update-b-1"]
    by_name = {p["name"]: p for p in formulas["parameters"]}
    assert by_name["w_1_1_2"]["penalty_gradient"]["sympy"] == "lambda*w_1_1_2"
    assert by_name["b_1_1"]["penalty_gradient"] is None
    tex = (out / "derivation.tex").read_text()
    assert r"\paragraph{Weight decay.}" in tex and "not divided by the batch size" in tex
    assert r"\label{eq:grad-penalty-w-1}" in tex and "biases are not decayed" in tex
    html = (out / "derivation.html").read_text()
    assert "<h3>Weight decay</h3>" in html and 'data-eq="grad-penalty-w-1"' in html
    for eq_id in ("penalty", "grad-penalty-w-1"):  # placed in the algorithm section, not again among further equations
        assert html.count(f'data-eq="{eq_id}"') == 1
    src = (out / "trainer.py").read_text()
    assert "def sgd_step(params, X, T, lr, weight_decay=1e-4):" in src and 'DECAYED = ("W1", "W2")' in src
    plain = tmp_path / "plain"
    assert main(["build", "--arch", "2-2-1", "--no-pdf", "--out", str(plain)]) == 0
    assert json.loads((plain / "formulas.json").read_text())["weight_decay"] == {"enabled": False}
    assert "Weight decay" not in (plain / "derivation.tex").read_text()
    assert "weight_decay" not in (plain / "trainer.py").read_text()


def test_the_name_changes_with_decay():
    assert make_spec("2-3-2", weight_decay=True).name == "2-3-2-decay"
    assert make_spec("2-3-2", weight_decay=True, decay_biases=True).name == "2-3-2-decay-all"
    assert make_spec("2-3-2").name == "2-3-2"


@pytest.mark.parametrize(
    "args,message",
    [
        (["--decay-biases"], "--decay-biases (make: DECAY_BIASES=1) needs --weight-decay"),
        (["--weight-decay", "--decay-biases", "--no-bias"], "--decay-biases has no biases to decay"),
    ],
)
def test_bad_decay_options_are_one_line_and_write_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "x"
    assert main(["build", "--arch", "2-2-1", *args, "--no-pdf", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not out.exists()


def test_make_passes_weight_decay_through_the_environment(tmp_path):
    out = tmp_path / "made"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BD_")}
    run = subprocess.run(
        ["make", "-s", "derive", "ARCH=2-1", "WEIGHT_DECAY=1", "DECAY_BIASES=1", f"OUT={out}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-500:]
    wd = json.loads((out / "formulas.json").read_text())["weight_decay"]
    assert wd["enabled"] and wd["decay_biases"]


# --------------------------------------------------------------------------
# The textbook diff
# --------------------------------------------------------------------------

WRONG_FORMS = """
id = "decay-slips"
source = "weight decay with slips"
weight_decay = true

[symbols]
h = "act"
W = "weight"
b = "bias"
g = "delta"
epsilon = "rate"
alpha = "decay"

[[forms]]
id = "right"
target = "update_w"
at = ["i", "j"]
layer = "all"
indices = { i = "l", j = "l-1" }
expr = "-epsilon * (g[i] * h[j] + alpha * W[i, j])"

[[forms]]
id = "flipped"
target = "update_w"
at = ["i", "j"]
layer = "all"
indices = { i = "l", j = "l-1" }
expr = "-epsilon * (g[i] * h[j] - alpha * W[i, j])"

[[forms]]
id = "halved"
target = "update_w"
at = ["i", "j"]
layer = "all"
indices = { i = "l", j = "l-1" }
expr = "-epsilon * (g[i] * h[j] + alpha / 2 * W[i, j])"

[[forms]]
id = "missing"
target = "grad_w"
at = ["i", "j"]
layer = "all"
indices = { i = "l", j = "l-1" }
expr = "g[i] * h[j]"

[[forms]]
id = "biases"
target = "update_b"
at = ["i"]
layer = "all"
indices = { i = "l" }
expr = "-epsilon * (g[i] + alpha * b[i])"
"""


def _diff(capsys, *args) -> tuple[int, dict]:
    rc = main(["diff", *args, "--json"])
    return rc, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("arch", ["2-3-2", "3-2"])
def test_goodfellow_weight_decay_is_equal_to_the_derivation(capsys, arch):
    rc, out = _diff(capsys, "--arch", arch, "--against", "goodfellow-decay")
    records = out["records"]
    assert rc == 0 and records and all(r["verdict"] == "equal" for r in records), records
    assert all("weight decay" in r["network"] for r in records)
    assert {r["formula"] for r in records} >= {"7.3-grad-W", "7.4-update-W", "7.5-update-W", "7.1-update-b"}


def test_wrong_decay_forms_are_different_with_a_named_mistake(tmp_path, capsys):
    forms = tmp_path / "slips.toml"
    forms.write_text(WRONG_FORMS)
    rc, out = _diff(capsys, "--arch", "2-3-2", "--forms", str(forms))
    got = {r["formula"]: (r["verdict"], r["mistake"]) for r in out["records"]}
    assert rc == 1
    assert got == {
        "right": ("equal", None),
        "flipped": ("different", "decay_sign_flipped"),
        "halved": ("different", "decay_halved"),
        "missing": ("different", "decay_missing"),
        "biases": ("different", "decayed_biases"),
    }
    # the same file with the biases in the penalty: now the bias form is the right one
    forms.write_text(WRONG_FORMS.replace("weight_decay = true", "weight_decay = true\ndecay_biases = true"))
    rc, out = _diff(capsys, "--arch", "2-3-2", "--forms", str(forms))
    assert {r["formula"]: r["verdict"] for r in out["records"]}["biases"] == "equal"


def test_a_decay_symbol_without_decay_is_a_catalog_error(tmp_path, capsys):
    forms = tmp_path / "bad.toml"
    forms.write_text(WRONG_FORMS.replace("weight_decay = true", "decay_biases = true"))
    assert main(["diff", "--arch", "2-3-2", "--forms", str(forms)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'decay_biases' needs 'weight_decay = true'" in err


def test_python_api_takes_the_decay_options():
    import derive

    d = derive.derivation("2-2-1", weight_decay=True, decay_biases=True)
    assert d.spec.name == "2-2-1-decay-all"
    with pytest.raises(derive.SpecError, match="needs --weight-decay"):
        derive.derivation("2-2-1", decay_biases=True)


def test_decay_trainer_sources_pass_ruff(trainers):
    result = ruff_check(module.__file__ for module in trainers.values())
    assert result.returncode == 0, result.stdout[-2000:]
