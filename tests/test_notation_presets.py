"""Notation presets reach every part of both documents: symbols, layer numbers, index letters, prose.

The expected strings are each book's own conventions (Nielsen, ch. 2: the input layer is layer 1, so the
first weights are w^2, and w^l_{jk} runs from unit k of layer l-1 to unit j of layer l; Goodfellow et al.,
algorithm 6.4: the gradient by a pre-activation is g, the error L), written down here, not read off the code.
"""

from __future__ import annotations

import re

import pytest

from derive.pipeline import derivation
from derive.render import correspondence, notations
from derive.render.html import page
from derive.render.latex import document
from derive.render.printer import NotationLatexPrinter
from derive.spec import make_spec

ARCHS = ("2-3-2", "2-3-3-2")


@pytest.fixture(scope="module")
def nets():
    return {arch: derivation(make_spec(arch)) for arch in ARCHS}


#: every preset on the small net; the two that renumber or rename most also on the deeper one
RENDERED = [("2-3-2", key) for key in notations.NOTATIONS] + [("2-3-3-2", "nielsen"), ("2-3-3-2", "goodfellow")]


@pytest.fixture(scope="module")
def tex(nets):
    return {(arch, key): document.render(nets[arch], notation=key) for arch, key in RENDERED}


@pytest.fixture(scope="module")
def html(nets):
    return {
        (arch, key): page.render(nets[arch], notation=key) for arch, key in RENDERED if key in ("nielsen", "goodfellow")
    }


def body(text: str) -> str:
    """The document before its notation appendix (which names other books' symbols on purpose)."""
    return re.split(r"\\section\{Notation\}|<section id=\"sec-notation\">", text)[0]


@pytest.mark.parametrize("arch", ARCHS)
def test_nielsen_numbers_the_input_layer_1_and_indexes_weights_jk(tex, arch):
    text = tex[arch, "nielsen"]
    top = len(arch.split("-"))  # Nielsen's L counts the input layer
    # the symbol table and the diagram: first weights w^2_{jk}, last w^L_{jk}; no w^1 anywhere
    assert "{w^{2}_{jk}} & weight into unit $j$ of layer 2 from unit $k$ below" in text
    assert "{w^{%d}_{jk}} & weight into unit $j$ of layer %d from unit $k$ below" % (top, top) in text
    assert "{w^{2}_{11}}" in text and "{w^{%d}_{11}}" % top in text
    assert "w^{1}_" not in text and "z^{1}_" not in text
    assert "hidden layer 2" in text and "hidden layer 1" not in text
    assert "so the inputs are layer $1$ and the outputs layer %d" % top in text
    # BP1 and BP4 for the output layer, BP2 for the layer below it: j is the unit the formula is about
    assert r"{\delta^{%d}_{j}} = {a^{%d}_{j}}" % (top, top) in text
    assert r"\frac{\partial C}{\partial {w^{%d}_{jk}}} = {\delta^{%d}_{j}} {a^{%d}_{k}}" % (top, top, top - 1) in text
    bp2 = re.search(r"\n\{\\delta\^\{%d\}_\{j\}\} = (.*)" % (top - 1), text).group(1)
    assert r"\sum_{k=1}^{2} {w^{%d}_{kj}} {\delta^{%d}_{k}}" % (top, top) in bp2
    # the appendix and the tables number layers the same way
    assert r"\item layer 2, logistic sigmoid: solving ${a^{2}_{j}} = \sigma({z^{2}_{j}})$" in text
    assert "\n%d & {w^{%d}} & " % (top, top) in text  # matrix-form table
    assert "the inputs count as a layer" in text


def test_other_presets_keep_the_input_layer_0(tex):
    for key in set(notations.NOTATIONS) - {"nielsen"}:
        assert "so the inputs are layer $0$ and the outputs layer 2" in tex["2-3-2", key], key


def test_the_html_page_uses_nielsens_numbers_and_letters(html):
    text = html["2-3-2", "nielsen"]
    w2 = "<msubsup><mi>w</mi><mrow><mi>j</mi><mi>k</mi></mrow><mn>2</mn></msubsup>"
    assert f"<td><math>{w2}</math></td><td>weight into a unit of layer 2</td>" in text
    assert "<h3>Layer 2 (hidden)" in text and "<h3>Layer 1 " not in text
    assert "hidden layer 2" in text  # the diagram's caption
    assert "<msubsup><mi>w</mi><mrow><mi>k</mi><mi>j</mi></mrow><mn>3</mn></msubsup>" in text  # BP2


