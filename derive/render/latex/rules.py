"""What the section on the four rules for a general layer prints, in LaTeX (:mod:`derive.render.rules`)."""

from __future__ import annotations

from derive.core.model import Derivation
from derive.render import rules
from derive.render.latex import context as lc


def section(d: Derivation, c: lc.Printing) -> dict:
    """The printed symbols of the general section, its matrix rules with their shapes, and what each rule gave."""
    g = rules.section(d, c)
    g["h"] = c.nota.activation
    g["matrix"] = [{"id": r["id"], "shape": rf"{r['rows']} \times {r['cols']}"} for r in g["matrix"]]
    return g
