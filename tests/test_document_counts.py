"""What the document counts and numbers agrees with what it holds: equation numbers, rules, checks, example numbers.

Each test reads the rendered ``.tex`` (and the page where the same text appears) the way a reader would: the
numbers as they first come up, the rules as they are stated, the sentence on the checks against the verification
records, the hand calculation's numbers against the tables beside it.
"""

from __future__ import annotations

import html
import re

import pytest

import derive
from derive.render import example
from derive.render import hand as hand_mod
from derive.render.latex import hand
from derive.render.latex.context import Printing

NETS = {
    "2-3-2": dict(arch="2-3-2"),
    "2-2-1-nobias": dict(arch="2-2-1", bias=False),
    "2-3-2-relu-softmax-ce": dict(arch="2-3-2", act="relu,softmax", loss="ce"),
    "3-4-3-relu-softmax-ce": dict(arch="3-4-3", act="relu,softmax", loss="ce"),
    "2-3-3-2-tanh-softmax-ce": dict(arch="2-3-3-2", act="tanh,tanh,softmax", loss="ce"),
    "2-3-2-softmax-nobias": dict(arch="2-3-2", act="tanh,softmax", loss="ce", bias=False),
    "2-2-1-nobias-decay": dict(arch="2-2-1", bias=False, weight_decay=True),
    "2-3-2-momentum-decay": dict(arch="2-3-2", optimizer="momentum", weight_decay=True, decay_biases=True),
    "2-2-1-nobias-adam-decay": dict(arch="2-2-1", bias=False, optimizer="adam", weight_decay=True),
    "16-32-16": dict(arch="16-32-16"),  # derived per layer, tested along random directions
}
COUNT_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}


@pytest.fixture(scope="module", params=sorted(NETS))
def built(request):
    kw = dict(NETS[request.param])
    dd = derive.derivation(kw.pop("arch"), **kw)
    return request.param, dd, dd.latex(), dd.html()


def first_appearances(tex: str) -> list[int]:
    """Equation numbers in the order a reader first meets them, displayed or cited, whichever comes first."""
    numbered = {label: int(n) for n, label in re.findall(r"\\tag\{(\d+)\}\\label\{eq:([^}]+)\}", tex)}
    body = tex[tex.index(r"\begin{document}") :]
    order: list[int] = []
    for m in re.finditer(r"\\tag\{(\d+)\}|\\eqn\{([^}]+)\}|\\eqref\{eq:([^}]+)\}", body):
        n = int(m.group(1)) if m.group(1) else numbered[m.group(2) or m.group(3)]
        if n not in order:
            order.append(n)
    return order


def test_equation_numbers_first_appear_in_increasing_order(built):
    name, dd, tex, page = built
    order = first_appearances(tex)
    assert sorted(order) == sorted(e.number for e in dd.derivation.equations), name  # every number is met
    assert order == sorted(order), name
    # the page numbers its equations as the PDF does, and meets them in the same order
    body = page[page.index("<body") :]
    met: list[int] = []
    for n in re.findall(r'(?:href="#|id=")eq-(\d+)"', body):
        if int(n) not in met:
            met.append(int(n))
    assert met == sorted(met), name


def test_the_general_sections_title_counts_the_rules_it_states(built):
    name, dd, tex, page = built
    text = tex[tex.index(r"\label{sec:general}") - 80 : tex.index(r"\paragraph{Matrix form.}")]
    title = re.search(r"\\section\{The (\w+) rules for any layer\}", text)
    stated = re.findall(r"\\label\{eq:(rule-\d)\}", text)
    assert title and COUNT_WORDS[title.group(1)] == len(stated), (name, stated)
    given = re.search(r"give (\w+) rules", text)
    assert COUNT_WORDS[given.group(1)] == len(stated), name
    assert ("rule-3" in stated) == dd.derivation.spec.bias  # the bias rule is stated exactly with biases
    # the box counts its own lines
    box = tex[tex.index(r"\textbf{Backpropagation in") : tex.index(r"\end{minipage}")]
    lines = re.search(r"Backpropagation in (\w+) lines", box).group(1)
    rows = box[box.index(r"\begin{align*}") : box.index(r"\end{align*}")].count("&=")
    assert COUNT_WORDS[lines] == rows, name
    # the page: the same title in its heading and its contents, the same count in the box
    heading = re.search(r"<h2>\d+\. (The \w+ rules for any layer)</h2>", page).group(1)
    assert heading == title.group(0)[len(r"\section{") : -1]
    assert f"Backpropagation in {lines} lines" in page


