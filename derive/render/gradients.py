"""The table of every gradient, for any printer: each parameter's δ form and its form in forward values.

The second form substitutes every δ by its own formula, down to the values of the forward pass
(substitution, not calculus). It is shown where its LaTeX is at most :data:`EXPANDED_CHARS`
characters, so that the PDF and the page expand the same rows.
"""

from __future__ import annotations

import sympy as sp

from derive.core.model import Derivation
from derive.render.printer import NotationLatexPrinter

#: An expanded gradient longer than this (characters of LaTeX) is left to its equation.
EXPANDED_CHARS = 260


def expanded_deltas(d: Derivation) -> dict[sp.Symbol, sp.Expr]:
    """Every δ with the δs it reads replaced by their own forms, down to unit values."""
    full: dict[sp.Symbol, sp.Expr] = {}
    for layer in reversed(d.layers):
        for dj, form in zip(layer.delta, layer.delta_forms):
            full[dj] = form.xreplace(full)
    return full


def rows(d: Derivation, c, latex: NotationLatexPrinter) -> list[dict]:
    """One row per parameter: its gradient, δ form, expanded form (None where too long) and array entry."""
    full = expanded_deltas(d)
    out = []
    for p in d.parameters:
        expanded = p.gradient.xreplace(full)
        short = len(latex.doprint(expanded)) <= EXPANDED_CHARS
        out.append(
            {
                "sym": c.tex(sp.Derivative(sp.Symbol("E"), p.symbol)),
                "form": c.tex(p.gradient),
                "expanded": c.tex(expanded) if short else None,
                "key": f"{p.key}[{', '.join(str(i) for i in p.index)}]",
            }
        )
    return out
