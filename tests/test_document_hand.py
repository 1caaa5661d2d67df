"""The worked example by hand: each line with numbers put in evaluates to its printed result; the error curve."""

from __future__ import annotations

import pytest

from derive.core import evaluate
from derive.pipeline import derivation
from derive.render import example, numbers
from derive.render.latex import document, hand
from derive.render.latex.context import Printing
from derive.spec import make_spec

NETS = {
    "2-3-2": dict(arch="2-3-2"),
    "2-3-3-2-tanh-softmax-ce": dict(arch="2-3-3-2", act="tanh,tanh,softmax", loss="ce"),
    "2-2-1-nobias": dict(arch="2-2-1", bias=False),
}


@pytest.fixture(scope="module", params=sorted(NETS))
def worked(request):
    d = derivation(make_spec(**NETS[request.param]))
    ex = example.default(d)
    return d, ex, example.run(d, ex)


def test_each_hand_line_evaluates_to_its_result(worked):
    d, _, step = worked
    for layer in (d.layers[-1], d.layers[-2]):
        form = layer.delta_forms[0]
        put_in = hand.with_numbers(form, step)
        assert not put_in.free_symbols  # every symbol was given its number
        assert abs(float(put_in.doit()) - step.values[layer.delta[0]]) < 1e-5
        pre = hand.with_numbers(layer.pre[0], step)
        assert abs(float(pre.doit()) - step.values[layer.a[0]]) < 1e-5
    rows = hand.unit(d, Printing(d, "bishop"), step, d.layers[-1])
    assert [r["result"] for r in rows][:2] == [numbers.plain(step.values[s]) for s in (d.layers[-1].a[0], d.outputs[0])]


def test_the_error_curve_starts_at_the_example_and_falls(worked):
    d, ex, step = worked
    errors = evaluate.descent(d, ex.params, ex.x, ex.t, ex.lr, 50)
    assert errors[0] == pytest.approx(step.error, rel=1e-12)
    assert errors[1] == pytest.approx(step.error_after, rel=1e-12)  # the same step as the tables
    assert errors[-1] < errors[0]


def test_the_document_shows_the_hand_calculation_and_the_plot(worked):
    d, *_ = worked
    tex = document.render(d)
    assert r"\paragraph{By hand.}" in tex and r"\addplot" in tex
