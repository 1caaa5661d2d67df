"""The update equations: derived in the core, numbered after the gradients, printed in the algorithm section."""

from __future__ import annotations

import re

import pytest
import sympy as sp

from derive.core import update
from derive.pipeline import derivation
from derive.render.latex import document
from derive.spec import make_spec

NETS = [
    dict(arch="2-3-2"),
    dict(arch="2-2-1", bias=False),
    dict(arch="2-3-3-2", act="tanh,tanh,softmax", loss="ce"),
]


@pytest.fixture(scope="module", params=NETS, ids=lambda o: "-".join(str(v) for v in o.values()))
def built(request):
    return derivation(make_spec(**request.param))


def test_every_parameter_family_has_one_update_against_its_gradient(built):
    updates = {e.id: e for e in built.equations if e.id.startswith("update-")}
    expected = {f"update-{kind}-{l.index}" for l in built.layers for kind in ("w", "b")[: 1 + built.spec.bias]}
    assert set(updates) == expected
    for eq_id, eq in updates.items():
        grad = built.equation(eq_id.replace("update-", "grad-"))
        # the update changes exactly the parameter whose gradient the grad equation gives
        assert update.parameter(eq) == grad.lhs.variables[0]
        # and it is a step of size eta against that gradient: d(update)/d(eta) = -dE/dtheta
        assert sp.diff(eq.rhs, update.ETA) == -grad.lhs
        assert eq.rhs.subs(update.ETA, 0) == 0


def test_equations_are_numbered_in_the_order_the_document_prints_them(built):
    numbers = [e.number for e in built.equations]
    assert numbers == list(range(1, len(numbers) + 1))
    tex = document.render(built)
    printed = [int(n) for n in re.findall(r"\\tag\{(\d+)\}\\label\{eq:", tex)]
    assert printed == sorted(printed) and set(printed) == set(numbers)
    last_grad = max(e.number for e in built.equations if e.id.startswith("grad-"))
    assert min(e.number for e in built.equations if e.id.startswith("update-")) > last_grad


def test_the_document_labels_and_cites_every_update_equation(built):
    tex = document.render(built)
    for e in built.equations:
        if e.id.startswith("update-"):
            assert re.search(r"\\tag\{%d\}\\label\{eq:%s\}" % (e.number, re.escape(e.id)), tex)
            assert r"\eqn{%s}" % e.id in tex
