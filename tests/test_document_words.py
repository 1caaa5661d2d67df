"""The PDF read as a student reads it: each source's own words, no words from inside the project, typography.

Every document here is built as ``build`` builds it (with the trainer, so the code section is there),
compiled, and read back with ``pdftotext``; the expected words are each book's own (Nielsen, ch. 2:
"cost", "weighted input", "the error δ", "quadratic cost"; Goodfellow et al., section 6.5: "loss",
the gradient g on the pre-activation), written down here, not read off the code.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from derive.pipeline import derivation
from derive.render import notations
from derive.render.latex import diagram, document, pdf
from derive.render.printer import NotationLatexPrinter
from derive.render.trainer import render as trainer
from derive.spec import make_spec

NETS = {
    "2-3-2": dict(arch="2-3-2"),
    "2-3-3-2": dict(arch="2-3-3-2", act="tanh,tanh,softmax", loss="ce"),
    "3-4-3": dict(arch="3-4-3", act="relu,softmax", loss="ce"),
    "2-2-1": dict(arch="2-2-1", bias=False),
}
TEMPLATES = Path(document.TEMPLATES)


def build(options: dict, notation: str, tmp: Path) -> dict:
    """One document as the build writes it: its .tex, the TeX log and the PDF's text, one string per page."""
    d = derivation(make_spec(**options))
    tex = document.render(d, None, notation, trainer.render(d, None))
    log = tmp / "derivation.log"
    path = tmp / "derivation.pdf"
    path.write_bytes(pdf.compile_pdf(tex, keep_log=log))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout.decode()
    pages = text.replace("\u2212", "-").split("\f")
    return {"d": d, "tex": tex, "log": log.read_text(encoding="latin-1"), "pages": pages, "text": "\n".join(pages)}


def words(text: str) -> str:
    """The text with its lines joined and runs of spaces made one (a phrase may break across lines)."""
    return re.sub(r"\s+", " ", text)


def body(text: str) -> str:
    """The document before its notation appendix, which names other books' symbols and words on purpose."""
    return re.split(r"\n\s*B\s+Notation\n", text)[0]


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    """The 2-3-2 net in every notation."""
    return {key: build(NETS["2-3-2"], key, tmp_path_factory.mktemp(key)) for key in notations.NOTATIONS}


@pytest.fixture(scope="module")
def nets(tmp_path_factory):
    """The other nets a student reads, in the default notation."""
    return {name: build(NETS[name], "bishop", tmp_path_factory.mktemp(name)) for name in NETS if name != "2-3-2"}


#: phrases no document may show, whatever its notation: words from inside the project and command-line flags
INSIDE = ("proxy", "seed 0", "Seed 0", "seed0", "--notation", "named as symbols", "derive/", ".j2")
#: per notation: (phrases its body must show, phrases its body must not show)
OWN_WORDS = {
    "bishop": (
        ["The error function", "error signals δ", "sum-of-squares error", "pre-activation"],
        ["quadratic cost", "The cost function", "The loss function"],
    ),
    "nielsen": (
        [
            "The cost function",
            "the cost, the errors δ of every unit",
            "quadratic cost",
            "weighted input z",
            "The error δ.",
        ],
        ["error signal", "squared error", "sum-of-squares", "The error function", "The error of this sample"],
    ),
    "goodfellow": (
        ["The loss function", "pre-activation gradients g", "sum-of-squares loss"],
        ["error signal", "δ", "The error function", "The error of this sample", "squared error"],
    ),
}


@pytest.mark.parametrize("key", sorted(notations.NOTATIONS))
def test_each_preset_reads_in_its_own_words(presets, key):
    built = presets[key]
    text, prose = words(built["text"]), words(body(built["text"]))
    for phrase in INSIDE:
        assert phrase not in text, (key, phrase)
    want, never = OWN_WORDS.get(key, ([], []))
    for phrase in want:
        assert phrase in prose, (key, phrase)
    for phrase in never:
        assert phrase not in prose, (key, phrase)
    nota = notations.NOTATIONS[key]
    # the activation's inverse is solved for the notation's own output letter, never for its target's
    target = nota.letters["t"]
    assert not re.search(r"solving \$%s[_ ]" % re.escape(target), built["tex"]), key
    # z is Nielsen's weighted input: nothing calls the inputs Z; the appendix names no E the notation lacks
    assert "Z the inputs" not in text
    if nota.error != "E":
        assert not re.search(r"(expanded|written-out) E\b", text), key
    # the pre-activation is named with the notation's word wherever the prose names it
    if nota.pre != "pre-activation":
        assert "pre-activation" not in re.sub(r"\(pre-activation\)", "", prose), key


