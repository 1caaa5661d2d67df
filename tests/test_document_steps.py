"""Derivations shown line by line: every displayed line equals the one before; the backward picture; label placement."""

from __future__ import annotations

import random

import pytest
import sympy as sp

from derive.core import naming, steps
from derive.core.model import Steps
from derive.pipeline import derivation
from derive.prove import steps as prove_steps
from derive.render.latex import diagram, document
from derive.render.latex.context import Printing
from derive.render.printer import NotationLatexPrinter
from derive.spec import make_spec

NETS = {
    "2-3-2": dict(arch="2-3-2"),
    "2-3-2-tanh-softplus": dict(arch="2-3-2", act="tanh,softplus"),
    "3-4-3-relu-softmax-ce": dict(arch="3-4-3", act="relu,softmax", loss="ce"),
}


@pytest.fixture(scope="module", params=sorted(NETS))
def built(request):
    return derivation(make_spec(**NETS[request.param]))


def numerically_equal(before: sp.Expr, after: sp.Expr, s: Steps) -> bool:
    """An independent check of one step: both lines at random pre-activations, the output replaced by its definition."""
    rng = random.Random(1)
    a = s.lines[0].variables[0]
    for _ in range(5):
        value = sp.Float(rng.uniform(-3, 3), 30)
        if abs(value) < 0.1:
            continue
        at = {a: value}
        lhs, rhs = (e.doit().xreplace({s.output: s.definition}).xreplace(at).evalf(30) for e in (before, after))
        if abs(lhs - rhs) > 1e-25:
            return False
    return True


def test_every_elementwise_activation_is_derived_step_by_step(built):
    names = {layer.activation for layer in built.layers} - {"softmax", "linear"}
    assert {s.activation for s in built.steps} == names


def test_every_displayed_step_equals_the_line_before(built):
    tex = document.render(built)
    printer = NotationLatexPrinter("bishop", built.spec.n_layers)
    for s in built.steps:
        assert len(s.proofs) == len(s.lines) - 1, s.id  # every step proved, none cut
        assert s.lines[0] == sp.Derivative(s.definition, s.lines[0].variables[0])
        for before, after in zip(s.lines, s.lines[1:]):
            assert numerically_equal(before, after, s), (s.id, after)
        for line in s.lines[1:]:
            assert printer.doprint(line) in tex, (s.id, line)


def test_the_last_line_is_the_output_form_the_rules_use(built):
    for s in built.steps:
        fprime = built.equation(f"fprime-{s.layer}").rhs
        assert sp.simplify(s.lines[-1] - fprime) == 0, s.id


def test_a_wrong_step_is_cut_and_not_printed():
    d = derivation(make_spec("2-3-2"))
    s = d.steps[0]
    a = s.lines[0].variables[0]
    bad = Steps(s.id, s.layer, s.activation, s.output, s.definition, [*s.lines[:2], sp.exp(-a), *s.lines[2:]], [])
    d.steps = [bad]
    prove_steps.prove(d)
    assert bad.lines == s.lines[:2] and len(bad.proofs) == 1
    shown = document.shown_steps(d, Printing(d, "bishop"))[s.id]["lines"]
    assert NotationLatexPrinter("bishop", 2).doprint(sp.exp(-a)) not in shown


def test_sigmoid_is_derived_through_its_product_form():
    a, y = naming.indexed("a", 1)[naming.index(1)], naming.indexed("z", 1)[naming.index(1)]
    lines = steps.activation_steps("sigmoid", a, y)
    assert lines[-1] == y * (1 - y)
    assert any(isinstance(line, sp.Mul) and any(isinstance(f, sp.UnevaluatedExpr) for f in line.args) for line in lines)


@pytest.mark.parametrize("arch", ["2-3-2", "3-2-3", "2-2-2-2", "1-3-1", "3-3-3", "2-3-3-2", "8-9-4", "784-128-64-10"])
def test_weight_labels_never_overlap(arch):
    d = derivation(make_spec(arch)) if arch != "784-128-64-10" else None
    if d is None:
        from derive.core.symbolic import derive

        d = derive(make_spec(arch))
    printer = NotationLatexPrinter("bishop", d.spec.n_layers)
    for picture in (diagram.diagram(d, printer), diagram.backward(d, printer)):
        where = {n.name: (n.x, n.y) for n in picture["nodes"]}
        points = [diagram.label_point(where[e.source], where[e.target], e.pos) for e in picture["edges"] if e.label]
        assert points, arch  # every picture labels at least one representative edge per layer
        for n, p in enumerate(points):
            for q in points[n + 1 :]:
                assert not diagram.overlaps(p, q), (arch, p, q)
