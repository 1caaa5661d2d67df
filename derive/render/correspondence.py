"""The notation table both documents end with: where the chosen preset differs from the default.

The PDF (LaTeX) and the web page (MathML) print the same rows with their own
printers; the rows themselves are chosen here once: one row per quantity whose
symbol differs between the two columns, so the table is a short key, not a list.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from derive.core import naming, update
from derive.core.model import Derivation
from derive.render import notations
from derive.render.printer import vector

#: The notation the document uses unless told otherwise; every other preset is shown beside it.
DEFAULT = "bishop"
#: The preset shown beside the default when the default itself is chosen.
SECOND = "nielsen"


def presets(notation: str) -> list[str]:
    """The chosen preset, then the one it is compared with.

    >>> presets("goodfellow"), presets("bishop")
    (['goodfellow', 'bishop'], ['bishop', 'nielsen'])
    """
    return [notation, DEFAULT if notation != DEFAULT else SECOND]


def concepts(d: Derivation) -> list[tuple[str, sp.Basic]]:
    """(what it is, its generic symbol) for each row of the table, in reading order."""
    L = d.spec.n_layers
    h = 1 if L > 1 else L
    unit = {level: naming.index(level) for level in range(L + 1)}
    return [
        ("input", naming.indexed("x", 0)[unit[0]]),
        ("pre-activation", naming.indexed("a", h)[unit[h]]),
        ("hidden activation" if L > 1 else "output", naming.indexed("z" if L > 1 else "y", h)[unit[h]]),
        ("output", naming.indexed("y", L)[unit[L]]),
        ("target", naming.indexed("t", L)[unit[L]]),
        ("weight, output layer", naming.indexed("w", L)[unit[L], unit[L - 1]]),
        ("bias, output layer", naming.indexed("b", L)[unit[L]]),
        ("error signal, output layer", naming.indexed("delta", L)[unit[L]]),
        ("error", sp.Symbol("E")),
        ("weight matrix, output layer", vector("w", L, d.spec.sizes[L], d.spec.sizes[L - 1])),
        ("learning rate", update.ETA),
    ]


def rows(d: Derivation, notation: str, show: Callable[[str, sp.Basic], str]) -> list[dict]:
    """The rows of the table: ``show(key, expr)`` prints ``expr`` in one preset; rows alike in both are left out.

    The first row numbers the input layer when the two presets number layers differently.
    """
    keys = presets(notation)
    out = []
    first = [notations.NOTATIONS[k].layer_name(0) for k in keys]
    if len(set(first)) > 1:
        out.append(
            {"what": "number of the input layer", "cells": [show(k, sp.Integer(n)) for k, n in zip(keys, first)]}
        )
    for what, expr in concepts(d):
        cells = [show(k, expr) for k in keys]
        if len(set(map(str, cells))) > 1:
            out.append({"what": what, "cells": cells})
    return out
