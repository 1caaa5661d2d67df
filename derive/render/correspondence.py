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


def concepts(d: Derivation) -> list[tuple[str, sp.Basic, int | None]]:
    """(what it is, its generic symbol, the layer of the formula it is read in) for each row, in reading order.

    An input is read in the first layer's sum; everything else in a formula about its own layer.
    """
    L = d.spec.n_layers
    h = 1 if L > 1 else L
    unit = {level: naming.index(level) for level in range(L + 1)}
    rows = [
        ("input", naming.indexed("x", 0)[unit[0]], 1),
        ("pre-activation", naming.indexed("a", h)[unit[h]], None),
        ("hidden activation" if L > 1 else "output", naming.indexed("z" if L > 1 else "y", h)[unit[h]], None),
        ("output", naming.indexed("y", L)[unit[L]], None),
        ("target", naming.indexed("t", L)[unit[L]], None),
        ("weight, output layer", naming.indexed("w", L)[unit[L], unit[L - 1]], None),
        ("bias, output layer", naming.indexed("b", L)[unit[L]], None),
        ("error signal, output layer", naming.indexed("delta", L)[unit[L]], None),
        ("error", sp.Symbol("E"), None),
        ("weight matrix, output layer", vector("w", L, d.spec.sizes[L], d.spec.sizes[L - 1]), None),
        ("learning rate", update.ETA, None),
    ]
    if d.spec.optimizer == "adam":  # Adam's letters, where a preset has its own (Goodfellow's s, r, ρ, δ)
        w = naming.indexed("w", L)[unit[L], unit[L - 1]]
        rows += [
            ("Adam's first moment, output weight", update.FirstMoment(w, update.STEP), None),
            ("Adam's second moment, output weight", update.SecondMoment(w, update.STEP), None),
            ("Adam's decay rate of the first moment", update.BETA1, None),
            ("Adam's decay rate of the second moment", update.BETA2, None),
            ("Adam's constant in the denominator", update.EPSILON, None),
        ]
    return rows


def rows(d: Derivation, notation: str, show: Callable[[str, sp.Basic, int | None], str]) -> list[dict]:
    """The rows of the table; rows alike in both presets are left out.

    ``show(key, expr, focus)`` prints ``expr`` in one preset as part of a formula about layer ``focus``
    (see :func:`concepts`).

    The first row numbers the input layer when the two presets number layers differently.
    """
    keys = presets(notation)
    out = []
    first = [notations.NOTATIONS[k].layer_name(0) for k in keys]
    if len(set(first)) > 1:
        out.append(
            {"what": "number of the input layer", "cells": [show(k, sp.Integer(n), None) for k, n in zip(keys, first)]}
        )
    for what, expr, focus in concepts(d):
        cells = [show(k, expr, focus) for k in keys]
        if len(set(map(str, cells))) > 1:
            out.append({"what": notations.NOTATIONS[notation].words(what), "cells": cells})
    return out
