"""What the document templates see: every formula of the Derivation printed in one notation.

All maths goes through :class:`derive.render.printer.NotationLatexPrinter`; this
module only chooses which expressions to print. Which units a wide layer shows and a layer's
symbols come from :mod:`derive.render.chain`, the gradient table's rows from
:mod:`derive.render.gradients`.
"""

from __future__ import annotations

import sympy as sp

from derive.core.model import Derivation, Layer
from derive.render import chain, gradients, notations, steps
from derive.render.chain import ELIDE_TERMS, SMALL_WIDTH, shown_units
from derive.render.printer import ELIDED_HEAD, NotationLatexPrinter, vector

#: What an elided sum shows: its first terms, the ellipsis and the last term.
ELIDED_PIECES = ELIDED_HEAD + 2
#: A forward row holds a pre-activation and its activation side by side up to this many terms in all.
ROW_TERMS = 10


class Printing(chain.Printing):
    """How this document prints: the notation preset and its printer for one derivation (elision on wide nets)."""

    def __init__(self, d: Derivation, notation: str = "bishop"):
        self.d = d
        self.L = d.spec.n_layers
        self.notation = notation
        self.nota = notations.NOTATIONS[notation]
        #: wide nets print long sums as their first terms, an ellipsis and the last term
        self.elides = max(d.spec.sizes) > SMALL_WIDTH
        self.printer = NotationLatexPrinter(notation, self.L, elide=ELIDE_TERMS if self.elides else None)

    def tex(self, expr: sp.Expr, focus: int | None = None) -> str:
        """LaTeX of ``expr``, about layer ``focus`` (by default the layer of its first unit index)."""
        return self.printer.doprint(expr, focus)

    def printed_terms(self, n: int) -> int:
        """How many terms (the ellipsis counted as one) a sum of ``n`` like-signed terms prints."""
        return ELIDED_PIECES if self.elides and n > ELIDE_TERMS else n

    def vec(self, role: str, layer: int) -> str:
        """The printed vector of a role in a layer (for ``w`` the weight matrix)."""
        return self.tex(chain.layer_vector(self.d, role, layer))


def layer_info(c: Printing, layer: Layer) -> dict:
    """Generic symbols, letters and forward equations of one layer."""
    l, small = layer.index, max(c.d.spec.sizes) <= SMALL_WIDTH
    in_role, in_layer = chain.in_role(layer)
    forward = []
    gap = not small and layer.n_out > SMALL_WIDTH
    # terms printed in one row: the sum a_j, and for softmax the sum under the fraction
    pre_terms = c.printed_terms(layer.n_in + (1 if layer.biases else 0))
    act_terms = c.printed_terms(layer.n_out) if layer.activation == "softmax" else 1
    for j in shown_units(layer.n_out):  # a wide sum prints elided (one row of weights is built, not the layer)
        forward.append(
            {
                "a": c.tex(layer.a[j]),
                "pre": c.tex(layer.pre[j]),
                "out": c.tex(layer.out[j]),
                "act": c.tex(layer.act[j]),
                "gap": gap and j == layer.n_out - 1,
            }
        )
    return {
        **chain.layer_symbols(c, layer),
        "vec": {
            "a": c.vec("a", l),
            "out": c.vec(chain.out_role(layer), l),
            "inp": c.vec(in_role, in_layer) if in_layer else c.tex(vector("x", 0, layer.n_in)),
            "w": c.vec("w", l),
            "b": c.vec("b", l),
            "delta": c.vec("delta", l),
            "fprime": c.vec("fprime", l),
        },
        "forward": forward,
        "stacked": pre_terms + act_terms > ROW_TERMS,  # a_j and its activation on rows of their own
        "gap": gap,
        "how": how_tex(layer, c),
    }


def how_tex(layer: Layer, c: Printing) -> str:
    """How the derivative was written in the unit's output (:func:`derive.render.steps.how`), as a LaTeX phrase."""
    how = steps.how(layer)
    if how.kind == "softmax":
        return (
            "writing each output as its exponential over the sum $S$ of all the exponentials, solving that for "
            "the exponential ($S$ times the output) and substituting in the quotient rule"
        )
    # the layer's own symbols, in the notation's letters: a unit's output y, its pre-activation a and f
    l = layer.index
    y_tex, a_tex, f = c.tex(how.y, l), c.tex(how.a, l), c.nota.activation
    if how.kind == "inverse":
        return rf"solving ${y_tex} = {f}({a_tex})$ for ${a_tex} = {c.tex(how.expr, l)}$ and substituting"
    if how.kind == "output":
        return rf"substituting ${y_tex}$ for ${f}({a_tex})$ in ${f}'({a_tex})$"
    return rf"${f}'({a_tex}) = {c.tex(how.expr, l)}$ is not a function of ${f}({a_tex})$"


def symbol_rows(c: Printing, infos: list[dict]) -> list[dict]:
    """The symbol table: symbol, meaning, shape."""
    rows = [{"sym": c.family("x", 0, 0, focus=1), "what": "input unit", "shape": f"{c.d.spec.sizes[0]} inputs"}]
    # the source's word for a pre-activation, with the other common name beside it
    pre = c.nota.pre + (" (weighted input)" if c.nota.pre != "weighted input" else " (pre-activation)")
    for info in infos:
        l, n = info["name"], info["n_out"]
        where = "output layer" if info["is_output"] else f"hidden layer {l}"
        rows += [
            {
                "sym": info["w"],
                "what": f"weight into unit ${info['j']}$ of layer {l} from unit ${info['i']}$ below",
                "shape": rf"${n} \times {info['n_in']}$",
            },
        ]
        if info["bias"]:
            rows.append({"sym": info["b"], "what": f"bias of unit ${info['j']}$, {where}", "shape": str(n)})
        rows += [
            {"sym": info["a"], "what": f"{pre}, {where}", "shape": str(n)},
            {
                "sym": info["out"],
                "what": f"output of unit ${info['j']}$, {where} ({info['activation']})",
                "shape": str(n),
            },
            {
                "sym": info["delta"],
                "what": f"{c.nota.term} of unit ${info['j']}$ (the {c.nota.cost}'s derivative by its {c.nota.pre}), "
                f"{where}",
                "shape": str(n),
            },
        ]
    rows.append({"sym": c.family("t", c.L, c.L), "what": "target of an output unit", "shape": str(c.d.spec.sizes[-1])})
    return rows


def gradient_rows(c: Printing) -> list[dict]:
    """One row per parameter, headed by the parameter: δ form and (where short enough) the form in unit values."""
    return gradients.rows(c.d, c, head=lambda p: p)


def layer_counts(d: Derivation) -> list[dict]:
    return [
        {
            "index": layer.index,
            "weights": layer.n_in * layer.n_out,
            "biases": layer.n_out if layer.biases else 0,
            "eq_w": f"grad-w-{layer.index}",
            "eq_b": f"grad-b-{layer.index}" if layer.biases else None,
        }
        for layer in d.layers
    ]
