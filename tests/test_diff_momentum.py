"""The diff of the update with momentum: Rumelhart, Hinton and Williams (1986) eq. (9) and its wrong variants.

The catalog's rhw1986m algorithm runs several steps that carry the previous change
Δw(t−1) from one step to the next; it must be called equal to a momentum build, and
each wrong variant (made by editing the catalog's own steps) different with the
mistake named. The reference the runner compares with is itself checked against
momentum steps written here from the paper's equation, with gradients from autograd.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import autograd.numpy as anp
import mpmath
import numpy as np
import pytest
from autograd import grad
from catalogedit import edited_catalog, only

import derive
from derive.cli import main
from derive.core.decay import LAMBDA
from derive.core.update import ALPHA
from derive.diff import compare, report, rule
from derive.diff.catalog import sources
from derive.diff.catalog.types import CatalogError
from derive.diff.layers import ETA
from derive.diff.numbers import environment

CATALOG_FILE = Path(sources.CATALOG_DIR) / "rhw1986m.toml"


#: the catalog file with its steps edited by one regular expression, as a user's forms file
variant = functools.partial(edited_catalog, CATALOG_FILE)


def test_rhw_eq9_is_equal_to_a_momentum_build():
    d = derive.derivation("2-3-2", optimizer="momentum")
    rec = only([r for r in d.diff(against="rhw1986m").records if r["formula"] == "eq9-step"])
    assert rec["verdict"] == "equal", rec
    assert rec["target"] == "momentum_step"
    assert "α" in rec["method"] and "3 steps" in rec["method"]


def test_cli_diff_of_rhw_eq9(capsys):
    assert main(["diff", "--arch", "2-3-2", "--against", "rhw-momentum", "--json"]) == 0
    assert '"verdict": "equal"' in capsys.readouterr().out


# each wrong variant: (edit of the steps, the mistake the diff must name)
WRONG = {
    "plus-eta": (r"= -epsilon", "= epsilon", "dropped_sign"),
    "alpha-times-gradient": (
        r"(-epsilon \* (dEdx\d\[\w\])( \* y\[\w\])?) \+ alpha \* D[wb]\[[\w, ]+\]",
        r"\1 + alpha * \2\3",
        "momentum_on_gradient",
    ),
    "alpha-times-old-weight": (r"alpha \* D([wb])\[", r"alpha * \1[", "momentum_on_weight"),
    # each new change goes to a temporary of its own, so Dw keeps the change of the step before
    "change-not-stored": (r'("|\] \+ )D([wb])\[(\w)', r"\1new\2\3[\3", "increment_not_kept"),
}


@pytest.mark.parametrize("name", list(WRONG))
def test_wrong_momentum_is_different_and_named(tmp_path, name):
    pattern, replacement, mistake = WRONG[name]
    path = variant(tmp_path, pattern, replacement)
    rec = only(report.run("2-3-2", forms=path))
    assert rec["verdict"] == "different", rec
    assert rec["mistake"] == mistake, rec
    assert rec["explanation"] == compare.MISTAKES[mistake]
    cx = rec["counterexample"]
    assert cx["source_value"] != pytest.approx(cx["derived_value"], rel=1e-6)
    assert "α" in cx["point"]


def test_change_not_stored_is_equal_after_one_step_only(tmp_path):
    """The first step of a rule that forgets Δw(t) is right; only a later step tells: the runner carries state."""
    path = variant(tmp_path, *WRONG["change-not-stored"][:2])
    rec = only(report.run("2-3-2", forms=path))
    assert rec["counterexample"]["at"].endswith("after 2 steps"), rec["counterexample"]


def test_hidden_change_from_updated_weights_is_named(tmp_path):
    """Updating the output weights before the hidden δ is the ordering mistake, with momentum too."""
    path = tmp_path / "order.toml"
    # the output weights are updated before the hidden δ reads them
    steps = [
        '"dEdx2[j] = (y[j] - d[j]) * y[j] * (1 - y[j])"',
        '"Dw[j, i] = -epsilon * dEdx2[j] * y[i] + alpha * Dw[j, i]"',
        '"Db[j] = -epsilon * dEdx2[j] + alpha * Db[j]"',
        '"w[j, i] = w[j, i] + Dw[j, i]"',
        '"dEdx1[i] = Sum(dEdx2[j] * w[j, i], j) * y[i] * (1 - y[i])"',
        '"Dw[i, k] = -epsilon * dEdx1[i] * y[k] + alpha * Dw[i, k]"',
        '"Db[i] = -epsilon * dEdx1[i] + alpha * Db[i]"',
        '"b[j] = b[j] + Db[j]"',
        '"w[i, k] = w[i, k] + Dw[i, k]"',
        '"b[i] = b[i] + Db[i]"',
    ]
    original = CATALOG_FILE.read_text(encoding="utf-8")
    path.write_text(original[: original.index("steps = [")] + "steps = [\n  " + ",\n  ".join(steps) + "\n]\n")
    rec = only(report.run("2-3-2", forms=str(path)))
    assert rec["verdict"] == "different" and rec["mistake"] == "updated_weights_in_backward", rec


@pytest.mark.parametrize("decay", [False, True])
def test_momentum_reference_follows_eq9_with_autograd_gradients(decay):
    """rule.run for momentum against three steps written here from eq. (9), gradients by autograd;
    with weight decay the gradients are those of E + (λ/2) Σ w² (the weights only)."""
    ctx = compare.reference_net("2-3-2", "sigmoid", "sse", True, weight_decay=decay)
    d = ctx.d
    pts, envs = ctx.sample([])
    (alpha, prev), pt, env = rule.starts(d, "test")[0], pts[0], envs[0]
    pt = {**pt, ALPHA: alpha}
    got = rule.run(rule.rule(d, "momentum"), d, pt, env, prev)

    w1 = [[w for w in row] for row in d.layers[0].weights]
    w2 = [[w for w in row] for row in d.layers[1].weights]
    b1, b2 = list(d.layers[0].biases), list(d.layers[1].biases)
    order = [s for block in (w1, w2) for row in block for s in row] + b1 + b2
    x = np.array([float(pt[s]) for s in d.inputs])
    t = np.array([float(pt[s]) for s in d.targets])
    eta, a = float(pt[ETA]), float(alpha)
    lam = float(pt[LAMBDA]) if decay else 0.0
    assert not decay or lam > 0

    def error(theta):
        W1 = anp.reshape(theta[:6], (3, 2))
        W2 = anp.reshape(theta[6:12], (2, 3))
        z = 1 / (1 + anp.exp(-(anp.dot(W1, x) + theta[12:15])))
        y = 1 / (1 + anp.exp(-(anp.dot(W2, z) + theta[15:17])))
        return 0.5 * anp.sum((y - t) ** 2) + lam / 2 * anp.sum(theta[:12] ** 2)

    theta = np.array([float(pt[s]) for s in order])
    change = np.array([float(prev[s]) for s in order])
    for step in range(rule.STATEFUL_STEPS):
        change = -eta * grad(error)(theta) + a * change  # Δθ(t) = −η ∂E/∂θ(t) + α Δθ(t−1)
        theta = theta + change
        np.testing.assert_allclose([float(got[step][s]) for s in order], theta, rtol=1e-12, atol=1e-12)


def test_environment_of_a_later_step_is_recomputed():
    """The runner's second step reads forward values at the new weights, not the first step's."""
    ctx = compare.reference_net("2-3-2", "sigmoid", "sse", True)
    pts, envs = ctx.sample([])
    after = rule.run(rule.rule(ctx.d, "sgd"), ctx.d, pts[0], envs[0], {})[0]
    moved = environment(ctx.d, {**pts[0], **after})
    y = ctx.d.layers[-1].out[0]
    assert not mpmath.almosteq(moved[y], envs[0][y])


def decayed(tmp_path: Path, weights: str) -> str:
    """rhw1986m with weight decay: ``weights`` replaces each weight step's gradient term (biases undecayed)."""
    text = CATALOG_FILE.read_text(encoding="utf-8").replace("bias = true\n", "bias = true\nweight_decay = true\n")
    text = text.replace('Db = "increment"\n', 'Db = "increment"\nlam = "decay"\n')
    text, count = re.subn(r"-epsilon \* (dEdx\d\[\w\] \* y\[(\w)\])( \+ alpha \* Dw\[(\w), \w\])", weights, text)
    assert count == 2
    path = tmp_path / "decayed.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_momentum_with_weight_decay_is_equal_and_without_its_term_different(tmp_path):
    """Δw(t) = −ε (∂E/∂w + λw) + α Δw(t−1) is right for a net with decay; the same steps without λw are not."""
    right = decayed(tmp_path, r"-epsilon * (\1 + lam * w[\4, \2])\3")
    rec = only(report.run("2-3-2", forms=right))
    assert rec["verdict"] == "equal", rec
    assert "weight decay" in rec["network"] and "∂(E + Ω)/∂θ" in rec["method"]
    wrong = decayed(tmp_path, r"-epsilon * \1\3")
    rec = only(report.run("2-3-2", forms=wrong))
    assert rec["verdict"] == "different", rec
    assert "λ" in rec["counterexample"]["point"] or "lam" in rec["counterexample"]["point"]


def test_loader_refuses_an_unknown_optimizer(tmp_path):
    text = CATALOG_FILE.read_text(encoding="utf-8").replace('optimizer = "momentum"', 'optimizer = "nesterov"')
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match=r"optimizer 'nesterov' is not one of sgd, momentum, adam"):
        sources.load_source(path)


def test_a_form_cannot_read_the_previous_change(tmp_path, capsys):
    path = tmp_path / "form.toml"
    path.write_text(
        'id = "mine"\n[symbols]\nw = "weight"\nDw = "increment"\nalpha = "momentum"\n'
        '[[forms]]\nid = "f"\ntarget = "update_w"\nat = ["j", "i"]\nlayer = "all"\n'
        'indices = { j = "l", i = "l-1" }\nexpr = "alpha * Dw[j, i]"\n',
        encoding="utf-8",
    )
    assert main(["diff", "--arch", "2-3-2", "--forms", str(path)]) == 2
    err = capsys.readouterr().err
    assert "previous change" in err and err.count("\n") == 1
