"""The worked example of an ``--optimizer adam`` build: Adam's first step, from m = v = 0 at t = 0 to t = 1.

The expected numbers are Kingma and Ba's Algorithm 1 written out here, with the gradient from autograd of the
example's error (plus (λ/2) Σ w² with weight decay, the forward pass of tests/test_example_defaults.py); the
example computes them from the Derivation's update equations.
"""

from __future__ import annotations

import html as htmllib
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from autograd import grad
from test_document import pdf_text
from test_example_decay import _objective
from test_example_defaults import _arrays

from derive import make_spec
from derive.pipeline import derivation
from derive.render import example, hand, numbers, seeding
from derive.render.html import page
from derive.render.latex import context as lc
from derive.render.latex import document, pdf
from derive.spec import SpecError


def kingma_ba_first_step(params, g, lr, beta1, beta2, eps):
    """Algorithm 1 of Kingma and Ba (2015), one iteration from m0 = v0 = 0, t = 0; g is the gradient at θ0."""
    out = {part: {} for part in ("m", "v", "mhat", "vhat", "change", "theta")}
    t = 1
    for k, theta in params.items():
        m = beta1 * np.zeros_like(theta) + (1 - beta1) * g[k]
        v = beta2 * np.zeros_like(theta) + (1 - beta2) * g[k] ** 2
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        new = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        for part, value in zip(out, (m, v, m_hat, v_hat, new - theta, new)):
            out[part][k] = value
    return out


def _write(tmp_path, spec, **extra):
    ex = example.default(derivation(spec))
    data = {"x": ex.x, "t": ex.t, "lr": ex.lr, **ex.params, **extra}
    path = tmp_path / "ex.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("decay", [False, True], ids=["plain", "weight-decay"])
@pytest.mark.parametrize("constants", [{}, {"beta1": 0.5, "beta2": 0.9, "eps": 0.01}], ids=["default", "file"])
def test_the_step_is_kingma_ba_algorithm_1_with_autograd_gradients(decay, constants, tmp_path):
    spec = make_spec("2-3-2", optimizer="adam", weight_decay=decay)
    d = derivation(spec)
    ex = example.load(_write(tmp_path, spec, **constants), spec) if constants else example.default(d)
    want_constants = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8} | constants
    assert (ex.beta1, ex.beta2, ex.eps) == tuple(want_constants.values())
    step = example.run(d, ex)
    params = _arrays(ex)
    J = _objective(spec, ex, ex.decay, False)
    g = grad(J)(params)
    want = kingma_ba_first_step(params, g, ex.lr, **want_constants)
    for part in ("m", "v", "mhat", "vhat", "change"):
        for k in params:
            np.testing.assert_allclose(step.adam[part][k], want[part][k], rtol=1e-9, atol=1e-15, err_msg=f"{part} {k}")
    for k in params:
        np.testing.assert_allclose(step.updated[k], want["theta"][k], rtol=1e-12, atol=1e-12)
    E = _objective(spec, ex, 0.0, False)
    assert step.error_after == pytest.approx(float(E(want["theta"])), rel=1e-12)
    for k in params:  # at t = 1, m̂ = g and v̂ = g²: each parameter moves by η |g|/(|g| + ε) against its gradient
        np.testing.assert_allclose(step.adam["mhat"][k], g[k], rtol=1e-12)
        np.testing.assert_allclose(step.adam["vhat"][k], g[k] ** 2, rtol=1e-9)
        size = ex.lr * np.abs(g[k]) / (np.abs(g[k]) + ex.eps)
        np.testing.assert_allclose(step.adam["change"][k], -np.sign(g[k]) * size, rtol=1e-9)


def test_the_seeded_learning_rate_suits_adams_step():
    """Adam moves each parameter by about η: the rate is the largest whose Adam step keeps at least half the error."""
    d = derivation(make_spec("2-3-2", optimizer="adam"))
    ex = example.default(d)
    step = example.run(d, ex)
    assert ex.lr in seeding.RATES and step.error_after < step.error
    assert step.error_after >= (1 - seeding.MAX_DROP) * step.error
    larger = [r for r in seeding.RATES if r > ex.lr]
    for rate in larger:  # every larger rate fails the rule
        after = example.run(d, example.Example(ex.x, ex.t, rate, ex.params)).error_after
        assert not (after < step.error and after >= (1 - seeding.MAX_DROP) * step.error)