@pytest.mark.parametrize("arch", ARCHS)
def test_goodfellow_prose_and_table_headers_say_g(tex, html, arch):
    text = body(tex[arch, "goodfellow"])
    assert r"\delta" not in text
    assert r"\paragraph{The error signal $g$.}" in text
    assert r"g\ \text{form, then in forward values}" in text or "in $g$ form" in text
    assert r"\text{pre-activation, output, } g &" in text
    page_text = body(html[arch, "goodfellow"])
    assert "δ" not in re.sub(r"<[^>]+>", "", page_text)
    assert "<th><math><mi>g</mi></math> form</th>" in page_text or "<em><math><mi>g</mi></math> recursion" in page_text


@pytest.mark.parametrize("key", sorted(notations.NOTATIONS))
def test_prose_takes_its_letters_from_the_notation(tex, key):
    text = tex["2-3-2", key]
    nota = notations.NOTATIONS[key]
    for foreign in (
        "solving $y = f(a)$",
        "fully expanded E",
        "$y_k(1 - y_k)$",
        "$\\sigma' = y(1 - y)$",
        "Z the inputs",
    ):
        assert foreign not in text, (key, foreign)
    # the activation's rewrite names the notation's activation function
    assert re.search(r"solving \$[^$]+ = %s\(" % re.escape(nota.activation), text), key
    assert f"error signals ${nota.letters['delta']}$ of" in text


@pytest.mark.parametrize("key", sorted(notations.NOTATIONS))
def test_every_reference_resolves_and_no_inside_words(tex, html, key):
    for arch in (a for a, k in RENDERED if k == key):
        text = tex[arch, key]
        labels = set(re.findall(r"\\label\{([^}]*)\}", text))
        refs = set(re.findall(r"\\(?:ref|eqref|pageref)\{([^}]*)\}", text))
        refs |= {"eq:" + r for r in re.findall(r"\\eqn\{([^}]*)\}", text)}
        refs -= {"eq:#1"}  # the definition of \eqn itself
        assert refs and refs <= labels, (arch, key, refs - labels)
        for word in ("seed 0", "Seed 0", "seed0", "proxy"):
            assert word not in text, (arch, key, word)
    for page_text in (v for (a, k), v in html.items() if k == key):
        assert "seed 0" not in page_text and "Seed 0" not in page_text


def test_the_correspondence_table_lists_only_what_differs(nets):
    d = nets["2-3-2"]
    show = {k: notations.NOTATIONS[k] for k in notations.NOTATIONS}

    def printed(key, expr, focus):
        return NotationLatexPrinter(key, 2).doprint(expr, focus)

    rows = {k: {r["what"]: r["cells"] for r in correspondence.rows(d, k, printed)} for k in show}
    # Goodfellow and Bishop both write a for the pre-activation, b for a bias and index a weight w_{to,from}
    assert "pre-activation" not in rows["goodfellow"] and "bias, output layer" not in rows["goodfellow"]
    assert rows["goodfellow"]["error signal, output layer"] == ["{g^{(2)}_{k}}", r"{\delta^{(2)}_{k}}"]
    assert rows["goodfellow"]["error"] == ["L", "E"]
    # Nielsen's table says his input layer is 1 and his first symbols carry 2
    assert rows["nielsen"]["number of the input layer"] == ["1", "0"]
    assert rows["nielsen"]["weight, output layer"] == ["{w^{3}_{jk}}", "{w^{(2)}_{kj}}"]
    assert rows["nielsen"]["input"] == ["x_{k}", "x_{i}"]  # as in his first sum, z^2_j = sum_k w^2_jk x_k + b^2_j
    assert "number of the input layer" not in rows["goodfellow"]
    assert all(len(set(cells)) == 2 for table in rows.values() for cells in table.values())
    assert all(len(table) < len(correspondence.concepts(d)) + 1 for table in rows.values())
