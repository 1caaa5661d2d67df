"""The web page teaches what the PDF teaches: general rules, why, steps, the hand calculation, in the PDF's order.

Each test reads the page as a reader would (its sections, its printed numbers) and checks the
content against something computed elsewhere: formulas.json, the generated trainer, finite
differences, the LaTeX document.
"""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
import sympy as sp
from gradcheck import entry_difference

import derive
from derive.core import general
from derive.render import hand
from derive.render.mathml import mathml

NETS = {
    "2-3-2": dict(arch="2-3-2"),
    "2-3-3-2-tanh-softmax-ce": dict(arch="2-3-3-2", act="tanh,tanh,softmax", loss="ce"),
    "3-4-3-relu-softmax-ce": dict(arch="3-4-3", act="relu,softmax", loss="ce"),
}


@pytest.fixture(scope="module", params=sorted(NETS))
def net(request):
    kw = dict(NETS[request.param])
    dd = derive.derivation(kw.pop("arch"), **kw)
    return dd, dd.html()


def _section(page: str, sid: str) -> str:
    m = re.search(r'<section id="%s">(.*?)</section>' % sid, page, re.S)
    assert m, f"no section {sid}"
    return m.group(1)


def _text(page: str) -> str:
    """The page's words: no tags, no maths, no style sheet."""
    body = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    body = re.sub(r"<math.*?</math>", " ", body, flags=re.S)
    return re.sub(r"<[^>]+>", " ", body)


# ---------------------------------------------------------------- the general rules


def _parse(text: str) -> sp.Expr:
    """A formulas.json "sympy" string: names followed by [ are indexed families, idx<n> are unit indices."""
    names = set(re.findall(r"([A-Za-z_][A-Za-z_0-9]*)\[", text))
    local = {n: sp.IndexedBase(n) for n in names}
    local |= {n: sp.Symbol(n, integer=True) for n in set(re.findall(r"\bidx\d+\b", text))}
    return sp.sympify(text, locals=local)


def _numbers(expr: sp.Expr, units: dict, values: dict) -> float:
    """``expr`` with its unit indices set, its sums written out, every indexed entry a random number."""
    out = expr.xreplace(units).doit()
    atoms = {a for a in out.atoms(sp.Indexed)}
    for a in sorted(atoms, key=str):
        key = (str(a.base), tuple(int(k) for k in a.indices))
        values.setdefault(key, random.Random(str(key)).uniform(-1, 1))
    return float(out.xreplace({a: values[(str(a.base), tuple(int(k) for k in a.indices))] for a in atoms}))


def test_general_rules_instantiate_to_the_equations_of_formulas_json(net):
    """The page's claim "rule R gives equation X" holds numerically on formulas.json's own equations."""
    dd, page = net
    d = dd.derivation
    section = _section(page, "sec-general")
    assert 'data-eq="rule-2"' in section and 'data-eq="rule-4"' in section and 'id="box-rules"' in section
    claims = re.findall(r'data-rule="([^"]+)" data-gives="([^"]+)"', section)
    assert {r for r, _ in claims} >= {"rule-2", "rule-4"}
    formulas = {e["id"]: e for e in dd.formulas()["equations"]}
    checked = 0
    for rule, gives in claims:
        generic = d.equation(rule)
        for eq_id in gives.split():
            layer = int(eq_id.rsplit("-", 1)[1])
            shown = formulas[eq_id]
            number = re.search(r'href="#eq-(\d+)"', section[section.index(f'data-gives="{gives}"') :]).group(1)
            assert int(number) == d.equation(rule).number  # the claim links the rule it names
            fprime = d.equation(f"fprime-{layer}").rhs if f"fprime-{layer}" in formulas else sp.Integer(1)
            inst = general.instantiate(generic.rhs, layer, d.spec.n_layers, d.spec.sizes, fprime)
            # ∂E/∂y of the output rule is the derived (6): both are written in the output layer's unit index
            inst = inst.replace(lambda e: isinstance(e, sp.Derivative), lambda e: d.equation("dE-dy").rhs)
            concrete = _parse(shown["rhs"]["sympy"])
            # the index letters: the unit of this layer, of the one below, of the one above
            idx = {s for s in concrete.free_symbols if s.name.startswith("idx")}
            idx |= {s for s in inst.free_symbols if s.name.startswith("idx")}
            for trial in range(3):
                units = {s: sp.Integer(1 + trial % 2) for s in idx}
                units_inst = {s: units[s] for s in inst.free_symbols if s in idx}
                values: dict = {}
                here = _numbers(concrete, {s: units[s] for s in concrete.free_symbols if s in idx}, values)
                rule_value = _numbers(inst, units_inst, values)
                assert here == pytest.approx(rule_value, rel=1e-12, abs=1e-12), (rule, eq_id)
            checked += 1
    assert checked >= d.spec.n_layers


