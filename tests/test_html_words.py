"""The web page read as a student reads it, in every notation: each source's own words, as in the PDF.

Each page is built as ``build`` builds it (with the trainer, so the code section is there) and read
back as text: tags dropped, the maths kept as the characters a reader sees. The expected words are
each book's own (Nielsen, ch. 2: the cost C, the weighted input z, the error δ of a neuron, the
quadratic cost; Goodfellow et al., section 6.5: the loss L and the gradient g on the pre-activation),
written down here, not read off the code; and the page must say what the PDF of the same build says.
"""

from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser

import pytest

from derive.pipeline import derivation
from derive.render import notations
from derive.render.html import page
from derive.render.latex import document, pdf
from derive.render.notations import NOTATIONS
from derive.render.trainer import render as trainer
from derive.spec import make_spec

NETS = {
    "2-2-2": dict(arch="2-2-2"),
    "2-3-3-2": dict(arch="2-3-3-2", act="tanh,tanh,softmax", loss="ce"),
}
#: every preset on the small net; the two books whose words differ most also on the deeper softmax net
RENDERED = [("2-2-2", key) for key in notations.NOTATIONS] + [("2-3-3-2", "nielsen"), ("2-3-3-2", "goodfellow")]
#: phrases no page may show, whatever its notation: words from inside the project and command-line flags
INSIDE = ("proxy", "seed 0", "Seed 0", "seed0", "--notation", "--", "named as symbols", ".j2", "derive/")


class Reading(HTMLParser):
    """The text of a page as a reader sees it, and separately its prose (no maths, no code)."""

    HIDDEN = {"style", "script"}
    NOT_PROSE = {"math", "pre", "code"}

    def __init__(self, html: str):
        super().__init__()
        self.seen: list[str] = []
        self.prose: list[str] = []
        self.open: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.open.append(tag)
        if tag in ("p", "h1", "h2", "h3", "li", "tr", "td", "th", "div", "figcaption", "caption", "title", "desc"):
            self.seen.append(" ")
            self.prose.append(" ")

    def handle_endtag(self, tag):
        while self.open and self.open.pop() != tag:
            pass

    def handle_data(self, data):
        if self.HIDDEN & set(self.open):
            return
        self.seen.append(data)
        if not self.NOT_PROSE & set(self.open):
            self.prose.append(data)


def words(text: str) -> str:
    """Runs of white space made one space (a phrase may break across lines)."""
    return re.sub(r"\s+", " ", text).strip()


def page_body(html: str) -> str:
    """The page before its notation section, which names other books' symbols and words on purpose."""
    return html.split('<section id="sec-notation">')[0]


def notation_section(html: str) -> str:
    return '<section id="sec-notation">' + html.split('<section id="sec-notation">')[1]


def read(html: str) -> str:
    return words("".join(Reading(html).seen))