def test_the_summary_sentence_counts_what_the_verification_records_hold(built):
    name, dd, tex, page = built
    d = dd.derivation
    if d.per_layer:
        records = [(g.kind, g.proof.method, g.size) for g in d.parameter_groups]
    else:
        records = [(p.kind, p.proof.method, 1) for p in d.parameters]
    weights = sum(n for kind, _, n in records if kind == "weight")
    biases = sum(n for kind, _, n in records if kind == "bias")
    methods = {m for _, m, _ in records}
    assert len(methods) == 1  # these nets are each proved one way: the sentence says "All n"
    method = methods.pop()
    symbolic = "proved symbolically equal to SymPy's derivative of the written-out error"
    words = {"symbolic": symbolic, "symbolic-lemma": symbolic, "directional": "tested along random"}
    for text in (re.sub(r"\s+", " ", tex), re.sub(r"\s+", " ", html.unescape(page))):
        m = re.search(
            r"All (\d+) derivatives \((?:(\d+) weights and (\d+) biases|one per weight)\) were ([^.]+)\.", text
        )
        assert m, name
        assert int(m.group(1)) == weights + biases == d.spec.n_parameters
        if d.spec.bias:
            assert (int(m.group(2)), int(m.group(3))) == (weights, biases)
        else:
            assert biases == 0 and m.group(2) is None
        assert m.group(4).startswith(words[method]), (name, m.group(4))
        assert "parameters proved:" not in text  # no line of command-line output


def _table_numbers(tex: str) -> tuple[set[str], set[str]]:
    """The numbers the example's tables and its input line print: computed (tables) and given (input, θ before)."""
    example_part = tex[tex.index(r"\section{A worked example}") :]
    inputs = example_part[example_part.index(r"\paragraph{Input, target") : example_part.index(r"\paragraph{By hand.}")]
    given = set(re.findall(r"= (-?\d+(?:\.\d+)?)\$", inputs))
    units = example_part[example_part.index(r"\paragraph{Forward pass") : example_part.index("of this sample is")]
    computed = set(re.findall(r"& (-?\d+\.\d+)", units))
    grads = example_part[example_part.index(r"\paragraph{Gradients and the update.}") :]
    for row in re.findall(r"^(.*)\\\\\*?$", grads[: grads.index(r"\end{longtable}")], re.M):
        cells = [c.strip() for c in row.split("&")]
        if len(cells) == 5 and re.fullmatch(r"-?\d+(\.\d+)?", cells[1]):
            given.add(cells[1])
            computed.update(c for c in cells[2:] if re.fullmatch(r"-?\d+\.\d+", c))
    return computed, given


