"""The derivations shown line by line, for any printer: which lines, each proved equal to the one before.

``d.steps`` holds them (:mod:`derive.core.steps`, proved by :mod:`derive.prove.steps`); the first
line is ∂/∂a of the activation's definition, which each format writes in its own way (``first``).
"""

from __future__ import annotations

import sympy as sp

from derive.core.model import Derivation

#: how the list of checked steps names the proof of one step (derive.prove.steps)
STEP_PROOFS = {"identical": "as written", "simplify": "simplify"}


def shown(d: Derivation, c, first) -> dict[str, dict]:
    """Each shown derivation by id: its left side, its first line ``first(c, a, definition)``, the later lines."""
    out = {}
    for s in d.steps:
        a = s.lines[0].variables[0]
        out[s.id] = {
            "lhs": c.tex(sp.Derivative(s.output, a)),
            "first": first(c, a, s.definition),
            "lines": [c.tex(line) for line in s.lines[1:]],
            "activation": s.activation,
            "layer": s.layer,
            "proofs": [STEP_PROOFS[p] for p in s.proofs],
        }
    return out
