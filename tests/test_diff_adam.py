"""The diff of Adam: Kingma and Ba (2015), Algorithm 1, and its wrong variants.

The catalog's kingma2015 algorithm carries Adam's state (the moments m and v of
every parameter and the step count t) over three steps; it must be called equal,
and each wrong variant (made by editing the catalog's own steps) different with
the mistake named. The reference the runner compares with is itself checked
against Algorithm 1 written here, with gradients from autograd.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from catalogedit import edited_catalog, only

import derive
from derive.cli import main
from derive.core import update
from derive.core.decay import LAMBDA
from derive.diff import compare, report, rule
from derive.diff.catalog import sources
from derive.diff.catalog.types import CatalogError
from derive.diff.layers import ETA
from derive.diff.safeparse import UnsafeForm, parse_step

CATALOG_FILE = Path(sources.CATALOG_DIR) / "kingma2015.toml"


#: the catalog file with its steps edited by one regular expression, as a user's forms file
variant = functools.partial(edited_catalog, CATALOG_FILE)


def test_algorithm_1_is_equal_to_an_adam_build():
    d = derive.derivation("2-3-2", optimizer="adam")
    rec = only([r for r in d.diff(against="kingma2015").records if r["formula"] == "algorithm-1"])
    assert rec["verdict"] == "equal", rec
    assert rec["target"] == "adam_step"
    assert "3 steps" in rec["method"] and "Kingma and Ba" in rec["method"]


def test_cli_diff_of_algorithm_1(capsys):
    assert main(["diff", "--arch", "2-3-2", "--against", "adam", "--json"]) == 0
    assert '"verdict": "equal"' in capsys.readouterr().out


# each wrong variant: (edit of the steps, the mistake the diff must name)
WRONG = {
    "descends-upwards": (r"\] - alpha \*", "] + alpha *", "dropped_sign"),
    # the moments straight into the step, without dividing by 1 − β^t
    "no-bias-correction": (r" / \(1 - beta_[12]\*\*t\)", "", "adam_no_bias_correction"),
    # √(v̂ + ε) for √v̂ + ε
    "epsilon-inside-root": (
        r"\(sqrt\((v\[[\w, ]+\] / \(1 - beta_2\*\*t\))\) \+ epsilon\)",
        r"sqrt(\1 + epsilon)",
        "adam_epsilon_inside_root",
    ),
    # each new moment goes to a temporary of its own, so m and v keep the moments of the step before
    "moments-not-stored": (None, None, "adam_moments_not_kept"),
}


@pytest.mark.parametrize("name", list(WRONG))
def test_wrong_adam_is_different_and_named(tmp_path, name):
    pattern, replacement, mistake = WRONG[name]
    if name == "moments-not-stored":  # the moment steps and the steps that read them, written by hand
        path = _not_stored(tmp_path)
    else:
        path = variant(tmp_path, pattern, replacement)
    rec = only(report.run("2-3-2", forms=path))
    assert rec["verdict"] == "different", rec
    assert rec["mistake"] == mistake, rec
    assert rec["explanation"] == compare.MISTAKES[mistake]
    cx = rec["counterexample"]
    assert cx["source_value"] != pytest.approx(cx["derived_value"], rel=1e-9)
    assert "t" in cx["point"] and any(k.startswith("m(") for k in cx["point"])


def _not_stored(tmp_path: Path) -> str:
    """Algorithm 1 with each new moment in a temporary, never stored in m and v."""
    text = CATALOG_FILE.read_text(encoding="utf-8")
    steps_at = text.index("steps = [")
    steps = text[steps_at:]
    steps = re.sub(r'"([mv])\[([\w, ]+)\] = ', lambda m: f'"{m[1]}new{len(m[2])}[{m[2]}] = ', steps)
    steps = re.sub(r"\(([mv])\[([\w, ]+)\] / \(", lambda m: f"({m[1]}new{len(m[2])}[{m[2]}] / (", steps)
    steps = re.sub(r"sqrt\(([mv])\[([\w, ]+)\] / \(", lambda m: f"sqrt({m[1]}new{len(m[2])}[{m[2]}] / (", steps)
    # a temporary is keyed by its units, not its layer: the two layers' moments need names of their own
    steps = steps.replace("new4[i, k]", "new4b[i, k]").replace("new1[i]", "new1b[i]")
    assert steps.count("new4[j, i]") == 4 and steps.count("new4b[i, k]") == 4, steps
    path = tmp_path / "forgets.toml"
    path.write_text(text[:steps_at] + steps, encoding="utf-8")
    return str(path)


def test_moments_not_stored_are_right_for_one_step_only(tmp_path):
    """The first step of an Adam that forgets m(t) and v(t) is right; only a later step tells."""
    rec = only(report.run("2-3-2", forms=_not_stored(tmp_path)))
    assert rec["counterexample"]["at"].endswith("after 2 steps"), rec["counterexample"]


@pytest.mark.parametrize("decay", [False, True])
def test_adam_reference_follows_algorithm_1_with_autograd_gradients(decay):
    """rule.run_adam against three steps of Algorithm 1 written here, from a drawn state; gradients by autograd,
    of E + (λ/2) Σ w² (the weights only) with weight decay."""
    ctx = compare.reference_net("2-3-2", "sigmoid", "sse", True, weight_decay=decay)
    d = ctx.d
    pts, envs = ctx.sample([])
    starts = rule.adam_starts(d, "test", 8)
    (scalars, state) = next(s for s in starts if s[1].t > 0)  # moments that are not zero
    assert any(s[1].t == 0 for s in starts)  # and the real start is drawn too
    pt, env = {**pts[0], **scalars}, {**envs[0], **scalars}
    got = rule.run_adam(rule.rule(d, "adam"), d, pt, env, state)

    w1 = [[w for w in row] for row in d.layers[0].weights]
    w2 = [[w for w in row] for row in d.layers[1].weights]
    b1, b2 = list(d.layers[0].biases), list(d.layers[1].biases)
    order = [s for block in (w1, w2) for row in block for s in row] + b1 + b2
    x = np.array([float(pt[s]) for s in d.inputs])
    target = np.array([float(pt[s]) for s in d.targets])
    eta, lam = float(pt[ETA]), float(pt[LAMBDA]) if decay else 0.0
    beta1, beta2, eps = (float(scalars[s]) for s in (update.BETA1, update.BETA2, update.EPSILON))

    def error(theta):
        W1 = anp.reshape(theta[:6], (3, 2))
        W2 = anp.reshape(theta[6:12], (2, 3))
        z = 1 / (1 + anp.exp(-(anp.dot(W1, x) + theta[12:15])))
        y = 1 / (1 + anp.exp(-(anp.dot(W2, z) + theta[15:17])))
        return 0.5 * anp.sum((y - target) ** 2) + lam / 2 * anp.sum(theta[:12] ** 2)

    theta = np.array([float(pt[s]) for s in order])
    m = np.array([float(state.m[s]) for s in order])
    v = np.array([float(state.v[s]) for s in order])
    t = state.t
    for step in range(rule.STATEFUL_STEPS):
        t += 1
        g = grad(error)(theta)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        theta = theta - eta * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
        np.testing.assert_allclose([float(got[step][s]) for s in order], theta, rtol=1e-12, atol=1e-12)


def test_adam_with_weight_decay_is_equal_with_its_term_and_different_without(tmp_path):
    """A decayed net: g = ∂E/∂w + λw inside both moments is right; the same steps with ∂E/∂w alone are not."""
    text = CATALOG_FILE.read_text(encoding="utf-8").replace("bias = true\n", "bias = true\nweight_decay = true\n")
    text = text.replace('t = "step"\n', 't = "step"\nlam = "decay"\n')
    grads = r"(dEdx\d\[(\w)\] \* y\[(\w)\])"
    right = variant(tmp_path, grads, r"(\1 + lam * w[\2, \3])", text)
    rec = only(report.run("2-3-2", forms=right))
    assert rec["verdict"] == "equal", rec
    assert "weight decay" in rec["network"] and "∂(E + Ω)/∂θ" in rec["method"]
    wrong = tmp_path / "no-term.toml"
    wrong.write_text(text, encoding="utf-8")
    rec = only(report.run("2-3-2", forms=str(wrong)))
    assert rec["verdict"] == "different", rec


def test_the_mistaken_rules_differ_from_the_derived_one():
    """Each named Adam mistake changes the derived rule; without bias correction the change is −η m/(√v + ε)."""
    d = compare.reference_net("2-3-2", "sigmoid", "sse", True).d
    derived = rule.rule(d, "adam")
    named = dict(rule.variants(derived))
    assert set(named) == {
        "dropped_sign",
        "adam_no_bias_correction",
        "adam_epsilon_inside_root",
        "adam_moments_not_kept",
    }
    for mistake, wrong in named.items():
        assert wrong.templates != derived.templates or not wrong.keeps, mistake
    raw = next(iter(named["adam_no_bias_correction"].templates.values()))
    b1, b2, eps = update.BETA1, update.BETA2, update.EPSILON
    m = b1 * rule.M_PREV + (1 - b1) * rule.GRAD
    v = b2 * rule.V_PREV + (1 - b2) * rule.GRAD**2
    assert (raw - (-ETA * m / (v ** (1 / 2) + eps))).subs(
        {rule.GRAD: 0.3, rule.M_PREV: 0.1, rule.V_PREV: 0.2, b1: 0.9, b2: 0.99, eps: 0.01, ETA: 0.5}
    ) == pytest.approx(0)


def test_the_step_count_may_be_an_exponent_only_where_declared():
    """β**t is read when t is a step count; any other name as an exponent is still refused."""
    names, functions = {"m", "beta_1", "t", "x"}, {"sqrt"}
    target, rhs = parse_step("x[j] = m[j] / (1 - beta_1**t)", names, functions, {"j"}, {"t"})
    assert rhs[2] == ("sub", ("num", 1), ("pow", ("ref", "beta_1", ()), ("ref", "t", ())))
    with pytest.raises(UnsafeForm, match="an exponent must be a number"):
        parse_step("x[j] = m[j] / (1 - beta_1**t)", names, functions, {"j"})
    with pytest.raises(UnsafeForm, match="an exponent must be a number"):
        parse_step("x[j] = m[j] / (1 - beta_1**m[j])", names, functions, {"j"}, {"m"})


def test_adam_state_is_refused_in_a_form(tmp_path, capsys):
    path = tmp_path / "form.toml"
    path.write_text(
        'id = "mine"\n[symbols]\nw = "weight"\nm = "first_moment"\n'
        '[[forms]]\nid = "f"\ntarget = "update_w"\nat = ["j", "i"]\nlayer = "all"\n'
        'indices = { j = "l", i = "l-1" }\nexpr = "-m[j, i]"\n',
        encoding="utf-8",
    )
    assert main(["diff", "--arch", "2-3-2", "--forms", str(path)]) != 0
    out = capsys.readouterr()
    assert "Adam's state (first_moment)" in out.out + out.err


def test_loader_refuses_an_unknown_kind_for_adams_state(tmp_path):
    text = CATALOG_FILE.read_text(encoding="utf-8").replace('m = "first_moment"', 'm = "moment"')
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match="symbol 'm' needs a kind, one of .*first_moment, second_moment, step"):
        sources.load_source(path)
