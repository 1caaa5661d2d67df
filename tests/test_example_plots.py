"""The worked example's plots: the web page draws the numbers the PDF plots, and both are right.

Both documents are parsed: the pgfplots coordinates of derivation.tex, and the ``data-points``
of the page's SVG figures, whose drawn pixels are also read back into numbers. The expected
values come from autograd: the gradient norms of the forward pass written in
tests/test_example_defaults.py, and the error curve from plain SGD with autograd's gradient.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from autograd import grad
from test_example_defaults import _arrays, _error

from derive import make_spec
from derive.pipeline import derivation
from derive.render import example
from derive.render.html import page
from derive.render.latex import document

NETS = {
    "2-3-2": dict(arch="2-3-2"),
    "2-3-3-2-tanh-softmax-ce": dict(arch="2-3-3-2", act="tanh,tanh,softmax", loss="ce"),
    "3-4-3-relu-softmax-ce": dict(arch="3-4-3", act="relu,softmax", loss="ce"),
}
SVG = "{http://www.w3.org/2000/svg}"


def _pairs(text: str) -> list[tuple[int, float]]:
    return [(int(n), float(v)) for n, v in re.findall(r"\(?([0-9]+),([-0-9.e+]+)\)?", text)]


def _tex_plots(tex: str) -> tuple[list, list]:
    """The curve's and the bar chart's coordinates, in the order the document draws them."""
    found = re.findall(r"\\addplot\[[^\]]*\] coordinates \{([^}]*)\};", tex)
    assert len(found) == 2, "the PDF draws the error curve and the bar chart"
    return _pairs(found[0]), _pairs(found[1])


def _figure(html: str, ident: str) -> ET.Element:
    """The SVG of the page's figure ``ident``, parsed as XML."""
    start = html.index(f'<figure id="{ident}">')
    body = html[start : html.index("</figure>", start)]
    svg = body[body.index("<svg") : body.index("</svg>") + len("</svg>")]
    return ET.fromstring(svg)


@pytest.fixture(scope="module", params=sorted(NETS))
def built(request):
    spec = make_spec(**NETS[request.param])
    d = derivation(spec)
    return spec, d, document.render(d), page.render(d)


def test_the_page_draws_the_numbers_the_pdf_plots(built):
    _, _, tex, html = built
    curve, bars = _tex_plots(tex)
    line = _figure(html, "fig-curve").find(f"{SVG}polyline")
    assert _pairs(line.get("data-points")) == curve
    chart = _figure(html, "fig-gradnorms")
    assert _pairs(chart.get("data-points")) == bars
    rects = chart.findall(f"{SVG}rect")
    assert [(int(r.get("data-layer")), float(r.get("data-value"))) for r in rects] == bars


def _scale(ticks: list[tuple[float, float]]):
    """The linear map from pixels to values through the first and last of (pixel, value) ticks."""
    (p0, v0), (p1, v1) = ticks[0], ticks[-1]
    return lambda p: v0 + (p - p0) * (v1 - v0) / (p1 - p0)


def test_the_drawn_pixels_are_the_plotted_numbers(built):
    """Read the drawing back through its own tick labels: each vertex and each bar gives its number again."""
    _, _, tex, html = built
    curve, bars = _tex_plots(tex)
    svg = _figure(html, "fig-curve")
    ticks = [t for t in svg.findall(f"{SVG}text") if t.get("class") == "tick"]
    xs = [(float(t.get("x")), float(t.text)) for t in ticks if t.get("text-anchor") == "middle"]
    ys = [(float(t.get("y")), float(t.find(f"{SVG}tspan").text)) for t in ticks if t.get("text-anchor") == "end"]
    assert xs[0][1] == 0 and xs[-1][1] == 200 and len(ys) >= 2
    step_at, log_at = _scale(xs), _scale(ys)
    vertices = [tuple(map(float, p.split(","))) for p in svg.find(f"{SVG}polyline").get("points").split()]
    assert len(vertices) == len(curve)
    for (px, py), (n, e) in zip(vertices, curve):
        assert step_at(px) == pytest.approx(n, abs=0.2)
        assert log_at(py) == pytest.approx(math.log10(e), abs=0.01)
    rects = _figure(html, "fig-gradnorms").findall(f"{SVG}rect")
    heights = [float(r.get("height")) for r in rects]
    tallest = max(v for _, v in bars)
    for h, (_, v) in zip(heights, bars):
        assert h / max(heights) == pytest.approx(v / tallest, abs=0.1 / max(heights))


def test_the_plotted_numbers_agree_with_autograd(built):
    spec, d, tex, _ = built
    curve, bars = _tex_plots(tex)
    ex = example.default(d)
    E = _error(spec, ex)
    dE = grad(E)
    params = _arrays(ex)
    g = dE(params)
    want = [
        np.sqrt(np.sum(g[f"W{l}"] ** 2) + (np.sum(g[f"b{l}"] ** 2) if spec.bias else 0.0))
        for l in range(1, spec.n_layers + 1)
    ]
    assert [l for l, _ in bars] == list(range(1, spec.n_layers + 1))
    np.testing.assert_allclose([v for _, v in bars], want, rtol=1e-5)
    errors = []
    for _ in range(201):  # plain SGD on the one sample, autograd's gradient
        errors.append(E(params))
        step = dE(params)
        params = {k: params[k] - ex.lr * step[k] for k in params}
    assert curve[0][0] == 0 and curve[-1][0] == 200
    np.testing.assert_allclose([v for _, v in curve], [errors[n] for n, _ in curve], rtol=1e-5)


def test_the_figures_are_accessible_and_labelled(built):
    _, _, _, html = built
    for ident, words in (("fig-curve", ("gradient step", "error")), ("fig-gradnorms", ("layer", "gradient norm"))):
        svg = _figure(html, ident)
        assert svg.get("role") == "img"
        title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
        assert title is not None and title.text and desc is not None and desc.text
        assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
        labels = [t.text for t in svg.findall(f"{SVG}text") if t.get("class") == "label"]
        assert all(any(w in label for label in labels) for w in words), labels


def test_the_bar_labels_follow_the_notation_layer_numbers():
    """Nielsen numbers the input layer 1: the bars of a 2-3-2 net are his layers 2 and 3, in both documents."""
    d = derivation(make_spec("2-3-2"))
    assert "xticklabels={2,3}" in document.render(d, notation="nielsen")
    assert "xticklabels={1,2}" in document.render(d)
    chart = _figure(page.render(d, notation="nielsen"), "fig-gradnorms")
    titles = [r.find(f"{SVG}title").text for r in chart.findall(f"{SVG}rect")]
    assert [t.split(":")[0] for t in titles] == ["layer 2", "layer 3"]
