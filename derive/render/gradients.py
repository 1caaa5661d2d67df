"""The table of every gradient, for any printer: each parameter's δ form and its form in forward values.

The second form substitutes every δ by its own formula, down to the values of the forward pass
(substitution, not calculus). It is shown where its LaTeX is at most :data:`EXPANDED_CHARS`
characters, so that the PDF and the page expand the same rows.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from derive.core.model import Derivation
from derive.render.printer import NotationLatexPrinter

#: The per-parameter gradient table is printed for nets with at most this many parameters (about two pages).
TABLE_PARAMETERS = 32
#: An expanded gradient longer than this (characters of LaTeX) is left to its equation.
EXPANDED_CHARS = 260


def expanded_deltas(d: Derivation) -> dict[sp.Symbol, sp.Expr]:
    """Every δ with the δs it reads replaced by their own forms, down to unit values."""
    full: dict[sp.Symbol, sp.Expr] = {}
    for layer in reversed(d.layers):
        for dj, form in zip(layer.delta, layer.delta_forms):
            full[dj] = form.xreplace(full)
    return full


def rows(
    d: Derivation,
    c,
    latex: NotationLatexPrinter | None = None,
    head: Callable[[sp.Symbol], sp.Expr] | None = None,
) -> list[dict]:
    """One row per parameter: its head, gradient's δ form, expanded form (None where too long) and array entry.

    ``latex`` measures the expanded form (None: ``c`` prints LaTeX itself); ``head`` gives what heads the row
    for a parameter's symbol (by default ∂E/∂θ).
    """
    full = expanded_deltas(d)
    out = []
    for p in d.parameters:
        expanded = p.gradient.xreplace(full)
        measured = c.tex(expanded) if latex is None else latex.doprint(expanded)
        shown = None
        if len(measured) <= EXPANDED_CHARS:
            shown = measured if latex is None else c.tex(expanded)  # LaTeX printed once where c prints it
        out.append(
            {
                "sym": c.tex(sp.Derivative(sp.Symbol("E"), p.symbol) if head is None else head(p.symbol)),
                "form": c.tex(p.gradient),
                "expanded": shown,
                "key": f"{p.key}[{', '.join(str(i) for i in p.index)}]",
            }
        )
    return out
