"""The hand calculation of wide layers: long sums elided alike in formula and numbers, results of the whole sums.

Nets whose layers have more than HAND_WIDTH inputs (or a softmax over more than HAND_WIDTH
outputs) show one output and one hidden unit by hand too. Each test reads what a reader reads
(the PDF's LaTeX, the page's MathML) and checks it against the example's values, the generated
trainer and central finite differences; the PDFs are compiled and their logs read.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from gradcheck import entry_difference

import derive
from derive.render import example, hand
from derive.render import numbers as number_format
from derive.render.latex import hand as latex_hand
from derive.render.latex import pdf
from derive.render.latex.context import Printing
from derive.render.mathml import mathml
from derive.render.printer import latex

WIDE = {
    "3-5-4": dict(arch="3-5-4"),
    "784-128-64-10": dict(arch="784-128-64-10"),
    "3-5-6-sigmoid-softmax-ce": dict(arch="3-5-6", act="sigmoid,softmax", loss="ce"),
}
ELIDED_SENTENCE = "stands for the terms between those written out: they are computed in the same way"


@pytest.fixture(scope="module", params=sorted(WIDE))
def net(request):
    kw = dict(WIDE[request.param])
    dd = derive.derivation(kw.pop("arch"), **kw)
    d = dd.derivation
    step = example.run(d, example.default(d))
    return dd, step, dd.html(), dd.latex()


def _in_formula_order(formula: str, printed: dict, ellipsis: str) -> list:
    """The formula read left to right: each symbol's occurrence as the symbol, the ellipsis as ``ellipsis``."""
    spots = [(m.start(), ellipsis) for m in re.finditer(re.escape(ellipsis), formula)]
    for sym, text in printed.items():
        spots += [(m.start(), sym) for m in re.finditer(re.escape(text), formula)]
    return [what for _, what in sorted(spots, key=lambda s: s[0])]


def _lines(layer) -> list:
    return [layer.pre[0], layer.act[0], layer.delta_forms[0]]


def test_wide_nets_have_the_hand_calculation_in_the_pdf_and_on_the_page(net):
    dd, _, page, tex = net
    assert r"\paragraph{By hand.}" in tex and tex.count(r"\begin{align*}") >= 2
    assert 'id="hand-output"' in page and 'id="hand-hidden"' in page
    assert ELIDED_SENTENCE in tex and ELIDED_SENTENCE in page  # the reader is told what ⋯ stands for


def test_pdf_numbers_are_the_values_of_the_formula_symbols_with_the_ellipsis_in_the_same_place(net):
    dd, step, _, _ = net
    d = dd.derivation
    L = d.spec.n_layers
    elided = 0
    for layer in d.layers[-2:]:
        rows = latex_hand.unit(d, Printing(d, "bishop"), step, layer)
        for r, expr in zip(rows, _lines(layer)):
            printed = {s: latex(s, "bishop", L) for s in expr.free_symbols}
            # numbers with a decimal point: a given integer (a target 1) reads like the formula's own constants
            want = [
                w if w == r"\cdots" else hand.shown_text(step, w)
                for w in _in_formula_order(r["formula"], printed, r"\cdots")
            ]
            want = [w for w in want if w == r"\cdots" or "." in w]
            got = re.findall(r"\\cdots|-?\d+\.\d+", r["numbers"])
            assert got == want, r["formula"]
            elided += r"\cdots" in r["numbers"]
    assert elided >= 1


def test_page_numbers_are_the_values_of_the_formula_symbols_with_the_ellipsis_in_the_same_place(net):
    dd, step, page, _ = net
    d = dd.derivation
    L = d.spec.n_layers
    elided = 0
    for which, layer in (("output", d.layers[-1]), ("hidden", d.layers[-2])):
        rows = _hand_rows(page, which)
        for (formula, numbers, _), expr in zip(rows, _lines(layer)):
            printed = {s: mathml(s, "bishop", L) for s in expr.free_symbols}
            # numbers with a decimal point: a given integer (a target 1) reads like the formula's own constants
            want = [
                "⋯" if w == "<mo>⋯</mo>" else hand.shown_text(step, w)
                for w in _in_formula_order(formula, printed, "<mo>⋯</mo>")
            ]
            want = ["⋯" if w == "⋯" else float(w) for w in want if w == "⋯" or "." in w]
            tokens = re.findall(r"<mo>⋯</mo>|<mn>−?\d+\.\d+</mn>", numbers)
            got = ["⋯" if t == "<mo>⋯</mo>" else float(t[4:-5].replace("−", "-")) for t in tokens]
            assert got == want, formula
            elided += "⋯" in numbers
    assert elided >= 1


