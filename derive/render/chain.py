"""The chain-rule walk-throughs, for any printer: one output weight, then one weight per hidden layer.

Which factors, which expressions and which units are shown; the expressions each step shows
come from :mod:`derive.core.walkthrough`. ``c`` is the format's printing object, a :class:`Printing`
(``c.d``, ``c.tex``, ``c.eq``, ``c.family``, ``c.dE``, ``c.nota``, ``c.elides``). A wide layer is
shown by the units of :func:`shown_units`; nothing here reads every unit or every weight of
a large layer. How a long line is broken is the format's business.

The choices both outputs make alike about a layer sit here too: which units the tables
(:func:`shown_units`) and the pictures (:func:`drawn_units`) show, a layer's printed symbols
(:func:`layer_symbols`) and vectors (:func:`layer_vector`).
"""

from __future__ import annotations

import sympy as sp

from derive.core import activations, naming, walkthrough
from derive.core.model import Derivation, Layer, Parameter
from derive.render import notations
from derive.render.printing import vector

#: Nets with no layer wider than this show every unit; wider ones their first two units and the last.
SMALL_WIDTH = 6
#: In a net wider than SMALL_WIDTH a run of more than this many like-signed terms prints elided.
ELIDE_TERMS = SMALL_WIDTH + 1
#: Activations whose derivative SymPy writes with the Heaviside step H.
STEP_DERIVATIVE = ("relu", "leaky_relu")
#: Products of the softmax δ derivation the walk-through shows in a row.
PRODUCTS = 3
#: The pictures draw layers wider than this as their first units, a gap and the last unit.
MAX_DRAWN = 7
#: The pictures label every weight up to this many weights in a net no wider than LABEL_WIDTH.
LABEL_WEIGHTS = 12
LABEL_WIDTH = 3


def shown_units(n: int) -> list[int]:
    """0-based units a large layer shows by instance."""
    return list(range(n)) if n <= SMALL_WIDTH else [0, 1, n - 1]


class Printing:
    """What the shared builders print through; a format's subclass sets ``d``, ``L``, ``nota``, ``elides`` and ``tex``.

    ``tex(expr, focus)`` prints one expression about layer ``focus`` in the format's own markup.
    """

    d: Derivation
    L: int
    nota: notations.Notation
    elides: bool

    def tex(self, expr: sp.Expr, focus: int | None = None):
        raise NotImplementedError

    def eq(self, lhs: sp.Expr, rhs: sp.Expr) -> dict:
        """Both sides of an equation, about the layer of its left side (else of its right side)."""
        focus = notations.equation_focus(lhs, rhs)
        return {"lhs": self.tex(lhs, focus), "rhs": self.tex(rhs, focus)}

    def family(self, role: str, layer: int, *idx: int, focus: int | None = None):
        """Generic symbol of a role, its unit indices over the layers ``idx``, in a formula about layer ``focus``."""
        return self.tex(naming.indexed(role, layer)[tuple(naming.index(i) for i in idx)], focus)

    def dE(self, wrt: sp.Expr) -> sp.Expr:
        """∂E/∂``wrt``."""
        return sp.Derivative(sp.Symbol("E"), wrt)


def layer_vector(d: Derivation, role: str, layer: int) -> sp.MatrixSymbol:
    """The vector of a role in a layer of this net (for ``w`` the weight matrix, one row per unit)."""
    sizes = d.spec.sizes
    return vector(role, layer, sizes[layer], sizes[layer - 1] if role == "w" else 1)


def out_role(layer: Layer) -> str:
    """The role of a layer's unit outputs: y at the output layer, z below it."""
    return "y" if layer.is_output else "z"


def in_role(layer: Layer) -> tuple[str, int]:
    """The role and layer of what a layer reads: the inputs x (layer 0) for layer 1, else the outputs z below."""
    return ("x", 0) if layer.index == 1 else ("z", layer.index - 1)


def layer_symbols(c: Printing, layer: Layer) -> dict:
    """A layer's sizes, activation, name and generic symbols (unit j of layer l, i of the layer below), printed."""
    l = layer.index
    role, below = in_role(layer)
    return {
        "index": l,
        "n_in": layer.n_in,
        "n_out": layer.n_out,
        "activation": activations.DESCRIPTIONS[layer.activation],
        "softmax": layer.activation == "softmax",
        "is_output": layer.is_output,
        "bias": layer.biases is not None,
        "name": c.nota.layer_name(l),
        "a": c.family("a", l, l, focus=l),
        "out": c.family(out_role(layer), l, l, focus=l),
        "inp": c.family(role, below, l - 1, focus=l),
        "w": c.family("w", l, l, l - 1, focus=l),
        "b": c.family("b", l, l, focus=l),
        "delta": c.family("delta", l, l, focus=l),
        "j": c.tex(naming.index(l), l),
        "i": c.tex(naming.index(l - 1), l),
    }


def drawn_units(n: int) -> list[int]:
    """0-based units the pictures draw for a layer of n units (-1 marks the gap)."""
    return list(range(n)) if n <= MAX_DRAWN else [0, 1, 2, -1, n - 1]


def labels_every_weight(d: Derivation) -> bool:
    """Whether the pictures label every weight (a small net) or one representative edge per layer."""
    n_weights = sum(layer.n_in * layer.n_out for layer in d.layers)
    return n_weights <= LABEL_WEIGHTS and max(d.spec.sizes) <= LABEL_WIDTH


def parameter_of(d: Derivation, layer: Layer, j: int, i: int | None) -> Parameter:
    """Parameter (j, i) of a layer (0-based; i None for the bias), found by its place in network order."""
    block = [lay.n_in + (1 if lay.biases else 0) for lay in d.layers]
    start = sum(lay.n_out * b for lay, b in zip(d.layers[: layer.index - 1], block))
    k = start + j * block[layer.index - 1] + (layer.n_in if i is None else i)
    p = d.parameters[k]
    want = layer.biases[j] if i is None else layer.weights[j][i]
    return p if p.symbol == want else next(q for q in d.parameters if q.symbol == want)


def shown_sum(c, terms: list[sp.Expr], gap: bool) -> tuple[object, object | None]:
    """The sum of ``terms`` (one per shown unit), printed; with ``gap`` its head and last term (an ellipsis between)."""
    if not gap:
        return c.tex(sp.Add(*terms)), None
    return c.tex(sp.Add(*terms[:-1])), c.tex(terms[-1])


def _softmax(c, out: dict) -> None:
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
    total = walkthrough.softmax_sum(d, layer)
    out["sum_expr"] = total
    out["sum"] = c.tex(total)
    # with Σt = 1 the collected form shows where the assumption enters
    out["collected"] = c.tex(walkthrough.collected(total, layer.out[0])) if d.assumptions else None
    out["wide"] = gap
    out["long"] = len(column) > PRODUCTS  # the sum and its collected form on lines of their own


def output_chain(c) -> dict:
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


def hidden_chain(c, layer: Layer) -> dict:
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
    head, last = shown_sum(c, terms, gap)
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
        "sum_head": head,
        "sum_last": last,
        "fprime_a": c.tex(walkthrough.fprime_at(layer, a1)),
        "fprime_z": None if fprime_z is None else c.tex(fprime_z),
        "form": c.tex(layer.delta_forms[0]),
        "grad": c.eq(c.dE(w), p.gradient),
        "gap": gap,
        "step": layer.activation in STEP_DERIVATIVE,
    }
