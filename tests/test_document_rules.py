"""The rules for a general layer l: each gives this network's derived equations, and the matrix rules their entries."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

from derive.core import general
from derive.pipeline import derivation
from derive.prove import general as proof
from derive.render.latex import document
from derive.spec import make_spec

NETS = {
    "2-3-2": dict(arch="2-3-2"),
    "2-2-1-nobias": dict(arch="2-2-1", bias=False),
    "2-3-3-2-tanh-softmax-ce": dict(arch="2-3-3-2", act="tanh,tanh,softmax", loss="ce"),
    "3-4-3-relu-softmax-ce": dict(arch="3-4-3", act="relu,softmax", loss="ce"),
    "2-2-2-1-linear": dict(arch="2-2-2-1", act="tanh,softplus,linear"),
}


@pytest.fixture(scope="module", params=sorted(NETS))
def built(request):
    return derivation(make_spec(**NETS[request.param]))


def test_every_rule_is_proved_for_every_layer_it_covers(built):
    L = built.spec.n_layers
    proved = {rule: set(layers) for rule, _, layers in built.general_proofs}
    assert proved["rule-4"] == set(range(1, L + 1))
    assert proved["rule-4-matrix"] == set(range(1, L + 1))
    assert proved["rule-2"] == set(range(1, L))
    if built.spec.bias:
        assert proved["rule-3"] == proved["rule-3-matrix"] == set(range(1, L + 1))
    if built.layers[-1].activation != "softmax":
        assert proved["rule-1"] == {L}


def test_matrix_rules_have_consistent_shapes(built):
    for e in built.equations:
        if e.id.endswith("-matrix"):
            assert e.lhs.shape == e.rhs.shape, e.id  # SymPy checks the products' inner sizes on construction


def test_a_wrong_general_rule_is_caught(built):
    """Dropping the activation derivative from the hidden rule must fail the proof (no pass by construction)."""
    wrong = [
        dataclasses.replace(e, rhs=e.rhs.replace(lambda x: isinstance(x, general.ActivationPrime), lambda x: 1))
        if e.id == "rule-2"
        else e
        for e in built.equations
    ]
    broken = dataclasses.replace(built, equations=wrong)
    with pytest.raises(proof.RuleMismatch):
        proof.prove(broken)


def test_a_wrong_matrix_rule_is_caught():
    d = derivation(make_spec("2-3-2"))
    l = general.LAYER
    wrong = general.matrix("w", l + 1).T * general.matrix("delta", l + 1)  # h' left out
    eqs = [dataclasses.replace(e, rhs=wrong) if e.id == "rule-2-matrix" else e for e in d.equations]
    with pytest.raises(proof.RuleMismatch):
        proof.prove(dataclasses.replace(d, equations=eqs))


def test_an_untransposed_weight_matrix_is_caught():
    """W δ in place of Wᵀ δ has the right shape on a square layer; its entries sum over the wrong index."""
    d = derivation(make_spec("2-2-2"))
    right = d.equation("rule-2-matrix").rhs
    wrong = right.replace(sp.Transpose, lambda m: m)
    assert wrong != right
    eqs = [dataclasses.replace(e, rhs=wrong) if e.id == "rule-2-matrix" else e for e in d.equations]
    with pytest.raises(proof.RuleMismatch, match=r"rule-2-matrix at layer 1"):
        proof.prove(dataclasses.replace(d, equations=eqs))


def test_the_document_states_each_rule_and_what_it_gave(built):
    tex = document.render(built)
    assert r"\label{sec:general}" in tex and r"\label{app:general}" in tex
    for rule, gave, _ in built.general_proofs:
        assert r"\label{eq:%s}" % rule in tex
        for eq_id in gave:
            assert r"\eqn{%s}" % eq_id in tex


def test_each_rule_names_its_instances_in_reading_order():
    """'(17) gives (13), (14)': the equations a general rule instantiates are listed by their numbers."""
    import re as _re

    from derive.pipeline import derivation as _derivation
    from derive.render.latex import document as _document
    from derive.spec import make_spec as _make_spec

    d = _derivation(_make_spec("2-3-3-2"))
    tex = _document.render(d)
    sentence = tex[tex.index(r"\paragraph{This network.}") :].split("\n\n")[0]
    found = _re.findall(r"\\eqn\{(rule-\d)\} gives ((?:\\eqn\{[^}]+\}(?:, )?)+)", sentence)
    assert len(found) == 4, sentence
    for _, listed in found:
        numbers = [d.equation(i).number for i in _re.findall(r"\\eqn\{([^}]+)\}", listed)]
        assert numbers == sorted(numbers), (listed, numbers)
    assert any(len(_re.findall(r"\\eqn", listed)) > 1 for _, listed in found)