def test_the_slides_write_the_rule_about_layer_L_in_their_output_letters(presets):
    tex = presets["seed003"]["tex"]
    # their output layer: pre-activation r, weights v, biases c, signal δ; below it s, w, b, γ
    assert r"\delta_{j} = \sigma'\!\left(r_{j}\right) \frac{\partial f}{\partial \hat{d}_{j}}" in tex
    assert r"\boldsymbol{\delta} = \sigma'\!\left(\mathbf{r}\right) \odot" in tex
    assert r"{\gamma^{(l)}_{j}} = \sigma'\!\left({s^{(l)}_{j}}\right)" in tex  # a general layer keeps s and γ
    note = words(presets["seed003"]["text"])
    assert (
        "The output layer has letters of its own here (r, v, c, δ for the hidden layers’ s, w, b, γ): the rule" in note
    )
    # the other slides name only their output weights u, which no rule about layer L has
    other = words(presets["seed004"]["text"])
    assert "letters of its own here (u for the hidden layers’ w); in a rule about a general layer l" in other
    assert "letters of its own" not in words(presets["bishop"]["text"])


def test_the_correspondence_table_names_the_other_source_and_may_break_across_pages(presets):
    for key, built in presets.items():
        other = "Nielsen" if key == "bishop" else "Bishop"
        notation_pages = [n for n, page in enumerate(built["pages"]) if re.search(r"^\s*B\s+Notation\s*$", page, re.M)]
        assert len(notation_pages) == 1, key
        first = notation_pages[0]
        # the table starts on the page of its heading: no half page left blank before it
        assert re.search(r"Table \d+: Symbols here and in %s\.\n" % other, built["pages"][first]), key


def test_no_overfull_box_and_no_space_before_punctuation(presets, nets):
    for name, built in {**presets, **nets}.items():
        assert "Overfull \\hbox" not in built["log"], name
        assert "Overfull \\vbox" not in built["log"], name
        # a full stop or comma after maths follows it on the same line, never after a line break
        assert not re.search(r"\$\s*\n\s*[.,;]", built["tex"]), name
        assert not re.search(r"^[.,;]", built["tex"], re.M), name


def test_a_transpose_of_a_layer_symbol_is_bracketed(presets):
    tex = presets["bishop"]["tex"]
    assert r"\left(\mathbf{W}^{(l+1)}\right)^{\mathsf{T}}" in tex
    assert r"{\mathbf{W}^{(l+1)}}^{\mathsf{T}}" not in tex  # would read as the T belonging to (l+1)
    nielsen = presets["nielsen"]["tex"]
    assert r"\left(w^{l+1}\right)^{\mathsf{T}}" in nielsen


def test_numbers_in_an_exponent_carry_no_brackets(nets):
    tex = nets["2-3-3-2"]["tex"] + nets["3-4-3"]["tex"]
    assert re.search(r"e\^\{-0\.\d+\}", tex)  # the softmax of the worked example by hand
    assert not re.search(r"e\^\{\\left\(-[0-9.]+\\right\)\}", tex)


def test_a_net_with_one_output_says_so(nets):
    text = words(nets["2-2-1"]["text"])
    assert "a single output" in text and not re.search(r"\b1 outputs?\b", nets["2-2-1"]["text"])
    assert "The output y1 depends on every weight" in text
    assert "Each output is compared" not in text


