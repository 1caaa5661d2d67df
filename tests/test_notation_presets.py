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
        (arch, key): page.render(nets[arch], notation=key)
        for arch, key in RENDERED
        if key in ("nielsen", "goodfellow") or arch == "2-3-2"
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
    assert r"\paragraph{The pre-activation gradient $g$.}" in text
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
    # what each source calls δ, and its letters (seed 003's slides: δ at the output, γ in the hidden layer)
    said = {
        "goodfellow": "pre-activation gradients $g$",
        "seed003": r"error signals $\delta/\gamma$",
        "nielsen": r"errors $\delta$",  # his chapter 2: "the error delta^l_j in the j-th neuron"
    }
    assert said.get(key, f"error signals ${nota.letters['delta']}$") + " of" in text


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
    assert rows["goodfellow"]["pre-activation gradient, output layer"] == ["{g^{(2)}_{k}}", r"{\delta^{(2)}_{k}}"]
    assert rows["goodfellow"]["loss"] == ["L", "E"]  # the quantity named in the chosen preset's words
    assert rows["nielsen"]["cost"] == ["C", "E"] and rows["nielsen"]["weighted input"] == [
        "{z^{2}_{j}}",
        "{a^{(1)}_{j}}",
    ]
    # Nielsen's table says his input layer is 1 and his first symbols carry 2
    assert rows["nielsen"]["number of the input layer"] == ["1", "0"]
    assert rows["nielsen"]["weight, output layer"] == ["{w^{3}_{jk}}", "{w^{(2)}_{kj}}"]
    assert rows["nielsen"]["input"] == ["x_{k}", "x_{i}"]  # as in his first sum, z^2_j = sum_k w^2_jk x_k + b^2_j
    assert "number of the input layer" not in rows["goodfellow"]
    assert all(len(set(cells)) == 2 for table in rows.values() for cells in table.values())
    assert all(len(table) < len(correspondence.concepts(d)) + 1 for table in rows.values())


def _text(page_text: str) -> str:
    """The words of a page: tags dropped, but their title attributes (tooltips) kept."""
    titles = " ".join(re.findall(r'title="([^"]*)"', page_text))
    return re.sub(r"<[^>]+>", " ", page_text) + " " + titles


@pytest.mark.parametrize("key", sorted(notations.NOTATIONS))
def test_each_preset_calls_delta_by_its_own_name_everywhere(tex, html, key):
    """Goodfellow et al. call g the gradient on the pre-activation; the other sources an error (signal)."""
    for text in (body(tex["2-3-2", key]), _text(body(html["2-3-2", key]))):
        low = re.sub(r"\s+", " ", text.lower())
        if key == "goodfellow":
            assert "error signal" not in low
            assert "pre-activation gradients" in low
        elif key == "nielsen":  # his "error" of a neuron
            assert "error signal" not in low and "pre-activation gradient" not in low
        else:
            assert "error signal" in low and "pre-activation gradient" not in low
    if key == "goodfellow":
        assert r"\paragraph{What a pre-activation gradient measures.}" in tex["2-3-2", key]
    if key == "nielsen":
        assert r"\paragraph{What an error measures.}" in tex["2-3-2", key]


def test_goodfellow_names_no_delta_outside_the_correspondence_table(tex, html):
    for arch in ARCHS:
        assert r"\delta" not in body(tex[arch, "goodfellow"])
        assert "δ" not in _text(body(html[arch, "goodfellow"]))
    # the appendix's table still says what g is in the default notation
    assert r"{g^{(2)}_{k}} & {\delta^{(2)}_{k}}" in tex["2-3-2", "goodfellow"]


def test_nielsen_tooltips_and_code_titles_number_the_input_layer_1(nets):
    """Every 'layer n' of the equation titles and the code section is Nielsen's n: 2 and 3 in a 2-3-2 net."""
    from derive.pipeline import BuildOptions, render_files

    files = render_files(nets["2-3-2"], BuildOptions(pdf=False, notation="nielsen"))
    page_text, tex_text = files["derivation.html"].decode(), files["derivation.tex"].decode()
    titles = re.findall(r'title="([^"]*)"', page_text)
    numbers = {int(n) for t in titles for n in re.findall(r"layer (\d+)", t)}
    assert numbers == {2, 3}, titles
    code = tex_text[
        tex_text.index(r"\section{The code beside the maths}") : tex_text.index(r"\section{A worked example}")
    ]
    assert set(re.findall(r"layer (\d+), in", code)) == {"2", "3"}
    bishop = render_files(nets["2-3-2"], BuildOptions(pdf=False))["derivation.html"].decode()
    assert {int(n) for t in re.findall(r'title="([^"]*)"', bishop) for n in re.findall(r"layer (\d+)", t)} == {1, 2}


def test_seed003_writes_delta_at_the_output_and_gamma_below(tex, html):
    """Van Veen's slides: δ_k for the output units, γ_j for the hidden ones; the prose names each where it is."""
    text = body(tex["2-3-2", "seed003"])
    assert r"\paragraph{The error signal $\delta$.}" in text  # the output layer's section
    assert r"\emph{$\gamma$ recursion}" in text  # the hidden layer's
    rows = re.findall(r"^(\S+) & -?[0-9.]+ & (\S+) & -?[0-9.]+ & (\S+) & -?[0-9.]+\\\\$", text, re.M)
    assert [r[2].split("_")[0] for r in rows] == [r"\gamma"] * 3 + [r"\delta"] * 2, rows
    page_text = _text(body(html["2-3-2", "seed003"]))
    assert re.search(r"The error signal\s+δ\s", page_text) and not re.search(r"The error signal\s+γ", page_text)
