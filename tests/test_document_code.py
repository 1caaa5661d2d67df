"""The section on the code: the trainer's lines beside the equations they compute, in the PDF and the page.

Each build is read as a user reads it: the equation numbers come from formulas.json, the
citations are read from the lines shown with a pattern of this file, and every shown line
is looked up in the trainer.py written by the same build.
"""

from __future__ import annotations

import ast
import html
import json
import re
import textwrap

import pytest

from derive.pipeline import BuildOptions, derivation, render_files
from derive.render import code
from derive.render.html import page
from derive.render.latex import code as latex_code
from derive.render.latex import document
from derive.render.notations import NOTATIONS
from derive.spec import make_spec

NETS = {
    "2-3-2": dict(arch="2-3-2"),
    "2-3-3-2-ce": dict(arch="2-3-3-2", act="tanh,tanh,softmax", loss="ce"),
}
#: the equations of the rules the section shows: forward pass and error, δ, gradients, update
RULE_IDS = re.compile(r"forward-[az]-\d+|error|delta-\d+|grad-[wb]-\d+|update-[wb]-\d+")
SECTION = re.compile(r"\\section\{The code beside the maths\}(.*?)\\section\{", re.S)
#: an entry: its equations ("(8)\\enspace" or "(23), (24) and (25),\n" when one block computes several), then its lines
ENTRY = re.compile(
    r"\\begin\{minipage\}\{\\linewidth\}\n((?:\\eqref\{eq:[^}]+\}(?:, | and )?)+)"
    r"(?:\\enspace|,\n)(.*?)\\end\{minipage\}",
    re.S,
)
LISTING = re.compile(r"\\begin\{lstlisting\}\n(.*?)\n\\end\{lstlisting\}", re.S)


def cited(text: str) -> set[int]:
    """The equation numbers the comments of some lines cite (eq. (n), eqs. (m), (n), eqs. (m) to (n), (m) and (n))."""
    found = set()
    for m in re.finditer(r"# eqs?\. ((?:\(\d+\)(?:, | to | and )?)+)", text):
        numbers = [int(n) for n in re.findall(r"\d+", m.group(1))]
        found |= set(range(numbers[0], numbers[1] + 1)) if " to " in m.group(1) else set(numbers)
    return found


def occurs(block: str, source: str) -> bool:
    """Whether the lines of ``block`` stand, one after another and under one indentation, in ``source``."""
    lines, src = block.splitlines(), source.splitlines()
    for n in range(len(src) - len(lines) + 1):
        indent = src[n][: len(src[n]) - len(src[n].lstrip())]
        if all(src[n + k] == indent + line for k, line in enumerate(lines)):
            return True
    return False


@pytest.fixture(scope="module", params=sorted(NETS))
def build(request):
    d = derivation(make_spec(**NETS[request.param]))
    files = render_files(d, BuildOptions(pdf=True))
    numbers = {e["id"]: e["number"] for e in json.loads(files["formulas.json"])["equations"]}
    return d, {k: v.decode() for k, v in files.items()}, numbers


def tex_entries(tex: str) -> list[tuple[list[str], list[str]]]:
    """(equation ids beside, listings) of each entry of the section."""
    (section,) = SECTION.findall(tex)
    return [(re.findall(r"eq:([^}]+)", ids), LISTING.findall(body)) for ids, body in ENTRY.findall(section)]


def test_every_rule_has_its_lines_in_the_document(build):
    _, files, numbers = build
    entries = tex_entries(files["derivation.tex"])
    shown = {i for ids, listings in entries if listings for i in ids}
    assert {i for i in numbers if RULE_IDS.fullmatch(i)} <= shown
    trainer = files["trainer.py"]
    for ids, listings in entries:
        assert listings, ids
        for listing in listings:
            assert occurs(listing, trainer), listing  # verbatim, from the trainer of this build
            ast.parse(textwrap.dedent(listing))  # whole statements
        # the numbers beside are the numbers the lines cite
        assert cited("\n".join(listings)) == {numbers[i] for i in ids}, (ids, listings)


def test_vector_lines_are_shown_where_the_trainer_has_them(build):
    d, files, _ = build
    listings = [x for _, ls in tex_entries(files["derivation.tex"]) for x in ls]
    text = "\n".join(listings)
    L = d.spec.n_layers
    assert f"delta_{L} = " in text and "_1_1" not in text  # matrix lines, not the unit-by-unit floats
    assert "np.subtract(params[key], grad, out=grad)" in text  # the update of every array
    assert "one line per unit" not in files["derivation.tex"]  # nothing was left out


