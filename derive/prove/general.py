"""Proof that the general layer-l rules are the rules this network was derived with.

Each index-form rule of :mod:`derive.core.general`, written for every concrete
layer, must be the equation :mod:`derive.core.rules` derived for that layer
(the difference expands to zero); each matrix-form rule, with the network's
sizes put in, must give entry by entry the index form of the same layer.
The records say what was compared; the document lists them in its appendix.
"""

from __future__ import annotations

import sympy as sp

from derive.core import general, naming, rules
from derive.core.model import Derivation

GENERIC_ID = {"rule-1": "delta-{L}", "rule-2": "delta-{l}", "rule-3": "grad-b-{l}", "rule-4": "grad-w-{l}"}


#: a layer's matrix rules are compared entry by entry when its weight matrix has at most this many entries
MATRIX_ENTRIES = 400


class RuleMismatch(AssertionError):
    """A general rule does not give the equation derived for some layer."""


def _layers(d: Derivation, rule_id: str) -> list[int]:
    L = d.spec.n_layers
    if rule_id == "rule-1":
        return [L]
    if rule_id == "rule-2":
        return list(range(1, L))
    return list(range(1, L + 1))


def _fprime(d: Derivation, layer: int) -> sp.Expr:
    try:
        return d.equation(f"fprime-{layer}").rhs
    except KeyError:
        return sp.nan  # a softmax layer has no elementwise h' (its rules do not use one)


def _index_form(d: Derivation, rule: sp.Expr, layer: int) -> sp.Expr:
    inst = general.instantiate(rule, layer, d.spec.n_layers, d.spec.sizes, _fprime(d, layer))
    try:  # the output rule reads dE/dy_j: the derived equation of it
        de = d.equation("dE-dy")
        inst = inst.xreplace({de.lhs: de.rhs})
    except KeyError:
        pass
    return inst


def _same(a: sp.Expr, b: sp.Expr) -> bool:
    return sp.expand(sp.sympify(a).doit() - sp.sympify(b).doit()) == 0


def _explicit(d: Derivation, expr: sp.Expr, layer: int) -> sp.Matrix:
    """A matrix-form rule with this network's sizes: every vector written out entry by entry (1-based symbols)."""
    L = d.spec.n_layers
    at = {general.LAYER: layer, general.TOP: L}
    if isinstance(expr, sp.MatrixSymbol):
        kind, role, text = expr.name.split(":", 2)
        lev = int(general.parse_layer(text).subs(at))
        rows = d.spec.sizes[lev]
        cols = d.spec.sizes[lev - 1] if role == "w" else 1
        real = "x" if role == "z" and lev == 0 else ("y" if role == "z" and lev == L else role)

        def entry(r: int, c: int) -> sp.Expr:
            if role == "fprime":
                return rules.concretize(_fprime(d, lev).xreplace({naming.index(lev): r + 1}), L)
            if kind == "ggrad" and role == "y":  # the output rule reads dE/dy_j: its derived equation
                de = d.equation("dE-dy")
                return rules.concretize(de.rhs.xreplace({naming.index(L): r + 1}), L)
            sym = naming.symbol(real, lev, r + 1, c + 1) if role == "w" else naming.symbol(real, lev, r + 1)
            return sp.Derivative(general.E, sym) if kind == "ggrad" else sym

        return sp.Matrix(rows, cols, lambda r, c: entry(r, c))
    parts = [_explicit(d, a, layer) for a in expr.args]
    if isinstance(expr, sp.Transpose):
        return parts[0].T
    if isinstance(expr, sp.MatMul):
        out = parts[0]
        for p in parts[1:]:
            out = out * p
        return out
    if isinstance(expr, sp.HadamardProduct):
        out = parts[0]
        for p in parts[1:]:
            out = out.multiply_elementwise(p)
        return out
    raise TypeError(type(expr))


def _concrete(d: Derivation, expr: sp.Expr, units: dict) -> sp.Expr:
    """An index form at integer units, in the network's own symbols (its sums already written out)."""
    return rules.concretize(sp.sympify(expr).xreplace(units), d.spec.n_layers)


def prove(d: Derivation) -> Derivation:
    """Check every general rule against every layer; record what was compared (mutates and returns ``d``).

    Raises:
        RuleMismatch: a general rule does not give a derived equation.
    """
    records = []
    eqs = {e.id: e for e in d.equations}
    L = d.spec.n_layers
    for rule_id, pattern in GENERIC_ID.items():
        if rule_id not in eqs:
            continue
        rule = eqs[rule_id]
        layers = _layers(d, rule_id)
        for lev in layers:
            target = eqs[pattern.format(L=L, l=lev)]
            lhs, rhs = _index_form(d, rule.lhs, lev), _index_form(d, rule.rhs, lev)
            if lhs != target.lhs or not _same(rhs, target.rhs):
                raise RuleMismatch(f"{rule_id} at layer {lev} is not {target.id}: {rhs} vs {target.rhs}")
        records.append((rule_id, tuple(pattern.format(L=L, l=v) for v in layers), tuple(layers)))
        matrix_id = rule_id + "-matrix"
        if matrix_id not in eqs:
            continue
        small = [v for v in layers if d.spec.sizes[v] * d.spec.sizes[v - 1] <= MATRIX_ENTRIES]
        for lev in small:
            lhs = _explicit(d, eqs[matrix_id].lhs, lev)
            rhs = _explicit(d, eqs[matrix_id].rhs, lev)
            # the layer's index form, its sums over the layer above written out once for all entries
            # (the left side, a derivative of E, is never evaluated)
            form_lhs = _index_form(d, rule.lhs, lev)
            form_rhs = sp.sympify(_index_form(d, rule.rhs, lev)).doit()
            for r in range(lhs.rows):
                for c in range(lhs.cols):
                    units = {naming.index(lev): r + 1, naming.index(lev - 1): c + 1}
                    index_lhs = _concrete(d, form_lhs, units)
                    index_rhs = _concrete(d, form_rhs, units)
                    if lhs[r, c] != index_lhs or not _same(rhs[r, c], index_rhs):
                        raise RuleMismatch(f"{matrix_id} at layer {lev}, entry ({r + 1}, {c + 1})")
        if small:
            records.append((matrix_id, (rule_id,), tuple(small)))
    d.general_proofs = records
    return d