def test_matrix_rules_state_their_shapes(net):
    _, page = net
    section = _section(page, "sec-general")
    shapes = re.findall(r'class="shape" data-eq="(rule-[0-9]-matrix)">(.*?)</span>', section, re.S)
    assert {s for s, _ in shapes} >= {"rule-2-matrix", "rule-4-matrix"}
    for _, text in shapes:
        assert text.count("<math>") == 2 and "×" in text


# ---------------------------------------------------------------- the hand calculation


def _hand_rows(page: str, which: str) -> list[tuple[str, str, float]]:
    block = re.search(r'<div id="hand-%s">(.*?)</div>\s*</div>' % which, page, re.S).group(1)
    rows = re.findall(r"<mtr>(.*?)</mtr>\s*<mtr class=\"hand\" data-result=\"([^\"]+)\">(.*?)</mtr>", block, re.S)
    return [(formula, numbers, float(result)) for formula, result, numbers in rows]


def _numbers_in(mathml_text: str) -> list[float]:
    return [float(t.replace("−", "-")) for t in re.findall(r"<mn>([^<]+)</mn>", mathml_text)]


def test_hand_calculation_agrees_with_the_trainer_and_finite_differences(net):
    """The page's gradient of w_11 of the output layer and the layer below: the trainer's and a central difference."""
    dd, page = net
    d = dd.derivation
    from derive.render import example

    ex = example.default(d)
    trainer = dd.trainer()
    params = {k: np.asarray(v, float) for k, v in ex.params.items()}
    X, T = np.asarray([ex.x], float), np.asarray([ex.t], float)
    grads = trainer.gradients(params, X, T)
    for which, layer in (("output", d.spec.n_layers), ("hidden", d.spec.n_layers - 1)):
        rows = _hand_rows(page, which)
        assert len(rows) >= 3
        got = rows[-1][2]  # the last line: the gradient of the unit's first weight
        key = f"W{layer}"
        assert got == pytest.approx(grads[key][0, 0], abs=1e-6)
        fd = entry_difference(lambda p: trainer.loss(p, X, T), params, key, (0, 0))
        assert got == pytest.approx(fd, abs=1e-5)
        # the pre-activation and output lines are the trainer's forward values
        values = trainer._forward_pass(params, X)
        a, out = values[2 * (layer - 1)], values[2 * (layer - 1) + 1]
        assert rows[0][2] == pytest.approx(a[0, 0], abs=1e-6)
        assert rows[1][2] == pytest.approx(out[0, 0], abs=1e-6)


def test_hand_numbers_stand_in_the_order_of_the_formula(net):
    """Reading the numbers line left to right gives the values of the formula's symbols read left to right."""
    dd, page = net
    d = dd.derivation
    from derive.render import example

    ex = example.default(d)
    step = example.run(d, ex)
    for which, layer in (("output", d.layers[-1]), ("hidden", d.layers[-2])):
        rows = _hand_rows(page, which)
        formula, numbers, _ = rows[0]  # a = b + w z + ...: the pre-activation
        symbols = sorted(layer.pre[0].free_symbols, key=str)
        spots = []
        for s in symbols:
            text = mathml(s, "bishop", d.spec.n_layers)
            assert formula.count(text) == 1, s
            spots.append((formula.index(text), round(hand.value_of(step, s), 6)))
        want = [v for _, v in sorted(spots)]
        assert _numbers_in(numbers)[: len(want)] == pytest.approx(want, abs=1e-9)