def test_the_code_forms_are_said_where_the_lines_show_them(build):
    d, files, _ = build
    (section,) = SECTION.findall(files["derivation.tex"])
    softmax = d.spec.activations[-1] == "softmax"
    listings = "\n".join(LISTING.findall(section))
    # the sentence on the sigmoid through tanh stands where a shown line takes that form,
    # and the one on the array function _logistic where a shown line calls it
    assert ("it never forms $e^{-a}$" in section) == ("tanh(0.5*" in listings)
    assert (r"\texttt{\_logistic}" in section) == ("_logistic(" in listings)
    assert ("logaddexp" in section) == softmax
    # in the output layer's own index letters (k and k' where the outputs are indexed k)
    k, m = (NOTATIONS["bishop"].index_letter(d.spec.n_layers, s, focus=d.spec.n_layers) for s in (False, True))
    assert (rf"\log y_{{{k}}} = a_{{{k}}} - \log \sum_{{{m}}} e^{{a_{{{m}}}}}" in section) == softmax


def test_the_page_shows_the_same_lines_with_links(build):
    _, files, numbers = build
    page_html = files["derivation.html"]
    section = page_html.split('<section id="sec-code">')[1].split("</section>")[0]
    divs = re.findall(r'<div class="code" data-eqs="([^"]+)">(.*?)</div>', section, re.S)
    shown = set()
    for ids, body in divs:
        ids = ids.split()
        links = [int(n) for n in re.findall(r'<a href="#eq-(\d+)">', body)]
        assert links == [numbers[i] for i in ids]
        blocks = [html.unescape(b) for b in re.findall(r"<pre><code>(.*?)</code></pre>", body, re.S)]
        assert blocks and all(occurs(b, files["trainer.py"]) for b in blocks)
        assert cited("\n".join(blocks)) == set(links)
        shown |= set(ids)
    assert {i for i in numbers if RULE_IDS.fullmatch(i)} <= shown
    for n in numbers.values():
        assert f'id="eq-{n}"' in page_html


@pytest.mark.slow
def test_the_pdf_builds_with_every_reference_resolved(build, tmp_path):
    from derive.render.latex import pdf

    _, files, numbers = build
    log = tmp_path / "derivation.log"
    data = pdf.compile_pdf(files["derivation.tex"], keep_log=log)
    text = log.read_text(encoding="latin-1")
    assert "undefined" not in text.lower() and "Overfull \\hbox" not in text
    assert not re.search(r"^!", text, re.M)
    (tmp_path / "d.pdf").write_bytes(data)
    import subprocess

    words = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "d.pdf"), "-"], capture_output=True, check=True
    ).stdout
    words = " ".join(words.decode().split())
    for ids, listings in tex_entries(files["derivation.tex"]):
        printed = [f"({numbers[i]})" for i in ids]
        beside = printed[0] if len(printed) == 1 else ", ".join(printed[:-1]) + " and " + printed[-1]
        assert beside in words  # \eqref printed the number, not ??
        for listing in listings:
            for line in listing.splitlines():
                assert " ".join(line.split()) in words, line


def test_scalar_style_shows_the_first_units_and_counts_the_rest():
    d = derivation(make_spec("2-3-2"))
    files = render_files(d, BuildOptions(style="scalar", pdf=False, html=False))
    trainer = files["trainer.py"].decode()
    (section,) = SECTION.findall(files["derivation.tex"].decode())
    # eq. (12) is the gradient of the 3 x 2 weights of layer 1: one line each in _gradients
    entry = section.split(r"\eqref{eq:grad-w-1}")[1].split(r"\end{minipage}")[0]
    (listing,) = LISTING.findall(entry)
    assert listing.splitlines() == [
        f"dE_dW1[{j}, {i}] = np.dot(delta_1_{j + 1}, x_{i + 1})  # eq. (12)" for j, i in ((0, 0), (0, 1), (1, 0))
    ]
    assert occurs(listing, trainer)
    assert f"and {3 * 2 - code.SHOWN} more lines" in entry
    assert f"one line per unit, the first {code.SHOWN} are shown" in section


