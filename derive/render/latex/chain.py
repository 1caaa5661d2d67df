"""The chain-rule walk-throughs of the document in LaTeX: :mod:`derive.render.chain`, with its lines broken.

A long error, a long softmax sum and a sum around an ellipsis are laid out here; which
expressions each step shows is decided in :mod:`derive.render.chain`.
"""

from __future__ import annotations

from derive.core.model import Layer
from derive.render import chain
from derive.render.chain import PRODUCTS, parameter_of
from derive.render.latex.context import Printing

__all__ = ["hidden_chain", "output_chain", "parameter_of"]

#: A δ line whose sum has more than this many terms is printed on two lines.
SPLIT_TERMS = 3
#: The written-out error stays on one line up to E_ONE_LINE terms, else takes E_TERMS terms a line.
E_ONE_LINE = 5
E_TERMS = 3
#: Terms of the softmax δ's expanded sum on one line.
SUM_TERMS = 7


def _softmax(c: Printing, out: dict) -> None:
    """The products of ∂E/∂y and the Jacobian on lines of PRODUCTS, their sum on lines of SUM_TERMS."""
    products = [
        r"%s\Bigl( %s \Bigr)\Bigl( %s \Bigr)" % (r"\cdots + " if t["gap"] else "", t["dE"]["rhs"], t["dy"]["rhs"])
        for t in out["softmax"]
    ]
    out["products"] = [" + ".join(products[k : k + PRODUCTS]) for k in range(0, len(products), PRODUCTS)]
    pieces = c.printer.lines(out.pop("sum_expr"), 1)
    out["sum_lines"] = [" ".join(pieces[k : k + SUM_TERMS]) for k in range(0, len(pieces), SUM_TERMS)]
    if len(out["sum_lines"]) == 1:
        out["sum_lines"] = [out["sum"]]


def output_chain(c: Printing) -> dict:
    """The chain rule for one output weight, factor by factor."""
    out = chain.output_chain(c)
    pieces = c.printer.lines(c.d.loss, 1)  # a long error goes on lines of E_TERMS terms
    out["E_lines"] = [" ".join(pieces[k : k + E_TERMS]) for k in range(0, len(pieces), E_TERMS)]
    if len(pieces) <= E_ONE_LINE:
        out["E_lines"] = [out["E"]]
    if out["softmax"]:
        _softmax(c, out)
    return out


def hidden_chain(c: Printing, layer: Layer) -> dict:
    """The chain rule for one weight of a hidden layer, through the layer above."""
    h = chain.hidden_chain(c, layer)
    head, last = h.pop("sum_head"), h.pop("sum_last")
    h["sum"] = head if last is None else r"%s + \cdots + %s" % (head, last)
    h["split"] = h["gap"] or len(h["links"]) > SPLIT_TERMS  # the δ line on two lines: the sum appears twice in it
    return h
