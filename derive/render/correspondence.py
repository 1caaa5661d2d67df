"""The notation table both documents end with: one network's generic symbols in several presets.

The PDF (LaTeX) and the web page (MathML) print the same rows with their own
printers; the rows themselves are chosen here once.
"""

from __future__ import annotations

import sympy as sp

from derive.core import naming
from derive.core.model import Derivation
from derive.render.printer import vector

#: The presets every table shows beside the chosen one.
ALWAYS = ("bishop", "nielsen")


def presets(notation: str) -> list[str]:
    """The chosen preset first, then the others of :data:`ALWAYS`.

    >>> presets("goodfellow"), presets("nielsen")
    (['goodfellow', 'bishop', 'nielsen'], ['nielsen', 'bishop'])
    """
    return [notation] + [k for k in ALWAYS if k != notation]


def concepts(d: Derivation) -> list[tuple[str, sp.Basic]]:
    """(what it is, its generic symbol) for each row of the table, in reading order."""
    L = d.spec.n_layers
    h = 1 if L > 1 else L
    return [
        ("input", naming.indexed("x", 0)[naming.index(0)]),
        (f"pre-activation, layer {h}", naming.indexed("a", h)[naming.index(h)]),
        ("hidden activation" if L > 1 else "output", naming.indexed("z" if L > 1 else "y", h)[naming.index(h)]),
        ("output", naming.indexed("y", L)[naming.index(L)]),
        ("target", naming.indexed("t", L)[naming.index(L)]),
        (f"weight, layer {L}", naming.indexed("w", L)[naming.index(L), naming.index(L - 1)]),
        (f"bias, layer {L}", naming.indexed("b", L)[naming.index(L)]),
        (f"error signal, layer {L}", naming.indexed("delta", L)[naming.index(L)]),
        ("error", sp.Symbol("E")),
        ("weight matrix", vector("w", L, d.spec.sizes[L], d.spec.sizes[L - 1])),
    ]