def test_momentum_update_lines_cite_every_update_equation():
    d = derivation(make_spec("2-3-2", optimizer="momentum"))
    files = render_files(d, BuildOptions(pdf=False, html=False))
    (section,) = SECTION.findall(files["derivation.tex"].decode())
    update = section.split(r"\subsection{The update}")[1]
    (listing,) = LISTING.findall(update)
    assert "velocity[key]" in listing and occurs(listing, files["trainer.py"].decode())
    numbers = {e.number for e in d.equations if e.id.startswith("update-")}
    assert cited(listing) == numbers
    # the plain step of the same trainer is not the momentum update and cites none of its equations
    step = files["trainer.py"].decode().split("def _step(")[1].split("\ndef ")[0]
    assert not cited(step) & numbers


def test_lines_are_found_by_their_comments_not_by_text_in_strings():
    source = textwrap.dedent(
        '''
        def f(X):
            """Computes eqs. (1) to (2)."""
            s = "# eq. (9)"
            m = X.max()
            y = (  # eq. (2)
                X - m
            )
            for key in X:
                # eqs. (3) and (4): both lines
                a = key
                b = a

            return y
        '''
    )
    found = {b.numbers: b.lines for b in code.blocks(source)}
    assert set(found) == {(2,), (3, 4)}
    assert found[(2,)] == ("    m = X.max()", "    y = (  # eq. (2)", "        X - m", "    )")
    assert found[(3, 4)][1:] == ("        a = key", "        b = a")


def test_user_visible_text_is_escaped():
    d = derivation(make_spec("2-2-1"))
    fake = "def _forward_pass(X):\n    A1 = X < 1 & '<b>'  # eq. (1)\n"
    out = page.render(d, trainer=fake)
    assert "A1 = X &lt; 1 &amp; &#39;&lt;b&gt;&#39;  # eq. (1)" in out
    with pytest.raises(ValueError, match="verbatim"):
        document.render(d, trainer=fake.replace("'<b>'", r"'\end{lstlisting}\input{x}'"))
    with pytest.raises(ValueError, match="verbatim"):
        latex_code.listing_safe("δ = 1")


def test_the_relu_step_states_its_value_at_zero_and_that_it_is_the_documents():
    """The δ lines of a ReLU layer call heaviside(u, h); the section says h, and that the document's H(0) agrees."""
    from fractions import Fraction

    import sympy as sp

    d = derivation(make_spec("3-4-3", act="relu,softmax", loss="ce"))
    files = {k: v.decode() for k, v in render_files(d, BuildOptions(pdf=False)).items()}
    (section,) = SECTION.findall(files["derivation.tex"])
    listings = "\n".join(LISTING.findall(section))
    written = set(re.findall(r"heaviside\([^,]+, ([^)]+)\)", listings))
    assert written == {"1/2"}, written
    a = sp.Symbol("a", real=True)
    relu_slope_at_zero = sp.diff(sp.Max(0, a), a).subs(a, 0)  # the derivative the equations use
    assert Fraction(written.pop()) == Fraction(str(relu_slope_at_zero)) == Fraction(1, 2)
    assert "here $h = 1/2$, the convention $H(0) = \\tfrac{1}{2}$" in section
    assert "differ" not in section
    # the document states the same convention where it derives the ReLU's derivative
    assert "takes $H(0) = \\tfrac12$" in files["derivation.tex"]
    page_text = html.unescape(re.sub(r"<[^>]+>", "", files["derivation.html"]))
    assert "here h = 1/2, the convention H(0) = 1/2" in page_text


def test_a_step_at_zero_other_than_the_documents_is_reported_not_hidden():
    assert code.step_convention("d = np.heaviside(A1, 1/2)*(delta_2 @ W2)")["agree"] is True
    other = code.step_convention("d = np.heaviside(A1, 0)*(delta_2 @ W2)")
    assert other["agree"] is False and other["code"] == ["0"]
    assert code.step_convention("d = A1 * 2") is None
    env = document.environment()
    rule = {"key": "hidden", "title": "t", "entries": [], "forms": ["heaviside"], "step": other}
    from derive.render.notations import NOTATIONS

    text = env.get_template("code.tex.j2").render(
        code={"rules": [rule], "trimmed": False, "shown": 3}, nota=NOTATIONS["bishop"]
    )
    assert "the code and the\nequations differ" in text and "$h = 0$" in text
