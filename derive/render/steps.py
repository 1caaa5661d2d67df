"""The derivations shown line by line, for any printer: which lines, each proved equal to the one before.

``d.steps`` holds them (:mod:`derive.core.steps`, proved by :mod:`derive.prove.steps`); the first
line is ∂/∂a of the activation's definition, which each format writes in its own way (``first``).
Where no derivation is shown, :func:`how` says how SymPy wrote the derivative instead.
"""

from __future__ import annotations

from typing import NamedTuple

import sympy as sp

from derive.core import calculus, naming
from derive.core.model import Derivation, Layer
from derive.render import chain

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


class How(NamedTuple):
    """How an activation's derivative was written in the unit's output, for a format to put in words.

    ``kind``: "softmax" (quotient rule, the exponential as S times the output), "inverse" (y = f(a)
    solved for a, ``expr``, and substituted), "output" (f(a) replaced by the output y in f'(a)) or
    "direct" (f'(a), ``expr``, is no function of f(a)). ``y`` and ``a`` are the layer's generic unit
    output and pre-activation (None for softmax).
    """

    kind: str
    y: sp.Symbol | None = None
    a: sp.Symbol | None = None
    expr: sp.Expr | None = None


def how(layer: Layer) -> How:
    """How the derivative of ``layer``'s activation was written in the unit's output."""
    if layer.activation == "softmax":
        return How("softmax")
    calc = calculus.elementwise(layer.activation)
    l = layer.index
    y = naming.indexed(chain.out_role(layer), l)[naming.index(l)]
    a = naming.indexed("a", l)[naming.index(l)]
    if calc.inverse is not None:
        tidy = calc.inverse.replace(
            lambda e: isinstance(e, sp.log), lambda e: sp.log(calculus.tidy(e.args[0], {calculus.Y}))
        )
        return How("inverse", y, a, tidy.xreplace({calculus.Y: y}))
    if calc.fprime_out is not None:
        return How("output", y, a)
    return How("direct", y, a, calc.fprime.xreplace({calculus.A: a}))
