"""What the document says about how its formulas were checked, read from the verification records.

A small derivation carries a record per parameter; a large (lazy) one a record
per layer on its parameter groups, and its parameters are never enumerated
here: counts come from the group sizes.
"""

from __future__ import annotations

import numpy as np

from derive.core.model import Derivation
from derive.prove import directional
from derive.render.checks import (
    SYMBOLIC,
    by_record,
    counts,
    how_checked,
    method_words,
    narrow_check,
    summary_sentence,
)

__all__ = [
    "SYMBOLIC",
    "counts",
    "directional_setup",
    "how_checked",
    "method_words",
    "narrow_check",
    "records",
    "scientific",
    "summary_sentence",
]


def records(d: Derivation, c) -> list[dict]:
    """The appendix's list: one entry per record (per method in a small net, per layer in a large one)."""
    out = []
    layers = {g.proof: g.layer for g in d.parameter_groups} if d.per_layer else {}
    for proof, n, params in by_record(d):
        out.append(
            {
                "method": proof.method if proof else "none",
                "layer": layers.get(proof),
                "count": n,
                "detail": method_words(proof, c.nota.cost),
                "bound": proof.false_pass_bound if proof else None,
                "figures": dict(proof.figures) if proof else {},
                "params": [c.tex(p.symbol) for p in params],
            }
        )
    return out


def directional_setup() -> dict:
    """The constants of the random-directional test, for the appendix's one description of it."""
    return {
        "points": directional.N_POINTS,
        "tolerance": scientific(directional.TOLERANCE),
        "digits": np.finfo(directional.DTYPE).precision,
    }


def scientific(value: float, digits: int = 2) -> str:
    r"""A number for LaTeX math: ``4.6 \cdot 10^{-19}``; plain below 1000 and above 0.01.

    >>> scientific(4.6e-19), scientific(0.5), scientific(0.0)
    ('4.6 \\cdot 10^{-19}', '0.5', '0')
    """
    if value == 0:
        return "0"
    if 1e-2 <= abs(value) < 1e3:
        return f"{value:.{digits}g}"
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    return rf"{mantissa} \cdot 10^{{{int(exponent)}}}"