@pytest.mark.parametrize("decay", [False, True], ids=["plain", "weight-decay"])
def test_the_hand_calculation_is_the_tables_numbers_and_redoes_them(decay):
    spec = make_spec("2-3-2", optimizer="adam", weight_decay=decay)
    d = derivation(spec)
    ex = example.default(d)
    step = example.run(d, ex)
    c = lc.Printing(d, "bishop")
    lines = hand.adam_lines(d, c, step, ex)
    w = hand.adam_parameter(d)
    key, index = example.array_position(w, spec.n_layers)
    assert [r["id"] for r in lines] == [f"update-{p}-w-2" for p in ("m", "v", "mhat", "vhat")] + ["update-w-2"]
    assert [r["number"] for r in lines] == [d.equation(r["id"]).number for r in lines]
    for r, part in zip(lines, ("m", "v", "mhat", "vhat", "change")):
        assert r["value"] == step.adam[part][key][index]
        # the numbers as written, worked out, give the result up to the rounding of what they were written from
        assert hand.evaluated(r["shown"]) == pytest.approx(r["value"], rel=5e-5)
    tex = document.render(d)
    table = tex[tex.index(r"\paragraph{Adam's step.}") : tex.index(r"\paragraph{Adam by hand.}")]
    row = next(line for line in table.splitlines() if line.startswith(c.tex(w) + " & "))
    cells = [cell.strip().rstrip("\\*").strip() for cell in row.split("&")[1:]]
    by_hand = tex[tex.index(r"\paragraph{Adam by hand.}") :]
    for cell, r in zip(cells, lines):
        assert cell == numbers.latex(r["value"], small=r["small"])
        assert f"= {cell}" in by_hand  # the hand line ends in the table's number
    assert all(rf"\tag*{{\eqn{{{r['id']}}}}}" in by_hand for r in lines)


@pytest.mark.parametrize(
    "options",
    [dict(), dict(weight_decay=True, notation="goodfellow"), dict(arch="3-4-3", act="relu,softmax", loss="ce")],
    ids=["2-3-2", "decay-goodfellow", "3-4-3-ce"],
)
def test_the_pdf_compiles_without_overfull_boxes_and_shows_the_step(options, tmp_path):
    kw = dict(options)
    notation = kw.pop("notation", "bishop")
    spec = make_spec(kw.pop("arch", "2-3-2"), kw.pop("act", "sigmoid"), kw.pop("loss", "sse"), optimizer="adam", **kw)
    d = derivation(spec)
    log = tmp_path / "derivation.log"
    text = pdf_text(pdf.compile_pdf(document.render(d, notation=notation), keep_log=log), tmp_path)
    log_text = log.read_text(encoding="latin-1")
    assert not re.search(r"^!", log_text, re.M) and "undefined" not in log_text.lower()
    assert "Overfull \\hbox" not in log_text and "Overfull \\vbox" not in log_text
    assert "Adam’s step." in text and "Adam by hand." in text and "point of Adam" in text
    ex = example.default(d)
    step = example.run(d, ex)
    change = numbers.plain(float(step.adam["change"]["W2"][0, 0]))
    assert change in text and numbers.plain(ex.lr, given=True) in text