def test_the_hand_calculation_writes_its_numbers_as_the_tables_do(built):
    """A computed number reads as in the tables (six decimals), a given one as given (an integer without '.0')."""
    name, dd, tex, _ = built
    d = dd.derivation
    computed, given = _table_numbers(tex)
    assert computed and given
    assert all(len(c.split(".")[1]) == 6 for c in computed)
    ex = example.default(d)
    step = example.run(d, ex)
    # a wide layer's hand line shows numbers the tables leave out: given ones read as given (no trailing zero),
    # computed ones to six decimals
    starting = {float(v) for a in step.params.values() for v in a.ravel()} | set(ex.x) | set(ex.t)
    for layer in d.layers[-2:]:
        rows = hand.unit(d, Printing(d, "bishop"), step, layer)
        assert rows, name  # the seeded example's numbers are small enough to be done by hand
        results: set[str] = set()  # with weight decay, ∂E/∂w before the penalty's term is added is used below it
        for r in rows:
            # numbers stand for symbols: a given one is in the input line or the 'before' column, a computed one
            # (a value of the layer below, a δ above) in the tables; bare constants (1 - y) are 1 or 2
            for token in re.findall(r"(?<![\d.])-?\d+(?:\.\d+)?(?![\d.])", r["numbers"]):
                as_given = re.fullmatch(r"-?\d+(\.\d*[1-9])?", token) and float(token) in starting
                as_computed = re.fullmatch(r"-?\d+\.\d{6}", token) and any(
                    abs(float(token) - v) <= 5e-7 for v in step.values.values()
                )
                assert token in computed | given | results or as_given or as_computed or token in ("1", "2"), (
                    name,
                    token,
                )
            assert not re.search(r"(?<![\d.])-?\d+\.0(?![\d])", r["numbers"]), (name, r["numbers"])  # no '1.0'
            assert re.fullmatch(r"-?\d+\.\d{6}", r["result"]), (name, r["result"])
            # each result is in the tables, but ∂E/∂w before the penalty's term is added (the tables list the sum)
            if not (d.spec.weight_decay and r["lhs"].startswith(r"\frac{\partial E}")):
                assert r["result"] in computed, (name, r["lhs"], r["result"])
            results.add(r["result"])
        # every symbol of the pre-activation reads as its value: given as given, computed to six decimals
        for s in layer.pre[0].free_symbols:
            text = hand_mod.shown_text(step, s)
            if hand_mod.given(s):
                assert text in given or re.fullmatch(r"-?\d+(\.\d*[1-9])?", text), (name, s, text)
            else:
                assert text in computed or len(text.split(".")[1]) == 6, (name, s, text)


def test_a_sentence_of_several_methods_counts_each_methods_weights_and_biases():
    """Where SymPy could not cancel some differences, the sentence splits the count by method, as the records do."""
    import dataclasses

    from derive.render import checks

    d = derive.derivation("2-3-2").derivation
    for p in (d.parameters[0], d.parameters[2]):  # a weight and the bias of unit 1 of layer 1
        p.proof = dataclasses.replace(p.proof, method="random-points")
    assert [p.kind for p in (d.parameters[0], d.parameters[2])] == ["weight", "bias"]
    sentence = checks.summary_sentence(d)
    m = re.fullmatch(
        r"Of the (\d+) derivatives \((\d+) weights and (\d+) biases\), (\d+) weights and (\d+) biases were proved "
        r"symbolically equal to SymPy's derivative of the written-out error; and (\d+) weight and (\d+) bias were "
        r"found equal to it to 40 significant digits at random points, where SymPy could not cancel the difference\.",
        sentence,
    )
    assert m, sentence
    assert [int(n) for n in m.groups()] == [17, 12, 5, 11, 4, 1, 1]


@pytest.mark.parametrize(
    "options",
    [dict(arch="4-4-4", act="tanh", weight_decay=True), dict(arch="4-4-4-4", act="tanh,tanh,sigmoid", loss="bce")],
    ids=["4-4-4-tanh-decay", "4-4-4-4-bce"],
)
def test_a_hand_line_too_long_for_the_page_is_set_on_more_rows(options, tmp_path):
    """Four inputs with negative weights make a pre-activation's numbers longer than a line: no row runs over."""
    from derive.render.latex import pdf

    kw = dict(options)
    tex = derive.derivation(kw.pop("arch"), **kw).latex()
    log = tmp_path / "derivation.log"
    pdf.compile_pdf(tex, keep_log=log)
    assert "Overfull \\hbox" not in log.read_text(encoding="latin-1")
    hand = tex[tex.index(r"\paragraph{By hand.}") : tex.index(r"\paragraph{Forward pass")]
    assert "&\\qquad" in hand  # a sum of numbers went on two rows