def prose(html: str) -> str:
    return words("".join(Reading(html).prose))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Each net in its notations: the page, and the text of the PDF of the same build."""
    nets = {name: derivation(make_spec(**options)) for name, options in NETS.items()}
    out = {}
    for name, key in RENDERED:
        d = nets[name]
        code = trainer.render(d, None)
        path = tmp_path_factory.mktemp(f"{name}-{key}") / "derivation.pdf"
        path.write_bytes(pdf.compile_pdf(document.render(d, None, key, code)))
        text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout
        out[name, key] = {"html": page.render(d, notation=key, trainer=code), "pdf": text.decode()}
    return out


#: per notation: (phrases its page must show before the notation section, phrases it must not show there)
OWN_WORDS = {
    "bishop": (
        [
            "The error function",
            "the error, the error signals δ of every unit",
            "sum-of-squares error",
            "The error signal δ",
        ],
        ["quadratic cost", "The cost function", "The loss function", "pre-activation gradient", "weighted input z"],
    ),
    "nielsen": (
        [
            "The cost function",
            "the cost, the errors δ of every unit",
            "its cost function is the quadratic cost",
            "feeds every weighted input z",
            "The error δ",
            "The cost by the output",
            "The cost of this sample before the step is C",
            "C cost of one sample",
        ],
        [
            "error signal",
            "squared error",
            "sum-of-squares",
            "sum of squares error",
            "The error function",
            "The error of this sample",
            "error of one sample",
            "pre-activation gradient",
            "error C",
            "error E",
        ],
    ),
    "goodfellow": (
        [
            "The loss function",
            "the loss, the pre-activation gradients g of every unit",
            "sum-of-squares loss",
            "The pre-activation gradient g",
            "L loss of one sample",
        ],
        ["error signal", "δ", "The error function", "The error of this sample", "squared error", "error L"],
    ),
    "seed003": (["The error signal δ", "error signals δ/γ", "The error function"], ["The cost function"]),
}
#: the deeper softmax net with cross-entropy: each book's name of its loss
SOFTMAX_WORDS = {
    "nielsen": (["its cost function is the cross-entropy cost", "The cost by the output"], ["cross-entropy error"]),
    "goodfellow": (["its loss function is the cross-entropy loss", "The loss by the output"], ["cross-entropy error"]),
}


@pytest.mark.parametrize(("net", "key"), RENDERED)
def test_each_preset_reads_in_its_own_words(built, net, key):
    html = built[net, key]["html"]
    text = read(page_body(html))
    want, never = (OWN_WORDS if net == "2-2-2" else SOFTMAX_WORDS).get(key, ([], []))
    for phrase in want:
        assert phrase in text, (net, key, phrase)
    for phrase in never:
        assert phrase not in text, (net, key, phrase)
    nota = notations.NOTATIONS[key]
    body = prose(page_body(html))
    if nota.cost != "error":
        # a notation whose E is a cost or a loss never calls it an error; Goodfellow's prose has no "error" at all
        assert not re.search(r"\berror (function|of (this|one|the) sample)", body), (net, key)
        if nota.term != "error":
            assert not re.search(r"\berrors?\b", body, re.I), (net, key, re.findall(r".{40}\berrors?\b.{20}", body))
    if nota.pre != "pre-activation":
        # the notation's word for a pre-activation; the usual name only beside it, in brackets
        rest = body.replace("(pre-activation)", "")
        assert "pre-activation" not in rest, (net, key, re.findall(r".{40}pre-activation.{20}", rest))
    if nota.term != "error signal":
        assert "error signal" not in body, (net, key)


@pytest.mark.parametrize(("net", "key"), RENDERED)
def test_no_latex_and_no_words_from_inside_the_project_on_the_page(built, net, key):
    html = built[net, key]["html"]
    shown = prose(html)  # the trainer's lines (code) may hold any character; nothing else may hold LaTeX
    assert not re.search(r"\\[A-Za-z]+|\$|\\[,;!]", shown), re.findall(r".{30}(?:\\[A-Za-z]+|\$).{30}", shown)
    for phrase in INSIDE:
        assert phrase not in shown, (net, key, phrase)
    assert "Seed" not in read(html) and "seed 0" not in html


@pytest.mark.parametrize("key", [k for k in notations.NOTATIONS if notations.NOTATIONS[k].note])
def test_the_notes_on_each_source_are_on_the_page_with_their_maths_as_mathml(built, key):
    """The reading note the PDF prints after "This document uses the notation of ...": words and maths."""
    section = notation_section(built["2-2-2", key]["html"])
    note = notations.NOTATIONS[key].note
    said = prose(section)
    for k, part in enumerate(re.split(r"\$", note)):
        if k % 2 == 0 and part.strip(" .,;:()"):
            assert words(part.strip()) in said, (key, part)
    # every formula of the note is one inline <math> element
    paragraph = section.split("<p>")[1].split("</p>")[0]
    assert paragraph.count("<math>") == note.count("$") // 2, key
    # and reads as the formula: Goodfellow's g is the loss's derivative by the pre-activation
    if key == "goodfellow":
        assert "∂L/∂a" in read(paragraph)
    if key == "seed003":  # their wrong σ' against the right one
        assert "σ′(z)=1/(1+e−z)2" in read(paragraph) and "σ′(z)=e−z/(1+e−z)2" in read(paragraph)
    # and the PDF prints the same note at the same place
    pdf_text = words(built["2-2-2", key]["pdf"]).replace("’", "'")
    assert words(re.split(r"\$", note)[0]) in pdf_text


def test_the_slides_state_their_output_letters_in_the_general_rules(built):
    """Van Veen's slides name their output layer's quantities r, v, c, δ (s, w, b, γ below it)."""
    general = read(built["2-2-2", "seed003"]["html"].split('<section id="sec-general">')[1].split("</section>")[0])
    assert "The output layer has letters of its own here (r, v, c, δ for the hidden layers' s, w, b, γ)" in general
    assert "the rule about layer L is written in them" in general
    pdf_text = words(built["2-2-2", "seed003"]["pdf"]).replace("’", "'")
    assert "letters of its own here (r, v, c, δ for the hidden layers' s, w, b, γ)" in pdf_text
    for key in ("bishop", "nielsen", "goodfellow"):
        assert "letters of its own" not in built["2-2-2", key]["html"]


#: the key words of the notations' prose: what each calls E, its function, a pre-activation, δ, each loss
KEY_PHRASES = (
    "the error function",
    "the cost function",
    "the loss function",
    "error signal",
    "pre-activation gradient",
    "weighted input",
    "quadratic cost",
    "sum-of-squares error",
    "sum-of-squares loss",
    "cross-entropy cost",
    "cross-entropy loss",
    "cross-entropy error",
    "error of one sample",
    "cost of one sample",
    "loss of one sample",
    "written-out error",
    "written-out cost",
    "written-out loss",
    "the cost by the output",
    "the loss by the output",
    "the error by the output",
)


def squeezed(text: str) -> str:
    """Lower case with every space and hyphen dropped: the PDF breaks words at line ends, with or without hyphens."""
    return re.sub(r"[\s\-‐]+", "", text.lower())


@pytest.mark.parametrize(("net", "key"), RENDERED)
def test_page_and_pdf_use_the_same_key_words(built, net, key):
    page_text = squeezed(read(page_body(built[net, key]["html"])))
    pdf_text = squeezed(re.split(r"\n\s*B\s+Notation\s*\n", built[net, key]["pdf"])[0])
    differ = [p for p in KEY_PHRASES if (squeezed(p) in page_text) != (squeezed(p) in pdf_text)]
    assert not differ, (net, key, {p: squeezed(p) in page_text for p in differ})
    nota = notations.NOTATIONS[key]
    for phrase in (f"the {nota.cost} function", nota.loss_name(make_spec(**NETS[net]).loss), nota.term):
        assert squeezed(phrase) in page_text and squeezed(phrase) in pdf_text, (net, key, phrase)


def test_the_code_forms_are_written_in_the_notations_letters(built):
    """Nielsen's a is an activation: the sigmoid and the log-sum-exp of his page are in z, his weighted input."""

    def code(net, key):
        html = built[net, key]["html"]
        return read(html.split('<section id="sec-code">')[1].split("</section>")[0])

    assert "σ(z)" in code("2-2-2", "nielsen") and "σ(a)" not in code("2-2-2", "nielsen")
    assert "σ(a)" in code("2-2-2", "bishop")
    assert "σ(net)" in code("2-2-2", "seed000")
    # the output layer's own index letters
    k, g = (NOTATIONS[n].index_letter(3, focus=3) for n in ("nielsen", "goodfellow"))
    assert f"log a{k} = z{k} − log" in code("2-3-3-2", "nielsen")  # his output is a, its weighted input z
    assert f"log y^{g} = a{g} − log" in code("2-3-3-2", "goodfellow")


def test_a_net_checked_per_layer_is_described_in_a_readers_words():
    """A larger net is proved at random points and against a narrow net: the appendix says so without the prover's
    internals (its seeds, its name for the narrow net) and in the notation's words."""
    d = derivation(make_spec(arch="8-8-8-4"))
    assert d.per_layer and d.rule_check  # the route this test is about
    html = page.render(d, notation="nielsen")
    shown = prose(html)
    for phrase in (*INSIDE, "crc32", "seeds", "U(±"):
        assert phrase not in shown, phrase
    appendix = prose(html.split('<section id="sec-proofs">')[1].split("</section>")[0])
    assert "a narrow network of the same depth, 2-2-2-4, with the same activations and loss" in appendix
    assert appendix.count("the derivative of the cost along a random direction") == 3  # one row per layer
    assert "written-out cost" not in prose(html.split("<nav>")[0])  # the abstract claims no symbolic proof
