"""The chain-rule walk-throughs of the document: one output weight, then one weight per hidden layer.

Printing only: the expressions each step shows come from :mod:`derive.core.walkthrough`.
A wide layer is shown by the units of
:func:`derive.render.latex.context.shown_units`, with an ellipsis before the last;
nothing here reads every unit or every weight of a large layer.
"""

from __future__ import annotations

import sympy as sp

from derive.core import activations, naming, walkthrough
from derive.core.model import Derivation, Layer, Parameter
from derive.render.latex.context import SMALL_WIDTH, STEP_DERIVATIVE, Printing, shown_units

#: A δ line whose sum has more than this many terms is printed on two lines.
SPLIT_TERMS = 3
#: The written-out error stays on one line up to E_ONE_LINE terms, else takes E_TERMS terms a line.
E_ONE_LINE = 5
E_TERMS = 3
#: Products of the softmax δ derivation on one line, and terms of their expanded sum.
PRODUCTS = 3
SUM_TERMS = 7


def parameter_of(d: Derivation, layer: Layer, j: int, i: int | None) -> Parameter:
    """Parameter (j, i) of a layer (0-based; i None for the bias), found by its place in network order."""
    block = [lay.n_in + (1 if lay.biases else 0) for lay in d.layers]
    start = sum(lay.n_out * b for lay, b in zip(d.layers[: layer.index - 1], block))
    k = start + j * block[layer.index - 1] + (layer.n_in if i is None else i)
    p = d.parameters[k]
    want = layer.biases[j] if i is None else layer.weights[j][i]
    return p if p.symbol == want else next(q for q in d.parameters if q.symbol == want)


def shown_sum(c: Printing, terms: list[sp.Expr], gap: bool) -> str:
    """The sum of ``terms`` (one per shown unit); with ``gap`` an ellipsis stands before the last term."""
    if not gap:
        return c.tex(sp.Add(*terms))
    return r"%s + \cdots + %s" % (c.tex(sp.Add(*terms[:-1])), c.tex(terms[-1]))


def _softmax(c: Printing, out: dict) -> None:
    """The softmax Jacobian column of unit 1, the products with ∂E/∂y, their sum and its collected form."""
    d, layer = c.d, c.d.layers[-1]
    a1 = layer.a[0]
    column = walkthrough.softmax_column(layer)
    units = [m for m in shown_units(layer.n_out) if m in column]
    gap = layer.n_out > SMALL_WIDTH
    out["softmax"] = [
        {
            "dE": c.eq(c.dE(layer.out[m]), d.dE_dy[m]),
            "dy": c.eq(sp.Derivative(layer.out[m], a1), walkthrough.softmax_entry(layer, m)),
            "gap": gap and m == units[-1],
        }
        for m in units
    ]
    products = [
        r"%s\Bigl( %s \Bigr)\Bigl( %s \Bigr)" % (r"\cdots + " if t["gap"] else "", t["dE"]["rhs"], t["dy"]["rhs"])
        for t in out["softmax"]
    ]
    out["products"] = [" + ".join(products[k : k + PRODUCTS]) for k in range(0, len(products), PRODUCTS)]
    total = walkthrough.softmax_sum(d, layer)
    out["sum"] = c.tex(total)
    pieces = c.printer.lines(total, 1)
    out["sum_lines"] = [" ".join(pieces[k : k + SUM_TERMS]) for k in range(0, len(pieces), SUM_TERMS)]
    if len(out["sum_lines"]) == 1:
        out["sum_lines"] = [out["sum"]]
    # with Σt = 1 the collected form shows where the assumption enters
    out["collected"] = c.tex(walkthrough.collected(total, layer.out[0])) if d.assumptions else None
    out["wide"] = gap
    out["long"] = len(column) > PRODUCTS  # the sum and its collected form on lines of their own


def output_chain(c: Printing) -> dict:
    """The chain rule for one output weight, factor by factor."""
    d, layer = c.d, c.d.layers[-1]
    w = layer.weights[0][0]
    p = parameter_of(d, layer, 0, 0)
    y1, a1 = layer.out[0], layer.a[0]
    z = walkthrough.input_factor(p)
    out = {"w": c.tex(w), "y": c.tex(y1), "a": c.tex(a1), "z": c.tex(z), "delta": c.tex(layer.delta[0])}
    out["dE_dy"] = c.eq(c.dE(y1), d.dE_dy[0])
    out["dz_dw"] = c.eq(sp.Derivative(a1, w), z)
    out["form"] = c.tex(layer.delta_forms[0])
    out["grad"] = c.eq(c.dE(w), p.gradient)
    gap = layer.n_out > SMALL_WIDTH
    out["all_forms"] = [
        {**c.eq(layer.delta[k], layer.delta_forms[k]), "gap": gap and k == layer.n_out - 1}
        for k in shown_units(layer.n_out)
    ]
    out["E"] = c.tex(d.loss)
    pieces = c.printer.lines(d.loss, 1)  # a long error goes on lines of E_TERMS terms
    out["E_lines"] = [" ".join(pieces[k : k + E_TERMS]) for k in range(0, len(pieces), E_TERMS)]
    if len(pieces) <= E_ONE_LINE:
        out["E_lines"] = [out["E"]]
    out["E_small"] = layer.n_out <= SMALL_WIDTH or c.elides
    if layer.activation == "softmax":
        _softmax(c, out)
    else:
        out["softmax"] = None
        out["fprime_a"] = c.tex(walkthrough.fprime_at(layer, a1))
        fprime_y = walkthrough.fprime_out_at(layer, y1)
        out["fprime_y"] = None if fprime_y is None else c.tex(fprime_y)
        out["f"] = c.tex(activations.ELEMENTWISE[layer.activation](a1))
        out["step"] = layer.activation in STEP_DERIVATIVE
    return out


def hidden_chain(c: Printing, layer: Layer) -> dict:
    """The chain rule for one weight of a hidden layer, through the layer above."""
    upper = c.d.layers[layer.index]
    w = layer.weights[0][0]
    p = parameter_of(c.d, layer, 0, 0)
    z1, a1 = layer.out[0], layer.a[0]
    fprime_z = walkthrough.fprime_out_at(layer, z1)
    units = shown_units(upper.n_out)
    gap = upper.n_out > SMALL_WIDTH
    terms = [upper.delta[k] * walkthrough.link(upper, k, z1) for k in units]
    links = [
        {**c.eq(sp.Derivative(upper.a[k], z1), walkthrough.link(upper, k, z1)), "gap": gap and k == units[-1]}
        for k in units
    ]
    return {
        "index": layer.index,
        "w": c.tex(w),
        "z": c.tex(z1),
        "a": c.tex(a1),
        "x": c.tex(walkthrough.input_factor(p)),
        "delta": c.tex(layer.delta[0]),
        "name": c.nota.layer_name(layer.index),
        "upper_a": c.family("a", upper.index, upper.index, focus=layer.index),
        "upper_delta": c.family("delta", upper.index, upper.index, focus=layer.index),
        "k": c.tex(naming.index(upper.index), layer.index),
        "links": links,
        "sum": shown_sum(c, terms, gap),
        "fprime_a": c.tex(walkthrough.fprime_at(layer, a1)),
        "fprime_z": None if fprime_z is None else c.tex(fprime_z),
        "form": c.tex(layer.delta_forms[0]),
        "grad": c.eq(c.dE(w), p.gradient),
        "gap": gap,
        "split": gap or len(units) > SPLIT_TERMS,  # the δ line on two lines: the sum appears twice in it
        "step": layer.activation in STEP_DERIVATIVE,
    }
