"""The PDF read from the first page to the last as a student reads it: what a sentence points at is where it says.

Each document is built as ``build`` builds it (with the trainer), compiled and read back with ``pdftotext``.
The equation numbers a test expects come from the derivation (``Equation.number``), not from the text.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from derive.pipeline import derivation
from derive.render.latex import document, pdf
from derive.render.trainer import render as trainer
from derive.spec import make_spec

NETS = {
    "2-3-2": dict(arch="2-3-2"),
    "2-3-3-2": dict(arch="2-3-3-2", act="tanh,tanh,softmax", loss="ce"),
}


def read(options: dict, tmp: Path) -> dict:
    """One document: the derivation and the PDF's text, one string per page."""
    d = derivation(make_spec(**options))
    tex = document.render(d, None, "bishop", trainer.render(d, None))
    path = tmp / "derivation.pdf"
    path.write_bytes(pdf.compile_pdf(tex))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout.decode()
    return {"d": d, "pages": text.replace("\u2212", "-").split("\f")}


def words(text: str) -> str:
    """The text with its lines joined and runs of spaces made one."""
    return re.sub(r"\s+", " ", text)


def section(pages: list[str], start: str, end: str) -> str:
    """The words from the heading ``start`` to the heading ``end``."""
    text = words("\n".join(pages))
    return text[text.index(start) : text.index(end, text.index(start))]


def numbers(d, prefix: str) -> list[int]:
    return sorted(e.number for e in d.equations if e.id.startswith(prefix))


def cited(text: str) -> set[int]:
    """Every equation number a passage cites, a range '(a) to (b)' standing for all numbers between."""
    found = {int(n) for n in re.findall(r"\((\d+)\)", text)}
    for a, b in re.findall(r"\((\d+)\) to \((\d+)\)", text):
        found |= set(range(int(a), int(b) + 1))
    return found


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    return {name: read(options, tmp_path_factory.mktemp(name)) for name, options in NETS.items()}


@pytest.mark.parametrize("name", list(NETS))
def test_every_figure_is_printed_before_the_appendices(docs, name):
    """A figure of the worked example is printed among the pages that discuss it, not inside the appendix."""
    text = "\f".join(docs[name]["pages"])
    appendix = re.search(r"^A\s+How each formula was proved *$", text, re.M).start()
    captions = [m.start() for m in re.finditer(r"^\s*Figure \d+:", text, re.M)]
    assert len(captions) >= 3
    assert all(at < appendix for at in captions), (captions, appendix)


@pytest.mark.parametrize("name", list(NETS))
def test_the_update_step_of_the_algorithm_cites_every_update_equation(docs, name):
    """Step (c) of the algorithm names exactly the update equations, however it abbreviates them."""
    d = docs[name]["d"]
    step = section(docs[name]["pages"], "Update. Only now", "Stop after")
    assert cited(step) == set(numbers(d, "update-"))


@pytest.mark.parametrize("name", list(NETS))
def test_the_forward_step_of_the_algorithm_cites_every_forward_equation(docs, name):
    """Step (a) names every forward equation and the error, and nothing else."""
    d = docs[name]["d"]
    step = section(docs[name]["pages"], "Forward. Compute and keep", "Backward. Compute")
    assert cited(step) == set(numbers(d, "forward-")) | set(numbers(d, "error"))


@pytest.mark.parametrize("name", list(NETS))
def test_the_shape_sentence_names_each_matrix_rule_and_each_shape_once(docs, name):
    """'The shapes agree: ...' cites every matrix rule once and states each distinct shape once."""
    d = docs[name]["d"]
    sentence = section(docs[name]["pages"], "The shapes agree:", " In (").rstrip(" .")
    rules = [e.number for e in d.equations if e.id.startswith("rule-") and e.id.endswith("-matrix")]
    assert sorted(int(n) for n in re.findall(r"\((\d+)\)", sentence)) == sorted(rules)
    clauses = sentence.split(";")
    shapes = [clauses[0].split(" are ")[1]] + [c.rsplit(",", 1)[1] for c in clauses[1:]]
    shapes = [s.replace(" ", "") for s in shapes]
    assert all("×" in s for s in shapes) and len(shapes) == len(set(shapes)), sentence


@pytest.mark.parametrize("name", list(NETS))
def test_no_sentence_of_the_four_rules_begins_with_a_bare_equation_number(docs, name):
    """After the displayed rules the text reads as sentences ('Rule (16) says ...'), never '(16) how it ...'."""
    text = section(docs[name]["pages"], "Everything so far was done unit by unit", "Matrix form.")
    assert not re.search(r"(?<!Rule )(?<!and )\(\d+\) (how|says)", text), text
    assert "Rule (" in text


@pytest.mark.parametrize("name", list(NETS))
def test_the_table_of_shapes_is_on_the_page_of_the_sentence_that_introduces_it(docs, name):
    """'The shapes in this network are:' is not left at the foot of a page with its table on the next."""
    pages = docs[name]["pages"]
    said = [n for n, page in enumerate(pages) if "The shapes in this network are:" in words(page)]
    table = [n for n, page in enumerate(pages) if re.search(r"^\s*layer\s+weights\s+pre-activation", page, re.M)]
    assert len(said) == 1 and said == table, (said, table)


@pytest.mark.parametrize("name", list(NETS))
def test_the_backward_step_of_the_algorithm_cites_every_error_signal_and_gradient_equation(docs, name):
    """Step (b) names the δ equation of every layer, hidden ones included, and every gradient equation."""
    d = docs[name]["d"]
    step = section(docs[name]["pages"], "Backward. Compute the output", "Update. Only now")
    expected = {e.number for e in d.equations if re.fullmatch(r"(delta|grad-w|grad-b)-\d+", e.id)}
    assert cited(step) == expected


@pytest.fixture(scope="module")
def relu_softmax(tmp_path_factory):
    """3-4-3 relu/softmax/ce: a backward-pass figure tall enough to be put off a page where it stood after its text."""
    return read(dict(arch="3-4-3", act="relu,softmax", loss="ce"), tmp_path_factory.mktemp("3-4-3"))


def test_the_backward_figure_is_on_the_page_of_the_paragraph_that_cites_it(docs, relu_softmax):
    for name, doc in {**docs, "3-4-3": relu_softmax}.items():
        pages = doc["pages"]
        cited = [n for n, page in enumerate(pages) if "Figure 2 draws the backward pass" in words(page)]
        drawn = [n for n, page in enumerate(pages) if re.search(r"^\s*Figure 2:", page, re.M)]
        assert len(cited) == 1 and cited == drawn, (name, cited, drawn)
