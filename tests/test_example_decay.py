"""The worked example of a ``--weight-decay`` build: a nonzero λ whose term λθ shows in the numbers.

The expected gradients and steps come from autograd of E + (λ/2) Σ θ² written here (the forward pass of
tests/test_example_defaults.py) and from central differences of that same objective.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from test_example_defaults import _arrays, _error

from derive import make_spec
from derive.pipeline import derivation
from derive.render import example
from derive.render.html import page
from derive.render.latex import document
from derive.spec import SpecError

#: a computed number: six decimals, or below 0.001 four significant digits times a power of ten
COMPUTED = r"(-?\d+\.\d{6}|\\ensuremath\{-?\d\.\d{3}\\times 10\^\{-\d+\}\})"
#: a row of the gradient table: θ before (given, as given), then three computed numbers, θ after
ROW = re.compile(r"^(\S.*?) & (-?\d+(?:\.\d+)?) & " + " & ".join([COMPUTED] * 3) + r"\\\\\*?$", re.M)


def value(text: str) -> float:
    """A computed number of the document as a float."""
    power = re.fullmatch(r"\\ensuremath\{(-?[\d.]+)\\times 10\^\{(-?\d+)\}\}", text)
    return float(power[1]) * 10 ** int(power[2]) if power else float(text)


def _objective(spec, ex, lam: float, biases: bool):
    E = _error(spec, ex)

    def J(params):
        decayed = [k for k in params if k.startswith("W") or (biases and k.startswith("b"))]
        return E(params) + lam / 2 * sum(anp.sum(params[k] ** 2) for k in decayed)

    return J


@pytest.mark.parametrize("biases", [False, True])
def test_the_default_lambda_is_nonzero_and_the_step_is_that_of_e_plus_the_penalty(biases):
    spec = make_spec("2-3-2", weight_decay=True, decay_biases=biases)
    d = derivation(spec)
    ex = example.default(d)
    assert ex.decay == 0.01
    step = example.run(d, ex)
    J = _objective(spec, ex, 0.01, biases)
    params = _arrays(ex)
    want = grad(J)(params)
    plain = grad(_error(spec, ex))(params)
    for k in params:
        np.testing.assert_allclose(step.total[k], want[k], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(step.updated[k], params[k] - ex.lr * want[k], rtol=1e-9, atol=1e-12)
        # the penalty term is there, and only on the decayed arrays
        assert np.allclose(want[k] - plain[k], 0.01 * params[k] if (k[0] == "W" or biases) else 0.0)
    assert not np.allclose(want["W1"], plain["W1"])
    h = 1e-6  # central differences of the objective itself
    for k in params:
        for idx in np.ndindex(params[k].shape):
            up = {n: v.copy() for n, v in params.items()}
            down = {n: v.copy() for n, v in params.items()}
            up[k][idx] += h
            down[k][idx] -= h
            assert (J(up) - J(down)) / (2 * h) == pytest.approx(step.total[k][idx], abs=1e-7)


def test_the_documents_print_lambda_and_the_decayed_gradients():
    spec = make_spec("2-3-2", weight_decay=True)
    d = derivation(spec)
    ex = example.default(d)
    want = grad(_objective(spec, ex, 0.01, False))(_arrays(ex))
    tex = document.render(d)
    assert r"The decay coefficient is $\lambda = 0.01$" in tex
    assert re.search(r"\(before: \$[-\d.]+\$\) and\s+penalty \$\\Omega = ", tex)  # two clauses, not glued
    rows = ROW.findall(tex[tex.index(r"\paragraph{Gradients and the update.}") :])
    assert len(rows) == spec.n_parameters
    printed = sorted(value(r[2]) for r in rows)
    expected = sorted(float(v) for k in want for v in np.ravel(want[k]))
    np.testing.assert_allclose(printed, expected, atol=0.5e-6 + 1e-9)
    for r in rows:  # the finite difference of E + Ω agrees with the printed gradient
        assert abs(value(r[2]) - value(r[3])) <= 1e-6
    # the hand calculation adds λw to the backpropagated gradient of its weight
    hand = re.search(
        r"\\frac\{\\partial \(E \+ \\Omega\)\}\{\\partial \{w\^\{\(2\)\}_\{11\}\}\} &= .*\n&= (.*) = (.*)", tex
    )
    g, lam, w = re.fullmatch(r"(-?[\d.]+) \+ ([\d.]+) \\cdot \((-?[\d.]+)\)", hand.group(1)).groups()
    assert float(lam) == 0.01
    assert float(hand.group(2)) == pytest.approx(want["W2"][0, 0], abs=1e-6)
    assert float(g) + float(lam) * float(w) == pytest.approx(float(hand.group(2)), abs=1e-6)
    html = page.render(d)
    assert "decay coefficient λ = 0.01" in html


def _write(tmp_path, spec, **extra):
    ex = example.default(derivation(spec))
    data = {"x": ex.x, "t": ex.t, "lr": ex.lr, **ex.params, **extra}
    path = tmp_path / "ex.json"
    path.write_text(json.dumps(data))
    return path


def test_the_example_file_sets_lambda(tmp_path):
    spec = make_spec("2-3-2", weight_decay=True)
    assert example.load(_write(tmp_path, spec, **{"lambda": 0.2}), spec).decay == 0.2
    assert example.load(_write(tmp_path, spec, **{"lambda": 0}), spec).decay == 0.0
    assert example.load(_write(tmp_path, spec), spec).decay == 0.01  # the documented default


@pytest.mark.parametrize("value", [-0.1, "0.1", None, True, [0.1], 1e9])
def test_a_bad_lambda_is_one_clear_error(tmp_path, value):
    spec = make_spec("2-3-2", weight_decay=True)
    with pytest.raises(SpecError, match="lambda"):
        example.load(_write(tmp_path, spec, **{"lambda": value}), spec)


def test_lambda_without_weight_decay_is_refused(tmp_path):
    spec = make_spec("2-3-2")
    with pytest.raises(SpecError, match="--weight-decay"):
        example.load(_write(tmp_path, spec, **{"lambda": 0.1}), spec)


def test_the_command_line_refuses_a_bad_lambda_with_exit_2(tmp_path):
    spec = make_spec("2-3-2", weight_decay=True)
    path = _write(tmp_path, spec, **{"lambda": -1})
    cmd = [sys.executable, "-m", "derive", "build", "--arch", "2-3-2", "--weight-decay", "--example", str(path)]
    run = subprocess.run(cmd + ["--no-pdf", "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "lambda" in lines[0] and "Traceback" not in run.stderr
