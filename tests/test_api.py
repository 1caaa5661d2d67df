"""The Python API: the same validation as the command line, and outputs that mean what they say."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import sympy as sp
from gradcheck import assert_close, central_difference

import derive
from derive.core import naming


@pytest.fixture(scope="module")
def d():
    return derive.derivation("2-3-2", act="tanh,softmax", loss="ce")


def cli_error(*args: str) -> str:
    r = subprocess.run(
        [sys.executable, "-m", "derive", *args], capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    assert r.returncode == 2
    return r.stderr.strip().removeprefix("backprop-derive: error: ")


@pytest.mark.parametrize(
    "kwargs, argv",
    [
        ({"arch": "2--3"}, ["--arch", "2--3"]),
        ({"arch": "2-3-2", "act": "swish"}, ["--arch", "2-3-2", "--act", "swish"]),
        ({"arch": "2-3-2", "loss": "ce"}, ["--arch", "2-3-2", "--loss", "ce"]),
        ({"arch": "2-3-2", "notation": "nope"}, ["--arch", "2-3-2", "--notation", "nope"]),
    ],
    ids=["arch", "act", "loss", "notation"],
)
def test_bad_input_raises_the_cli_message(kwargs, argv):
    with pytest.raises(derive.SpecError) as e:
        derive.derivation(**kwargs)
    assert str(e.value) == cli_error("build", *argv, "--no-pdf")


def test_delta_is_the_derived_form(d):
    y1, t1 = naming.symbol("y", 2, 1), naming.symbol("t", 2, 1)
    f = d.delta(2, 1)
    assert sp.simplify(f.rhs - (y1 - t1)) == 0  # softmax with cross-entropy: y - t
    assert f.lhs == naming.symbol("delta", 2, 1)
    assert len(d.delta(1)) == 3


def test_gradient_is_delta_times_input(d):
    f = d.gradient("W2", 1, 3)
    assert f.rhs == naming.symbol("delta", 2, 1) * naming.symbol("z", 1, 3)
    assert f.lhs == sp.Derivative(sp.Symbol("E"), naming.symbol("w", 2, 1, 3))
    assert d.gradient("b1", 2).rhs == naming.symbol("delta", 1, 2)
    assert f.number == d.derivation.equation("grad-w-2").number


@pytest.mark.parametrize("call", [("W3", 1, 1), ("W1", 4, 1), ("W1", 1, 3), ("b1", 1, 1), ("W1", 0, 1)])
def test_bad_parameter_is_one_line(d, call):
    with pytest.raises(derive.SpecError) as e:
        d.gradient(*call)
    assert "\n" not in str(e.value)


def test_trainer_is_imported_from_a_file_and_its_gradients_are_right(d, tmp_path):
    t = d.trainer(path=tmp_path / "trainer.py")
    assert t.__file__ == str(tmp_path / "trainer.py")
    params = t.init_params(seed=1)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4, 2))
    T = np.eye(2)[[0, 1, 1, 0]]
    grads = t.gradients(params, X, T)
    for key, value in params.items():

        def f(theta, key=key, shape=value.shape):
            return t.loss({**params, key: theta.reshape(shape)}, X, T)

        assert_close(grads[key], central_difference(f, value.ravel()).reshape(value.shape), what=key)


def test_outputs_match_the_cli_files(d, tmp_path):
    out = d.write(tmp_path / "out")
    assert (out / "derivation.tex").read_text() == d.latex()
    assert (out / "trainer.py").read_text() == d.trainer_source()
    assert d.formulas()["arch"] == "2-3-2"


def test_notation_changes_the_printing_not_the_maths(d):
    n = d.in_notation("nielsen")
    assert n.delta(1, 2).rhs == d.delta(1, 2).rhs
    assert n.delta(1, 2).latex() != d.delta(1, 2).latex()
    assert r"\delta^{2}_{2}" in n.delta(1, 2).latex()  # Nielsen's input layer is 1, so his first hidden layer is 2


def test_display_shows_no_internal_names(d):
    shown = [d._repr_markdown_(), d.equations._repr_markdown_(), d.delta(1)._repr_markdown_()]
    shown += [d.delta(2, 1)._repr_latex_(), d.gradient("W1", 1, 1)._repr_latex_()]
    for text in shown:
        assert "idx" not in text and "delta_" not in text and "w_1_" not in text
    assert r"\tag{7}" in d.equations.by_id("delta-2")._repr_latex_()


def test_diff_result(d):
    r = d.diff("bishop")
    assert r.status == 0 and len(r) > 0
    assert set(r.counts()) <= {"equal", "equal_under_convention", "different"}
    assert "| bishop |" in r._repr_markdown_()
