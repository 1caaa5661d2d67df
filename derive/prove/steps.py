"""Proof of the derivations the document shows line by line (:mod:`derive.core.steps`).

Each line must equal the line before it: their difference, with the unit's
output written as its definition f(a), must simplify to zero. A derivation is
cut at the first line that fails, so the document never prints an unproved step.
"""

from __future__ import annotations

import sympy as sp

from derive.core.model import Derivation


def equal(before: sp.Expr, after: sp.Expr, output: sp.Expr, definition: sp.Expr) -> str | None:
    """How ``after`` was shown equal to ``before`` ("identical", "simplify"), or None."""
    lhs, rhs = (e.doit().xreplace({output: definition}) for e in (before, after))
    if lhs == rhs:
        return "identical"
    if sp.simplify(lhs - rhs) == 0:
        return "simplify"
    return None


def prove(d: Derivation) -> Derivation:
    """Prove every step of every shown derivation, cutting a derivation at its first unproved line."""
    for s in d.steps:
        proofs = []
        for n in range(1, len(s.lines)):
            how = equal(s.lines[n - 1], s.lines[n], s.output, s.definition)
            if how is None:
                s.lines = s.lines[:n]
                break
            proofs.append(how)
        s.proofs = proofs
    return d