def test_the_code_section_says_where_the_trainer_computes_another_form(presets, nets):
    def section(built):
        return words(built["text"].split("The code beside the maths")[-1].split("Every gradient")[0])

    sigmoid = section(presets["bishop"])
    assert "tanh" in sigmoid and "is equal" in sigmoid
    assert "overflows" in sigmoid and "logaddexp" not in sigmoid  # no softmax in this net
    softmax = section(nets["3-4-3"])
    # (pdftotext sets the big sum sign's letter in among the words)
    assert re.search(r"The forms are equal, because dividing by a positive\S*\s*number S is subtracting", softmax)
    assert "logaddexp" in softmax and "tanh" not in softmax  # relu and softmax only: no sigmoid paragraph
    # the letters of the paragraph are the notation's: Nielsen's weighted input is z
    code_tex = presets["nielsen"]["tex"].split(r"\section{The code beside the maths}")[1]
    assert r"$\sigma( z ) = 1/(1 + e^{-z})$" in code_tex


def test_references_point_at_the_sections_they_name(presets):
    tex = presets["bishop"]["tex"]
    labels = {m: tex.index(r"\label{%s}" % m) for m in ("sec:algorithm", "sec:output", "sec:general", "sec:why")}
    sections = sorted((pos, name) for name, pos in labels.items())
    # the mistake of updating first is described in the algorithm's section, which the worked example names
    mistake = tex.index("Why the update comes last")
    assert max(pos for pos, _ in sections if pos < mistake) == labels["sec:algorithm"]
    assert r"(the mistake described in" in tex and r"section~\ref{sec:algorithm})" in tex


UNIT_SIZE = re.compile(r"unit/\.style=\{circle,draw,minimum size=([0-9.]+)cm")


def test_label_geometry_is_the_templates():
    """Labels are placed along the line between the units' borders, as TikZ measures ``pos``."""
    for name in ("network.tex.j2", "why.tex.j2"):
        (size,) = UNIT_SIZE.findall((TEMPLATES / name).read_text())
        assert float(size) / 2 == diagram.UNIT_RADIUS, name
    start = diagram.label_point((0.0, 0.0), (3.0, 4.0), 0.0)
    end = diagram.label_point((0.0, 0.0), (3.0, 4.0), 1.0)
    assert abs(start[0] ** 2 + start[1] ** 2 - diagram.UNIT_RADIUS**2) < 1e-9
    assert abs((end[0] - 3) ** 2 + (end[1] - 4) ** 2 - diagram.UNIT_RADIUS**2) < 1e-9


@pytest.mark.parametrize("arch", ["2-3-2", "2-3-3-2", "3-4-3"])
def test_no_two_weight_label_boxes_overlap(arch):
    d = derivation(make_spec(**NETS[arch]))
    printer = NotationLatexPrinter("bishop", d.spec.n_layers)
    for picture in (diagram.diagram(d, printer), diagram.backward(d, printer)):
        where = {n.name: (n.x, n.y) for n in picture["nodes"]}
        boxes = [diagram.label_point(where[e.source], where[e.target], e.pos) for e in picture["edges"] if e.label]
        assert len(boxes) >= d.spec.n_layers, arch  # at least one labelled edge per layer
        for n, p in enumerate(boxes):
            for q in boxes[n + 1 :]:
                apart_x = abs(p[0] - q[0]) >= diagram.LABEL_BOX[0]
                apart_y = abs(p[1] - q[1]) >= diagram.LABEL_BOX[1]
                assert apart_x or apart_y, (arch, p, q)


def test_the_contents_end_on_the_title_page(presets, nets):
    """No line of the contents is left alone on a page of its own: the network's section starts page 2."""
    for name, built in {**presets, **nets}.items():
        assert re.match(r"\s*1\s+The network\n", built["pages"][1]), (name, built["pages"][1][:80])


def test_every_sentence_is_followed_by_a_space(presets, nets):
    """A sentence that a template ends on a condition is not glued to the next (".The last column")."""
    for name, built in {**presets, **nets}.items():
        prose = re.sub(r"\\[a-zA-Z]+|\$[^$]*\$|e\.g\.|i\.e\.", " ", built["tex"])
        assert not re.search(r"[a-z)]\.[A-Z][a-z]", prose), (name, re.search(r".{40}[a-z)]\.[A-Z][a-z].{20}", prose))