def test_the_page_shows_the_same_numbers():
    spec = make_spec("2-3-2", optimizer="adam")
    d = derivation(spec)
    ex = example.default(d)
    step = example.run(d, ex)
    text = page.render(d)
    table = text[text.index('id="tab-example-adam"') : text.index("</table>", text.index('id="tab-example-adam"'))]
    rows = re.findall(r"<tr><td>.*?</td>((?:<td>.*?</td>)+)</tr>", table)
    assert len(rows) == spec.n_parameters
    heads = re.findall(r"<th>(.*?)</th>", table)  # the corrected moments are headed by their hatted letters
    assert [h.count('<mover accent="true">') for h in heads] == [0, 0, 0, 1, 1, 0], heads
    printed = [[htmllib.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td>(.*?)</td>", r)] for r in rows]
    positions = [(p.key, p.index) for p in d.parameters]
    for cells, (key, index) in zip(printed, positions):
        want = [numbers.html(float(step.adam[p][key][index]), small=p != "change") for p in step.adam]
        assert cells == [re.sub(r"<[^>]+>", "", w) for w in want]
    lines = hand.adam_lines(d, lc.Printing(d, "bishop"), step, ex)  # the results as plain text, as on the page
    shown = re.findall(r'<mtr class="hand" data-result="([^"]+)"', text[text.index('id="hand-adam"') :])[:5]
    assert shown == [r["result"] for r in lines]
    assert "One step of Adam on one sample" in text and "the point of Adam" in text


def test_the_example_file_sets_adams_constants(tmp_path):
    spec = make_spec("2-3-2", optimizer="adam")
    ex = example.load(_write(tmp_path, spec, beta1=0, beta2=0.5, eps=1e-6), spec)
    assert (ex.beta1, ex.beta2, ex.eps) == (0.0, 0.5, 1e-6)


@pytest.mark.parametrize(
    "key,value", [("beta1", 1), ("beta1", -0.1), ("beta2", 1.5), ("beta2", "0.9"), ("eps", 0), ("eps", None)]
)
def test_a_bad_constant_is_one_clear_error(tmp_path, key, value):
    spec = make_spec("2-3-2", optimizer="adam")
    with pytest.raises(SpecError, match=key):
        example.load(_write(tmp_path, spec, **{key: value}), spec)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum"])
def test_adams_constants_without_adam_are_refused(tmp_path, optimizer):
    spec = make_spec("2-3-2", optimizer=optimizer)
    with pytest.raises(SpecError, match="--optimizer adam"):
        example.load(_write(tmp_path, spec, beta1=0.9), spec)


def test_the_command_line_refuses_a_bad_beta_with_exit_2_and_no_output(tmp_path):
    spec = make_spec("2-3-2", optimizer="adam")
    path = _write(tmp_path, spec, beta2=1.0)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "derive", "build", "--arch", "2-3-2", "--optimizer", "adam", "--example", str(path)]
    run = subprocess.run(cmd + ["--out", str(out)], capture_output=True, text=True)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "beta2" in lines[0] and "[0, 1)" in lines[0] and "Traceback" not in run.stderr
    assert not out.exists()


def test_the_error_curve_repeats_adams_step_with_its_moments(tmp_path):
    """The figure's curve is Algorithm 1 run on the sample for CURVE_STEPS steps (t = 1, 2, ...), moments kept."""
    from derive.render import plots

    spec = make_spec("2-3-2", optimizer="adam", weight_decay=True)
    d = derivation(spec)
    ex = example.default(d)
    got = dict(
        plots.curve(
            d, ex.params, ex.x, ex.t, ex.lr, rates=example.decay_rates(spec, ex), update=example.curve_update(d, ex)
        )
    )
    J, E = _objective(spec, ex, ex.decay, False), _objective(spec, ex, 0.0, False)
    dJ = grad(J)
    theta = _arrays(ex)
    m = {k: np.zeros_like(v) for k, v in theta.items()}
    v = {k: np.zeros_like(a) for k, a in theta.items()}
    want = []
    for t in range(1, plots.CURVE_STEPS + 1):
        want.append(float(E(theta)))
        g = dJ(theta)
        for k in theta:
            m[k] = ex.beta1 * m[k] + (1 - ex.beta1) * g[k]
            v[k] = ex.beta2 * v[k] + (1 - ex.beta2) * g[k] ** 2
            m_hat, v_hat = m[k] / (1 - ex.beta1**t), v[k] / (1 - ex.beta2**t)
            theta[k] = theta[k] - ex.lr * m_hat / (np.sqrt(v_hat) + ex.eps)
    want.append(float(E(theta)))
    assert sorted(got) == [n for n in range(len(want)) if n % 2 == 0 or n == len(want) - 1]
    for n, value in got.items():
        assert value == pytest.approx(want[n], rel=1e-5), n
    # not gradient descent's curve with the same rate
    plain = dict(plots.curve(d, ex.params, ex.x, ex.t, ex.lr, rates=example.decay_rates(spec, ex)))
    assert plain[20] != pytest.approx(got[20], rel=1e-2)