def _hand_rows(page: str, which: str) -> list[tuple[str, str, float]]:
    block = re.search(r'<div id="hand-%s">(.*?)</div>\s*</div>' % which, page, re.S).group(1)
    rows = re.findall(r"<mtr>(.*?)</mtr>\s*<mtr class=\"hand\" data-result=\"([^\"]+)\">(.*?)</mtr>", block, re.S)
    # the formula without its left side, the numbers without the result after them
    return [
        (formula.split("</mtd>", 1)[1], numbers.rsplit("<mo>=</mo>", 1)[0], float(result))
        for formula, result, numbers in rows
    ]


def test_results_are_the_whole_sums_of_the_trainer_and_finite_differences(net):
    """Each result is the trainer's value (every term counted, not only the shown ones) and the gradient's FD."""
    dd, step, page, tex = net
    d = dd.derivation
    ex = example.default(d)
    trainer = dd.trainer()
    params = {k: np.asarray(v, float) for k, v in ex.params.items()}
    X, T = np.asarray([ex.x], float), np.asarray([ex.t], float)
    grads = trainer.gradients(params, X, T)
    values = trainer._forward_pass(params, X)
    for which, layer in (("output", d.spec.n_layers), ("hidden", d.spec.n_layers - 1)):
        rows = _hand_rows(page, which)
        a, out = values[2 * (layer - 1)][0, 0], values[2 * (layer - 1) + 1][0, 0]
        delta, grad = np.ravel(grads[f"b{layer}"])[0], grads[f"W{layer}"][0, 0]  # ∂E/∂b is the unit's δ
        assert [r[2] for r in rows] == pytest.approx([a, out, delta, grad], abs=1e-6)
        fd = entry_difference(lambda p: trainer.loss(p, X, T), params, f"W{layer}", (0, 0))
        assert rows[-1][2] == pytest.approx(fd, abs=1e-5)
        # the PDF prints the same results, each after its numbers
        for r in rows:
            assert f"= {number_format.latex(r[2])}" in tex
    # an elided sum's result is not the sum of its shown terms alone
    pre = d.layers[-1].pre[0]
    shown = hand.shown_numbers(pre, step)
    assert hand.evaluated(shown) == pytest.approx(step.values[d.layers[-1].a[0]], abs=2e-5)
    assert len(shown.args) == d.layers[-1].n_in + 1


@pytest.mark.parametrize("name", ["3-5-4", "784-128-64-10", "8-7-3"])
def test_the_pdf_of_a_wide_net_has_no_overfull_box(name, tmp_path):
    kw = dict(WIDE.get(name, dict(arch=name)))  # 8-7-3: a hidden δ of three terms, in a wide layer
    tex = derive.derivation(kw.pop("arch"), **kw).latex()
    log = tmp_path / "derivation.log"
    pdf.compile_pdf(tex, keep_log=log)
    text = log.read_text(encoding="latin-1")
    assert not re.search(r"^!", text, re.M)
    assert "Overfull \\hbox" not in text
    # the hidden δ's long sum is set on two rows, under brackets that open on one and close on the other
    assert re.search(r"\\bigl\(.*\\\\\n&\\qquad \+ .*\\bigr\)", tex)


def test_narrow_layers_are_not_elided():
    dd = derive.derivation("3-4-3", act="relu,softmax", loss="ce")
    tex, page = dd.latex(), dd.html()
    hand_part = tex.split(r"\paragraph{By hand.}")[1].split("Every other unit")[0]
    assert r"\cdots" not in hand_part and ELIDED_SENTENCE not in tex and ELIDED_SENTENCE not in page
