"""The worked example's printed numbers against an independent numpy forward pass and finite differences."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from derive.core import symbolic
from derive.core.lazy import RuleForms
from derive.pipeline import derivation
from derive.render import example
from derive.render.latex import document
from derive.render.printer import latex
from derive.spec import SpecError, make_spec

ACT = {
    "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
    "tanh": np.tanh,
    "relu": lambda a: np.maximum(a, 0),
    "linear": lambda a: a,
    "softmax": lambda a: np.exp(a - a.max()) / np.exp(a - a.max()).sum(),
}
LOSS = {
    "sse": lambda y, t: 0.5 * np.sum((t - y) ** 2),
    "mse": lambda y, t: np.mean((t - y) ** 2),
    "ce": lambda y, t: -np.sum(t * np.log(y)),
}
#: a table row; ``\\*`` ends the row before the last (no page break there)
#: a row of the gradient table: θ before (given, as given), then three computed numbers to six decimals, θ after
ROW = re.compile(r"^(\S.*?) & (-?\d+(?:\.\d+)?) & (-?\d+\.\d{6}) & (-?\d+\.\d{6}) & (-?\d+\.\d{6})\\\\\*?$", re.M)
HALF_ULP = 0.5e-6 + 1e-8  # printed to six decimals; the finite difference is good to ~1e-9


def error(params: dict, x, t, acts, loss) -> float:
    z = np.asarray(x, float)
    for l, act in enumerate(acts, start=1):
        z = ACT[act](np.asarray(params[f"W{l}"]) @ z + (np.asarray(params[f"b{l}"]) if f"b{l}" in params else 0))
    return float(LOSS[loss](z, np.asarray(t, float)))


def finite_differences(params: dict, x, t, acts, loss, h=1e-6) -> dict:
    grads = {}
    for key, value in params.items():
        arr = np.asarray(value, float)
        g = np.zeros_like(arr)
        for n in range(arr.size):
            up, down = {k: np.asarray(v, float).copy() for k, v in params.items()}, None
            down = {k: np.asarray(v, float).copy() for k, v in params.items()}
            up[key].flat[n] += h
            down[key].flat[n] -= h
            g.flat[n] = (error(up, x, t, acts, loss) - error(down, x, t, acts, loss)) / (2 * h)
        grads[key] = g
    return grads


def check_document(tex: str, d, ex: dict, acts, loss) -> int:
    """Every printed row agrees with the independent computation; returns the number of rows checked."""
    params = {k: v for k, v in ex.items() if k[0] in "Wb"}
    want = finite_differences(params, ex["x"], ex["t"], acts, loss)
    section = tex.split(r"\section{A worked example}")[1].split(r"\appendix")[0]
    rows = {m.group(1): [float(v) for v in m.groups()[1:]] for m in ROW.finditer(section)}
    checked = 0
    for p in d.parameters:
        sym = latex(p.symbol, "bishop", d.spec.n_layers)
        before, grad, fd, after = rows.pop(sym)
        value = np.asarray(params[p.key], float)[p.index]
        g = want[p.key][p.index]
        assert before == value, sym  # a given number, printed as given
        assert abs(grad - g) <= HALF_ULP, (sym, grad, g)
        assert abs(fd - g) <= HALF_ULP, (sym, fd, g)
        assert abs(after - (value - ex["lr"] * g)) <= HALF_ULP, sym
        checked += 1
    assert not rows, f"rows for unknown parameters: {sorted(rows)}"
    e0 = error(params, ex["x"], ex["t"], acts, loss)
    new = {k: np.asarray(v, float) - ex["lr"] * want[k] for k, v in params.items()}
    e1 = error(new, ex["x"], ex["t"], acts, loss)
    m = re.search(r"has error \$.* = (-?\d+\.\d{6})\$ \(before: \$(-?\d+\.\d{6})\$\)", section)
    assert abs(float(m.group(1)) - e1) <= 1e-6 and abs(float(m.group(2)) - e0) <= HALF_ULP
    return checked


@pytest.mark.parametrize(
    "arch,act,loss,bias",
    [
        ("2-3-2", "sigmoid", "sse", True),
        ("3-4-3", "relu,softmax", "ce", True),
        ("2-2-2-1", "tanh,tanh,linear", "sse", False),
    ],
    ids=["2-3-2", "3-4-3-ce", "2-2-2-1-nobias"],
)
def test_seeded_example_numbers_match_finite_differences(arch, act, loss, bias):
    d = derivation(make_spec(arch, act, loss, bias=bias))
    ex = example.default(d)
    data = {"x": ex.x, "t": ex.t, "lr": ex.lr, **ex.params}
    assert check_document(document.render(d), d, data, d.spec.activations, loss) == len(d.parameters)


USER = {
    "x": [0.9, -0.3],
    "t": [0.25, 0.75],
    "lr": 0.2,
    "W1": [[0.11, -0.52], [0.73, 0.04], [-0.35, 0.66]],
    "b1": [0.05, -0.15, 0.25],
    "W2": [[0.42, -0.61, 0.18], [-0.27, 0.33, 0.9]],
    "b2": [-0.08, 0.12],
}


def test_user_example_file_numbers_match_finite_differences(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(USER))
    d = derivation(make_spec("2-3-2", "tanh,sigmoid", "sse"))
    tex = document.render(d, path)
    assert r"mine.\allowbreak{}json" in tex
    assert check_document(tex, d, USER, ("tanh", "sigmoid"), "sse") == 17


@pytest.mark.parametrize(
    "change,message",
    [
        ({"W2": [[0.1, 0.2], [0.3, 0.4]]}, "W2[0] must be a list of 3 numbers"),
        ({"lr": -1}, "lr must be positive"),
        ({"x": [1, "a"]}, "x[1] must be a finite number"),
        ({"b9": [1]}, "unknown key(s) b9"),
        ({"t": [True, 0]}, "t[0] must be a finite number"),
    ],
    ids=["shape", "lr", "string", "unknown-key", "bool"],
)
def test_malformed_example_is_one_line_exit_2_and_nothing_written(tmp_path, change, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(USER | change))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "derive", "build", "--arch", "2-3-2", "--example", str(path), "--out", str(out)]
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1 and message in run.stderr
    assert not out.exists()


#: a ReLU unit exactly at its kink (50·1000 − 50·1000 = 0) under weights so large that a step of 1e-6
#: in W1[0, 0] moves the logits by 0.1: the central difference misses the (H(0) = 1/2) gradient by 2.5 %
AT_KINK = {
    "x": [1000, -1000],
    "t": [1, 0],
    "lr": 0.5,
    "W1": [[50, 50], [-50, 50], [3, 3]],
    "b1": [0, 0, 0],
    "W2": [[100, 100, 100], [1, 1, 1]],
    "b2": [0, 0],
}


def test_numbers_a_finite_difference_cannot_check_are_one_line_exit_2(tmp_path):
    """The derived gradient is right there (smaller steps converge to it); the user is asked for other numbers."""
    path = tmp_path / "kink.json"
    path.write_text(json.dumps(AT_KINK))
    d = derivation(make_spec("2-3-2", "relu,softmax", "ce"))
    ex = example.load(path, d.spec)
    # by hand: a = (0, -1e5, 0), z = 0, y = softmax(b2) = (1/2, 1/2), δ2 = y - t, δ1_1 = H(0) Σ_k W2[k, 0] δ2_k
    x, W2 = np.array(AT_KINK["x"], float), np.array(AT_KINK["W2"], float)
    delta2 = np.array([0.5, 0.5]) - np.array(AT_KINK["t"], float)
    g = 0.5 * (W2[:, 0] @ delta2) * x[0]
    params = {k: np.asarray(v, float) for k, v in ex.params.items()}
    rates = example.decay_rates(d.spec, ex)
    assert example._converges(example.evaluator(d), ex, params, rates, ("W1", (0, 0)), g)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "derive", "build", "--arch", "2-3-2", "--act", "relu,softmax", "--loss", "ce"]
    run = subprocess.run(
        [*cmd, "--example", str(path), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    assert run.returncode == 2, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert "W1[0, 0]" in run.stderr and "unit 1 of hidden layer 1 (relu) has a = 0" in run.stderr
    assert not out.exists()


def test_a_step_that_overflows_names_the_learning_rate():
    """y = σ(a) rounds to 1 after a step of lr = 1000, so log(1 - y) is -inf: the rate, not x, is to blame."""
    spec = make_spec("2-3-2", "leaky_relu,sigmoid", "bce")
    numbers = {
        "x": [1, 2],
        "t": [1, 0],
        "lr": 1000,
        "W1": [[1, 1]] * 3,
        "b1": [0] * 3,
        "W2": [[1] * 3] * 2,
        "b2": [0, 0],
    }
    with pytest.raises(SpecError, match=r"the error after the step overflows .*\(largest: lr = 1000\)"):
        example.run(derivation(spec), example.parse(numbers, spec, "big.json"))


def test_a_wrong_gradient_with_a_users_numbers_is_still_a_bug(tmp_path):
    """Only a difference that converges to the derived gradient blames the numbers; a wrong δ form still raises."""
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(USER))
    d = derivation(make_spec("2-3-2"))
    d.layers[-1].delta_forms = [2 * f for f in d.layers[-1].delta_forms]
    with pytest.raises(AssertionError, match="finite difference"):
        example.run(d, example.load(path, d.spec))


def test_not_json_and_missing_keys_are_spec_errors(tmp_path):
    spec = make_spec("2-3-2")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SpecError, match="is not valid JSON"):
        example.load(bad, spec)
    with pytest.raises(SpecError, match="missing b1, b2"):
        example.parse({k: v for k, v in USER.items() if k[0] != "b"}, spec, "x.json")
    with pytest.raises(SpecError, match="sum to 1"):
        example.parse(USER | {"t": [0.5, 0.6, 0.1]}, make_spec("2-3-3", "tanh,softmax", "ce"), "x.json")


def test_a_wrong_gradient_is_caught_before_printing():
    """The finite-difference gate in example.run really compares: break one δ form and it raises."""
    d = derivation(make_spec("2-3-2"))
    d.layers[-1].delta_forms = [2 * f for f in d.layers[-1].delta_forms]
    with pytest.raises(AssertionError, match="finite difference"):
        example.run(d, example.seeded(d.spec))


def test_the_sample_of_checked_parameters_is_every_nth_in_array_order():
    rng = np.random.default_rng(0)
    for shapes in ({"W1": (3, 2), "b1": (3,)}, {"W1": (40, 9), "b1": (40,), "W2": (7, 40), "b2": (7,)}):
        params = {k: rng.normal(size=s) for k, s in shapes.items()}
        every = [(k, idx) for k in sorted(params) for idx in np.ndindex(params[k].shape)]
        stride = -(-len(every) // example.FD_LIMIT) if len(every) > example.FD_LIMIT else 1
        assert example.sampled_positions(params) == every[::stride]


def test_a_large_nets_example_evaluates_its_per_layer_rules_like_the_unit_forms():
    """The δs of a lazy derivation come from its generic rules; they equal those of the unit-by-unit derivation."""
    spec = make_spec("8-7-3", "tanh,softmax", "ce")
    lazy, eager = symbolic.derive(spec, per_layer=True), symbolic.derive(spec, per_layer=False)
    assert isinstance(lazy.layers[0].delta_forms, RuleForms)
    ex = example.seeded(spec)
    fast, slow = example.run(lazy, ex), example.run(eager, ex)
    for layer in lazy.layers:
        for dj in layer.delta:
            assert fast.values[dj] == pytest.approx(slow.values[dj], rel=1e-12, abs=1e-15)
    assert fast.stale == pytest.approx(slow.stale, rel=1e-12)
    lazy.layers[0].delta_forms.rule = 2 * lazy.layers[0].delta_forms.rule  # a wrong rule is caught
    with pytest.raises(AssertionError, match="finite difference"):
        example.run(lazy, ex)


#: a computed number of the document: six decimals, or below 0.001 four significant digits times a power of ten
COMPUTED = r"(-?\d+\.\d{6}|\\ensuremath\{-?\d\.\d{3}\\times 10\^\{-\d+\}\})"


def _computed(text: str) -> float:
    power = re.fullmatch(r"\\ensuremath\{(-?[\d.]+)\\times 10\^\{(-?\d+)\}\}", text)
    return float(power[1]) * 10 ** int(power[2]) if power else float(text)


def test_a_deep_nets_small_gradients_keep_four_significant_digits():
    """Six decimals would print the vanishing gradients of the first layers as 0.000007; they keep four digits."""
    d = derivation(make_spec("1-2-2-2-2-1"))
    tex = document.render(d)
    table = tex[tex.index(r"\paragraph{Gradients and the update.}") :]
    rows = re.findall(r"^(\S.*?) & (-?[\d.]+) & " + " & ".join([COMPUTED] * 3) + r"\\\\\*?$", table, re.M)
    assert len(rows) == d.spec.n_parameters
    small = [r for r in rows if 0 < abs(_computed(r[2])) < 1e-3]
    assert small, "this net's first layers have gradients below 0.001"
    for r in small:
        assert r[2].startswith(r"\ensuremath"), r
        assert abs(_computed(r[2]) - _computed(r[3])) <= 1e-3 * abs(_computed(r[2]))  # FD agrees to 4 digits
