"""What the section on why backpropagation works (and is cheap) prints in LaTeX (:mod:`derive.render.why`)."""

from __future__ import annotations

import sympy as sp

from derive.core.model import Derivation
from derive.render import why
from derive.render.latex import context as lc
from derive.render.latex import diagram


def section(d: Derivation, c: lc.Printing) -> dict:
    """The backward picture, the operation counts of the cost argument, and flags for the remarks that apply."""
    out = d.layers[-1]
    values = why.section(d, c)
    flow = diagram.backward(d, c.printer)
    # the error enters each drawn output as dE/dy_k (node names are n<column>u<unit>)
    dEdy = [c.tex(sp.Derivative(sp.Symbol("E"), out.out[int(t["of"].split("u")[1]) - 1])) for t in flow["targets"]]
    numbers = {k: f"{v:,}".replace(",", "\\,") for k, v in values.pop("counts").items()}
    return {**values, **numbers, "flow": flow, "dEdy": dEdy}