@pytest.mark.parametrize("name", sorted(NETS))
def test_each_shown_numbers_line_evaluates_to_its_result(name):
    kw = dict(NETS[name])
    d = derive.derivation(kw.pop("arch"), **kw).derivation
    from derive.render import example

    step = example.run(d, example.default(d))
    for layer in d.layers[-2:]:
        for formula, result in (
            (layer.pre[0], step.values[layer.a[0]]),
            (layer.act[0], step.values[layer.out[0]]),
            (layer.delta_forms[0], step.values[layer.delta[0]]),
        ):
            shown = hand.shown_numbers(formula, step)
            assert not (shown.free_symbols - shown.atoms(hand.Valued))
            assert hand.evaluated(shown) == pytest.approx(result, abs=2e-5)


def test_relu_is_written_as_a_maximum_with_its_number():
    dd = derive.derivation("3-4-3", act="relu,softmax", loss="ce")
    rows = _hand_rows(dd.html(), "hidden")
    formula, numbers, result = rows[1]  # z = max(0, a), then max(0, <a's value>) = result
    assert "<mo>max</mo>" in formula and "<mo>max</mo>" in numbers
    zero, a, printed = _numbers_in(numbers)
    assert zero == 0 and printed == result == pytest.approx(max(0.0, a), abs=1e-6)


# ---------------------------------------------------------------- order, why, words


def _pdf_sections(tex: str) -> list[str]:
    return re.findall(r"\\section\{([^}]*)\}", tex)


def test_sections_appear_in_the_pdf_order(net):
    dd, page = net
    titles = [re.sub(r"<[^>]+>", "", t) for t in re.findall(r"<h2>\d+\. (.*?)</h2>", page)]
    pdf = [re.sub(r"\(\(\*.*?\*\)\)", "", t) for t in _pdf_sections(dd.latex())]
    same = {"How each formula was proved": "How each formula was checked"}
    pdf = [same.get(t, t) for t in pdf]
    assert titles == pdf


def test_why_section_counts_and_backward_picture(net):
    dd, page = net
    d = dd.derivation
    why = _section(page, "sec-why")
    weights = sum(layer.n_in * layer.n_out for layer in d.layers)
    m = re.search(r'data-forward="(\d+)" data-backward="(\d+)" data-fd="(\d+)"', why)
    assert int(m.group(1)) == weights and int(m.group(3)) == 2 * d.spec.n_parameters * weights
    assert int(m.group(2)) < int(m.group(3))
    figure = re.search(r'<figure id="fig-backward">(.*?)</figure>', why, re.S).group(1)
    for layer in d.layers:  # every unit of every layer is labelled with its δ
        for delta in layer.delta:
            assert mathml(delta, "bishop", d.spec.n_layers) in figure
    assert figure.count("<circle") == sum(d.spec.sizes)
    if d.spec.activations[-1] == "softmax" and d.spec.loss == "ce":
        assert "Why softmax with cross-entropy gives" in why
    if "relu" in d.spec.activations:
        assert "Dead units" in why


def test_algorithm_has_the_numbered_update_and_the_whole_loop(net):
    dd, page = net
    d = dd.derivation
    alg = _section(page, "sec-algorithm")
    for e in d.equations:
        if e.id.startswith("update-"):
            assert f'data-eq="{e.id}"' in alg
    words = _text(alg)
    for phase in ("Initialise.", "Repeat for each epoch", "Forward.", "Backward.", "Update.", "Stop"):
        assert phase in words
    assert words.index("Initialise.") < words.index("Forward.") < words.index("Update.") < words.index("Stop")


def test_activation_derivatives_are_shown_line_by_line(net):
    dd, page = net
    d = dd.derivation
    assert d.steps, "no derivation shown line by line"
    assert page.count("each line checked by SymPy") == len(d.steps) and 'id="sec-steps"' in page
    for s in d.steps:  # every proved line is on the page, in its order
        spots = [page.find(mathml(line, "bishop", d.spec.n_layers)) for line in s.lines[1:]]
        assert -1 not in spots and spots == sorted(spots), s.id


