"""derivation.html without a browser: one self-contained deterministic file with every equation anchored."""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser

import pytest
import sympy as sp

import derive
from derive.core import naming
from derive.render.mathml import mathml


class Page(HTMLParser):
    """Collects ids, tags, attributes that could reach outside the page, and checks nesting."""

    VOID = {"meta", "br", "img", "hr", "input", "link", "line", "circle", "path"}

    def __init__(self, text: str):
        super().__init__()
        self.ids: list[str] = []
        self.tags: list[str] = []
        self.outside: list[str] = []
        self.stack: list[str] = []
        self.mismatched: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for k, v in attrs:
            if k == "id":
                self.ids.append(v)
            if k in ("src", "href") and v and not v.startswith("#"):
                self.outside.append(v)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.mismatched.append(tag)
        else:
            self.stack.pop()


@pytest.fixture(scope="module")
def d():
    return derive.derivation("2-3-2", act="tanh,softmax", loss="ce")


def test_every_equation_has_one_anchor_and_nothing_reaches_outside(d):
    page = Page(d.html())
    assert page.mismatched == [] and page.stack == []
    for e in d.derivation.equations:
        assert page.ids.count(f"eq-{e.number}") == 1, e.id
    assert len(page.ids) == len(set(page.ids))
    assert "script" not in page.tags and "img" not in page.tags and "link" not in page.tags
    assert page.outside == []
    assert "svg" in page.tags and "math" in page.tags


def test_deterministic(d):
    again = derive.derivation("2-3-2", act="tanh,softmax", loss="ce")
    assert d.html() == again.html()


def test_the_output_delta_shows_the_derived_form(d):
    """Softmax with cross-entropy: the page's equation for δ of the output layer reads y - t."""
    n = d.derivation.equation("delta-2").number
    block = re.search(r'id="eq-%d".*?<math display="block">(.*?)</math>' % n, d.html(), re.S).group(1)
    k = naming.index(2)
    y, t = naming.indexed("y", 2)[k], naming.indexed("t", 2)[k]
    assert mathml(y - t, "bishop", 2) in block
    assert "idx" not in d.html()


def test_notation_reaches_the_page(d):
    nielsen = d.in_notation("nielsen").html()
    assert mathml(sp.Symbol("E"), "nielsen", 2) == "<mi>C</mi>"
    n = d.derivation.equation("error").number

    def error_equation(text: str) -> str:
        return re.search(r'id="eq-%d".*?</math>' % n, text, re.S).group(0)

    assert error_equation(nielsen).count("<mi>C</mi>") == 1
    assert "<mi>C</mi>" not in error_equation(d.html())


def build(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "derive", "build", "--arch", "2-2-1", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    "fmt, files",
    [
        ("html", {"derivation.html"}),
        ("html,tex", {"derivation.html", "derivation.tex"}),
        ("tex", {"derivation.tex"}),
    ],
)
def test_build_format_chooses_the_documents(tmp_path, fmt, files):
    r = build("--format", fmt, "--out", "out", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert {p.name for p in (tmp_path / "out").iterdir()} == files | {"trainer.py", "formulas.json"}


def test_build_bad_format_is_one_line(tmp_path):
    r = build("--format", "pdf,docx", "--out", "out", cwd=tmp_path)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "docx" in r.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("style", ["scalar", "vector"])
def test_every_equation_the_trainer_cites_has_an_anchor(d, style):
    cited = {int(n) for n in re.findall(r"eq\. \((\d+)\)", d.trainer_source(style))}
    assert cited, "the trainer cites no equation"
    ids = set(Page(d.html()).ids)
    assert {f"eq-{n}" for n in cited} <= ids
    assert "derivation.html#eq-" in d.trainer_source(style)


def _value(cell: str) -> float:
    """A number as the page prints it (given or to six decimals, Unicode minus, powers of ten as × 10<sup>n</sup>)."""
    text = cell.replace("−", "-")
    m = re.fullmatch(r"(\S+) × 10<sup>(-?\d+)</sup>", text)
    return float(m.group(1)) * 10 ** int(m.group(2)) if m else float(text)


@pytest.mark.parametrize("arch,act,loss", [("2-3-2", "sigmoid", "sse"), ("2-3-3", "tanh,softmax", "ce")])
def test_worked_example_gradients_match_an_independent_finite_difference(arch, act, loss):
    """The page's gradient table against central differences of an error written with numpy (test_example.py)."""
    import numpy as np
    from test_example import finite_differences

    from derive.render import example

    d = derive.derivation(arch, act=act, loss=loss)
    ex = example.default(d.derivation)
    page = d.html()
    table = page.split('id="tab-example-gradients"')[1].split("</table>")[0]
    rows = re.findall(
        r"<tr><td>(<math.*?</math>)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", table
    )
    assert len(rows) == d.spec.n_parameters
    want = finite_differences(ex.params, ex.x, ex.t, d.spec.activations, loss)
    for p, (_, before, grad, _, after) in zip(d.parameters, rows):
        w, g = float(np.asarray(ex.params[p.key], float)[p.index]), want[p.key][p.index]
        assert _value(before) == w  # a given number, as given
        # computed numbers to six decimals: half a unit of the sixth, and the finite difference's own error
        assert abs(_value(grad) - g) <= 5e-7 + 1e-8, (p.name, grad, g)
        new = w - ex.lr * g
        assert abs(_value(after) - new) <= 5e-7 + 1e-8
