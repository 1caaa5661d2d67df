"""The document of wide and large nets: natural index order, elided sums and units, no overflow, honest claims."""

from __future__ import annotations

import re

import pytest
import sympy as sp
from test_document import build_document, raw_text

from derive.core.lazy import LazyParameters
from derive.pipeline import derivation
from derive.render.latex import document, proofs
from derive.render.printer import latex
from derive.spec import make_spec

WIDE = {
    "784-128-64-10": dict(arch="784-128-64-10", act="sigmoid,sigmoid,softmax", loss="ce"),
    "3-5-12": dict(arch="3-5-12", act="tanh,softmax", loss="ce"),
}


@pytest.fixture(scope="module", params=sorted(WIDE))
def wide(request, tmp_path_factory):
    return build_document(WIDE[request.param], tmp_path_factory.mktemp(request.param), raw_text)


def test_wide_nets_print_their_sums_in_natural_order_and_elided(wide):
    d, tex, _, _, flat = wide
    K, L = d.spec.sizes[-1], d.spec.n_layers
    e = [latex(sp.exp(a), "bishop", L) for a in d.layers[-1].a]
    assert f"{{{e[0]} + {e[1]} + {e[2]} + \\cdots + {e[-1]}}}" in tex  # the softmax denominator
    assert f"{e[0]} + {e[9]}" not in tex  # SymPy's name order would put a_10 after a_1
    assert f"=t1y1+t2y1+t3y1+···+t{K}y1−t1=y1(t1+t2+t3+···+t{K})−t1" in flat.replace("\\", "")


def test_wide_nets_show_first_units_and_the_last_and_nothing_runs_off_the_page(wide):
    d, tex, _, log, _ = wide
    K, L = d.spec.sizes[-1], d.spec.n_layers
    assert "Overfull \\hbox" not in log
    a1 = latex(d.layers[-1].a[0], "bishop", L)
    jacobian = [rf"\frac{{\partial y_{{{m}}}}}{{\partial {a1}}}" for m in range(1, K + 1)]
    assert [m for m, entry in enumerate(jacobian, 1) if entry in tex] == [1, 2, K]
    chain = tex.split(r"\section{Output-layer weights}")[1].split(r"\paragraph{The pre-activation")[0]
    assert chain.index(jacobian[1]) < chain.index(r"\vdots") < chain.index(jacobian[-1])
    forward = tex.split(r"\section{The forward pass}")[1].split(r"\section{The error function}")[0]
    rows = [latex(d.layers[-1].a[k], "bishop", L) + " &= " for k in (1, K - 1)]
    assert forward.index(rows[0]) < forward.index(r"\vdots", forward.index(rows[0])) < forward.index(rows[1])
    table = tex.split(r"\section{A worked example}")[1].split(r"\appendix")[0]
    assert r"\text{--}" not in table  # every printed gradient was checked by a finite difference


def test_the_abstract_and_appendix_say_how_a_large_net_was_checked(wide):
    d, tex, *_ = wide
    assert d.per_layer and proofs.counts(d) == {"directional": d.spec.n_parameters}
    abstract = " ".join(tex.split(r"\begin{abstract}")[1].split(r"\end{abstract}")[0].split())
    assert "the formulas were tested numerically instead" in abstract and "random direction" in abstract
    assert "reduced to zero symbolically" not in abstract
    assert "fully written-out error" not in abstract and ";," not in abstract
    assert f"{d.spec.n_parameters} parameters in all;" in abstract
    assert r"\author{derived with SymPy and tested at random points" in tex
    appendix = tex.split(r"\appendix")[1]
    assert r"\section{How each formula was tested}" in appendix
    assert r"2T/\eta + 2^{-41}" in appendix and "mistake caught" in appendix  # the bound, stated once
    for layer in d.layers:  # one table row per layer: its parameters and its measured figures
        n = layer.n_out * (layer.n_in + (1 if layer.biases else 0))
        assert re.search(rf"^{layer.index} & {n} & \$[^$]+\$ & \$[^$]+\$ & \$[^$]+\$ \\\\$", appendix, re.M), layer
    assert "[U+00B1]" not in tex


def test_rendering_a_large_net_builds_only_the_units_it_shows(monkeypatch):
    """No loop over the parameters, weights or units of a large derivation while writing its document."""
    d = derivation(make_spec(**WIDE["784-128-64-10"]))
    built = []
    real = LazyParameters._build
    monkeypatch.setattr(LazyParameters, "_build", lambda self, k: built.append(k) or real(self, k))
    tex = document.render(d)
    assert len(built) <= 2 * len(d.layers)
    for layer in d.layers:
        assert layer.pre.n_built <= 3  # the rows the document prints
    for layer in d.layers[:-1]:
        assert layer.delta_forms.n_built <= 1
    assert document.render(d) == tex
