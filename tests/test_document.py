"""The derivation document: compiled PDFs, their text, notation presets, user text and TeX failures."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

from derive.core import naming
from derive.core.model import Proof
from derive.pipeline import derivation
from derive.render import notations, printer, rules
from derive.render.latex import document, pdf, proofs
from derive.render.printer import NotationLatexPrinter, latex
from derive.spec import make_spec

NETS = {
    "2-3-2": dict(arch="2-3-2"),
    "2-2-2-1-nobias": dict(arch="2-2-2-1", act="tanh,tanh,linear", loss="sse", bias=False),
    "3-4-3-ce": dict(arch="3-4-3", act="relu,softmax", loss="ce"),
}
SECTIONS = [
    "The network",
    "The forward pass",
    "The error function",
    "Output-layer weights",
    "Hidden layers",
    "Biases",
    "Matrix form",
    "{rules}",  # counts the rules stated (derive.render.rules.title)
    "Why it works, and why it is cheap",
    "The algorithm",
    "Every gradient",
    "A worked example",
    "How each formula was proved",
    "Notation",
]


def pdf_text(data: bytes, tmp: Path) -> str:
    path = tmp / "doc.pdf"
    path.write_bytes(data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout.decode()
    return text.replace("\u2212", "-")


def build_document(options: dict, tmp: Path, text=pdf_text):
    """Derive, render and compile one net: (Derivation, .tex, PDF bytes, TeX log, text of the PDF)."""
    d = derivation(make_spec(**options))
    tex = document.render(d)
    log = tmp / "derivation.log"
    data = pdf.compile_pdf(tex, keep_log=log)
    return d, tex, data, log.read_text(encoding="latin-1"), text(data, tmp)


@pytest.fixture(scope="module", params=sorted(NETS))
def built(request, tmp_path_factory):
    return build_document(NETS[request.param], tmp_path_factory.mktemp(request.param))


def test_log_has_no_errors_and_no_undefined_references(built):
    _, _, _, log, _ = built
    assert not re.search(r"^!", log, re.M)
    assert "undefined" not in log.lower()
    assert "Rerun to get" not in log.split("Output written")[-1]
    assert "Overfull \\hbox" not in log  # nothing sticks out into the margin
    assert "multiply defined" not in log  # a \ref has one target (a table's repeated head carries no label)


def test_no_words_from_inside_the_project(built):
    _, tex, *_ = built
    for word in ("seed 0", "Seed 0", "proxy", "the mistake of the previous section"):
        assert word not in tex, word


def test_every_section_heading_is_in_the_pdf(built):
    d, *_, text = built
    for heading in SECTIONS:
        heading = rules.title(d) if heading == "{rules}" else heading
        assert re.search(r"\d+\s+" + re.escape(heading) + r"\n|[A-B]\s+" + re.escape(heading), text), heading


def test_delta_equations_carry_the_derivations_numbers(built):
    d, tex, *_ = built
    for e in d.equations:
        assert rf"\tag{{{e.number}}}\label{{eq:{e.id}}}" in tex
        assert latex(e.rhs, "bishop", d.spec.n_layers) in tex, e.id


#: the output δ of each net as pdftotext -raw prints it (spaces removed): the textbook forms
OUTPUT_DELTA = {"2-3-2": "yk(1−yk)(yk−tk)", "2-2-2-1-nobias": "ym−tm", "3-4-3-ce": "yk−tk"}


def raw_text(data: bytes, tmp: Path) -> str:
    path = tmp / "raw.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, check=True).stdout.decode()
    return re.sub(r"[\s\x00-\x1f]+", "", out)  # big delimiters come out as control characters


def test_pdf_shows_every_delta_equation_with_its_number(built, tmp_path):
    d, _, data, *_ = built
    flat = raw_text(data, tmp_path)
    letters = notations.NOTATIONS["bishop"].index_letters
    for e in d.equations:
        if not e.id.startswith("delta-"):
            continue
        l = int(e.id.split("-")[1])
        m = re.search(rf"δ\({l}\){letters[l]}=(.{{1,80}}?)\({e.number}\)", flat)
        assert m, e.id
        body = m.group(1)
        if l == d.spec.n_layers:
            assert body == next(v for k, v in OUTPUT_DELTA.items() if d.spec.arch in k), body
        else:  # the recursion: this layer's h' times the sum of the upper δs through the weights
            assert f"w({l + 1}){letters[l + 1]}{letters[l]}δ({l + 1}){letters[l + 1]}" in body, body
            assert (f"Ha({l}){letters[l]}" if d.spec.activations[l - 1] == "relu" else f"z({l}){letters[l]}") in body


def test_the_build_is_deterministic(built):
    d, tex, data, *_ = built
    assert document.render(d) == tex
    assert pdf.compile_pdf(tex) == data


def test_every_notation_changes_every_symbol(tmp_path):
    d = derivation(make_spec("2-3-2"))
    default = document.render(d)
    texts = {}
    for key in notations.NOTATIONS:
        texts[key] = document.render(d, notation=key)
        hidden_weight = latex(d.layers[0].weights[0][1], key, 2)
        assert hidden_weight in texts[key]
    assert r"\hat{d}" in texts["seed003"] and "v_{1,1}" in texts["seed003"]
    assert r"\mathrm{net}" in texts["seed000"] and r"\varepsilon" in texts["seed000"]
    assert "u_{" in texts["seed004"] and "{w_{21}}" not in texts["seed004"]
    assert r"\hat{y}" in texts["goodfellow"] and "{h^{(1)}_{1}}" in texts["goodfellow"]
    # Nielsen's letters: z is the pre-activation, a the activation; his input layer is layer 1
    assert "{z^{2}_{1}} &= " in texts["nielsen"] and "{a^{(1)}_{1}}" not in texts["nielsen"]
    assert len(set(texts.values()) | {default}) == len(texts)


@pytest.mark.parametrize("notation", sorted(notations.NOTATIONS))
def test_every_notation_compiles_without_errors_or_overfull_boxes(notation, tmp_path):
    d = derivation(make_spec("2-3-2"))
    log = tmp_path / "derivation.log"
    text = pdf_text(pdf.compile_pdf(document.render(d, notation=notation), keep_log=log), tmp_path)
    log_text = log.read_text(encoding="latin-1")
    assert not re.search(r"^!", log_text, re.M)
    assert "undefined" not in log_text.lower()  # every \ref and \eqref found its label
    assert "Overfull \\hbox" not in log_text
    # the δ recursion is named with the preset's own letter (Goodfellow's g, the slides' γ)
    letter = {"goodfellow": "g", "seed003": "γ"}.get(notation, "δ")
    assert f"{letter} recursion" in text and "A worked example" in text


@pytest.mark.parametrize(
    "arch,act,loss",
    [("2-2", "sigmoid", "bce"), ("2-3-2", "leaky_relu,softmax", "sse"), ("3-1", "linear", "mse")],
    ids=["one-layer-bce", "softmax-sse-no-generic-delta", "linear-mse"],
)
def test_other_shapes_compile_and_list_their_output_deltas(arch, act, loss, tmp_path):
    d = derivation(make_spec(arch, act, loss))
    log = tmp_path / "derivation.log"
    tex = document.render(d)
    pdf.compile_pdf(tex, keep_log=log)
    assert not re.search(r"^!", log.read_text(encoding="latin-1"), re.M)
    if f"delta-{d.spec.n_layers}" not in {e.id for e in d.equations}:  # no generic form: every unit listed
        for form in d.layers[-1].delta_forms:
            assert latex(form, "bishop", d.spec.n_layers) in tex


HOSTILE = r"\input{/etc/passwd}$%#_{"


def test_hostile_user_text_is_printed_literally(tmp_path):
    spec = make_spec("2-3-2")
    folder = tmp_path / r"\input{" / "etc"
    folder.mkdir(parents=True)
    path = folder / "passwd}$%#_{.json"
    rng_example = {
        "title": HOSTILE,
        "x": [0.5, -0.25],
        "t": [1, 0],
        "lr": 0.1,
        "W1": [[0.1, 0.2], [0.3, -0.4], [0.5, 0.6]],
        "b1": [0.0, 0.1, -0.1],
        "W2": [[0.7, -0.8, 0.9], [1.0, 1.1, -1.2]],
        "b2": [0.2, -0.2],
    }
    path.write_text(json.dumps(rng_example))
    d = derivation(spec)
    tex = document.render(d, path)
    text = pdf_text(pdf.compile_pdf(tex), tmp_path)
    flat = re.sub(r"\s+", "", text)
    assert re.sub(r"\s+", "", HOSTILE) in flat
    assert re.sub(r"\s+", "", str(path)) in flat
    assert "root:" not in text


def test_tex_failure_reports_the_first_error_line():
    bad = "\\documentclass{article}\\begin{document}\n\\undefinedmacro\n\\end{document}\n"
    with pytest.raises(pdf.TeXError, match=r"^! Undefined control sequence\. \(derivation\.tex l\.2"):
        pdf.compile_pdf(bad)


def test_missing_tex_still_writes_the_tex_and_says_what_to_install(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    out = tmp_path / "out"
    env = dict(os.environ, PATH=str(empty))
    run = subprocess.run(
        [sys.executable, "-m", "derive", "build", "--arch", "2-2", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parent.parent,
    )
    assert run.returncode != 0
    assert (out / "derivation.tex").is_file() and not (out / "derivation.pdf").exists()
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "apt-get install" in lines[0] and "texlive-latex-base" in lines[0]


def test_a_large_net_gets_generic_forms_and_a_short_pdf(tmp_path):
    d = derivation(make_spec("8-7-3"))
    tex = document.render(d)
    assert r"\cdots" in tex and r"\vdots" in tex
    assert "would not help anyone" in tex  # no per-parameter table for 87 parameters
    data = pdf.compile_pdf(tex)
    path = tmp_path / "large.pdf"
    path.write_bytes(data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert pages <= 15  # 14 before the hand calculation of one unit per layer, elided, joined the example


# ---------------------------------------------------------------- order, elision and honesty for wide and large nets


def test_sums_and_products_print_in_natural_index_order():
    y = [sp.Symbol(f"y_{k}", real=True) for k in range(1, 13)]
    t = [sp.Symbol(f"t_{k}", real=True) for k in range(1, 13)]
    text = latex(sp.Add(*[tk * y[0] for tk in t]) - t[0], "bishop", 1)
    assert text == " + ".join(f"t_{{{k}}} y_{{1}}" for k in range(1, 13)) + " - t_{1}"
    assert latex(-y[1] * y[9], "bishop", 1) == "- y_{2} y_{10}"
    a = [naming.symbol("a", 1, k) for k in (1, 2, 10, 11)]
    denominator = latex(sp.Add(*[sp.exp(ak) for ak in a]), "bishop", 1)
    assert [int(k) for k in re.findall(r"a\^\{\(1\)\}_\{(\d+)\}", denominator)] == [1, 2, 10, 11]


def test_one_digit_indices_print_exactly_as_sympy_orders_them(monkeypatch):
    """The natural order only renames where a number has two digits: small nets print as before."""
    d = derivation(make_spec("2-3-3-2", "tanh,tanh,softmax", "ce"))
    exprs = [e.rhs for e in d.equations] + [p.gradient for p in d.parameters] + [d.loss]
    exprs += [f for layer in d.layers for f in layer.delta_forms] + [a for layer in d.layers for a in layer.pre]
    natural = [latex(e, "bishop", 3) for e in exprs]
    monkeypatch.setattr(printer, "natural", lambda e: e)
    assert [latex(e, "bishop", 3) for e in exprs] == natural
    wide = naming.symbol("y", 3, 10) + naming.symbol("y", 3, 2)
    assert latex(wide, "bishop", 3) == "y_{10} + y_{2}"  # SymPy's name order, which the renaming corrects


def test_a_long_run_of_terms_is_elided_to_its_first_terms_and_its_last():
    short = NotationLatexPrinter("bishop", 1, elide=7)
    t = [sp.Symbol(f"t_{k}", real=True) for k in range(1, 11)]
    assert short.doprint(sp.Add(*t)) == r"t_{1} + t_{2} + t_{3} + \cdots + t_{10}"
    assert short.doprint(-sp.Add(*t) + 1) == r"1 - t_{1} - t_{2} - t_{3} - \cdots - t_{10}"
    assert short.doprint(sp.Add(*t[:7])) == " + ".join(f"t_{{{k}}}" for k in range(1, 8))
    assert r"\cdots" not in latex(sp.Add(*t), "bishop", 1)  # only a wide net's document elides


def test_the_abstract_follows_the_verification_records_of_a_small_net(built):
    d, tex, *_ = built
    abstract = " ".join(tex.split(r"\begin{abstract}")[1].split(r"\end{abstract}")[0].split())
    counts = proofs.counts(d)
    assert ";," not in abstract and "tested numerically" not in abstract
    if set(counts) <= {"symbolic", "symbolic-simplify"}:
        assert "fully written-out error" in abstract
        assert "for every parameter the difference was reduced to zero symbolically" in abstract
    if "symbolic-lemma" in counts:
        assert "each hidden activation stays a function" in abstract
    assert r"\section{How each formula was proved}" in tex


def test_a_parameter_proved_at_random_points_is_named_in_the_abstract():
    d = derivation(make_spec("2-3-2"))
    for p in d.parameters[:2]:
        p.proof = Proof("random-points", "agree to 40 digits at 3 random points", ())
    abstract = " ".join(document.render(d).split(r"\begin{abstract}")[1].split(r"\end{abstract}")[0].split())
    assert "reduced to zero symbolically for 15 of the 17 parameters" in abstract
    assert "for 2 SymPy could not cancel it" in abstract


def test_index_letters_of_a_deep_net_are_said_to_cycle(tmp_path):
    """Nine weight layers need ten levels of index letters; the eight letters repeat and the text says so."""
    d = derivation(make_spec("4-4-4-4-4-4-4-4-4-2", "tanh"))
    tex = " ".join(document.render(d).split())
    assert "An index letter always says which layer" not in tex
    assert (
        "in a cycle of 8" in tex
        and "from layer 8 on the letters repeat in the same order, starting again with $i$" in tex
    )
    small = " ".join(document.render(derivation(make_spec("2-3-2"))).split())
    assert "An index letter always says which layer a unit belongs to" in small and "cycle" not in small