def test_no_words_from_inside_the_project(net):
    _, page = net
    words = _text(page).lower()
    for word in ("proxy", "seed", "session", "helper"):
        assert word not in words, word
    letters = re.sub(r"<[^>]+>", "", page)  # the maths' letters too, as a reader sees them
    assert "idx" not in letters  # no symbol reaches the page by its internal name


def test_every_gradient_expands_the_rows_the_pdf_expands(net):
    dd, page = net
    table = re.search(r'<table id="tab-gradients">(.*?)</table>', page, re.S).group(1)
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td><code>(.*?)</code></td></tr>", table, re.S)
    assert len(rows) == dd.spec.n_parameters
    tex = dd.latex()
    table_tex = tex[tex.index(r"\label{tab:grads}") : tex.index(r"\end{longtable}", tex.index(r"\label{tab:grads}"))]
    pieces = re.split(r"\\texttt\{([^}]*)\}", table_tex)[1:]  # key, the text after it, key, ...
    pdf_expanded = [key for key, after in zip(pieces[::2], pieces[1::2]) if r"\multicolumn" in after.split("&")[1]]
    assert pdf_expanded, "the PDF expands no gradient"
    assert [key for _, cell, key in rows if "<br>" in cell] == pdf_expanded


def test_zero_gradients_are_explained_with_the_pdfs_reasons(tmp_path):
    """An input of 0 and a switched-off ReLU: both pages say why their zero gradients are zero, and say the same."""
    import json

    example_file = tmp_path / "dead.json"
    example_file.write_text(
        json.dumps(
            {
                "x": [0.0, 0.5, -0.3],
                "t": [1, 0, 0],
                "lr": 0.1,
                "W1": [[0.5, 0.2, -0.1], [-0.5, -0.8, 0.9], [0.3, 0.4, 0.2], [0.1, -0.2, 0.3]],
                "b1": [0.1, -0.2, 0.0, 0.05],
                "W2": [[0.2, -0.3, 0.4, 0.1], [0.5, 0.1, -0.2, 0.3], [-0.1, 0.2, 0.3, -0.4]],
                "b2": [0.0, 0.1, -0.1],
            }
        )
    )
    dd = derive.derivation("3-4-3", act="relu,softmax", loss="ce")
    page, tex = dd.html(example=example_file), dd.latex(example=example_file)
    said = [re.sub(r"<[^>]+>", "", p) for p in re.findall(r'<p class="zeros">(.*?)</p>', page, re.S)]
    assert len(said) == 2  # x_1 = 0, and unit 2 of the hidden layer has a negative pre-activation
    for sentence in said:
        assert sentence.rstrip(".") in " ".join(tex.split())
    table = page.split('id="tab-example-gradients"')[1].split("</table>")[0]
    grads = re.findall(r"<tr><td><math>.*?</math></td><td>.*?</td><td>(.*?)</td>", table)
    # W1[0, 0] (input 0) and every weight into the switched-off unit
    assert sum(float(g.replace("−", "-")) == 0 for g in grads) >= 2


@pytest.mark.parametrize("name", sorted(NETS))
def test_pdf_hand_numbers_stand_in_the_order_of_the_formula(name):
    """The PDF's pre-activation line: b + w z + ... with its numbers in the same places."""
    from derive.render import example
    from derive.render.latex import hand as latex_hand
    from derive.render.latex.context import Printing
    from derive.render.printer import latex

    kw = dict(NETS[name])
    d = derive.derivation(kw.pop("arch"), **kw).derivation
    step = example.run(d, example.default(d))
    for layer in d.layers[-2:]:
        rows = latex_hand.unit(d, Printing(d, "bishop"), step, layer)
        formula, numbers = rows[0]["formula"], rows[0]["numbers"]
        spots = sorted(
            (formula.index(latex(s, "bishop", d.spec.n_layers)), hand.shown_text(step, s))
            for s in layer.pre[0].free_symbols
        )
        printed = re.findall(r"-?\d+(?:\.\d+)?", numbers)  # a pre-activation has no constants of its own
        assert printed == [v for _, v in spots]
