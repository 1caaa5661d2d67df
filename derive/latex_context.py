"""What the document templates see: every formula of the Derivation printed in one notation.

All maths goes through :class:`derive.printing.NotationLatexPrinter`; this
module only chooses which expressions to print (and substitutes the δ forms
into each other for the expanded gradients: substitution, not calculus).
"""

from __future__ import annotations

import sympy as sp

from derive import activations, calculus, naming
from derive.model import Derivation, Layer, Parameter
from derive.printing import NotationLatexPrinter, vector

#: Nets with no layer wider than this get one equation per unit; wider ones a few instances.
SMALL_WIDTH = 6
#: The per-parameter gradient table is printed for nets with at most this many parameters.
TABLE_PARAMETERS = 60
#: Activations whose derivative SymPy writes with the Heaviside step H.
STEP_DERIVATIVE = ("relu", "leaky_relu")
#: An expanded gradient longer than this (characters of LaTeX) is left to its equation.
EXPANDED_CHARS = 260


class Context:
    """Printing helpers bound to one derivation and notation."""

    def __init__(self, d: Derivation):
        self.d = d
        self.L = d.spec.n_layers
        self.nota = naming.NOTATIONS[d.spec.notation]
        self.printer = NotationLatexPrinter(d.spec.notation, self.L)

    def tex(self, expr: sp.Expr) -> str:
        return self.printer.doprint(expr)

    def eq(self, lhs: sp.Expr, rhs: sp.Expr) -> dict[str, str]:
        return {"lhs": self.tex(lhs), "rhs": self.tex(rhs)}

    def family(self, role: str, layer: int, *idx: int) -> str:
        """Generic symbol of a role, indexed with the notation's letters (levels given by ``idx``)."""
        return self.tex(naming.indexed(role, layer)[tuple(naming.index(i) for i in idx)])

    def vec(self, role: str, layer: int) -> str:
        n = self.d.spec.sizes[layer]
        return self.tex(vector(role, layer, n, self.d.spec.sizes[layer - 1] if role == "w" else 1))

    def dE(self, wrt: sp.Expr) -> sp.Expr:
        return sp.Derivative(sp.Symbol("E"), wrt)


def shown_units(n: int) -> list[int]:
    """0-based units a large layer shows by instance."""
    return list(range(n)) if n <= SMALL_WIDTH else [0, 1, n - 1]


def _out_role(layer: Layer) -> str:
    return "y" if layer.is_output else "z"


def _in_role(layer: Layer) -> tuple[str, int]:
    return ("x", 0) if layer.index == 1 else ("z", layer.index - 1)


def layer_info(c: Context, layer: Layer) -> dict:
    """Generic symbols, letters and forward equations of one layer."""
    l, small = layer.index, max(c.d.spec.sizes) <= SMALL_WIDTH
    in_role, in_layer = _in_role(layer)
    forward = []
    for j in shown_units(layer.n_out):
        pre = layer.pre[j]
        if layer.n_in > SMALL_WIDTH:  # first two terms, a gap, the last term
            w, z = layer.weights[j], layer.inputs
            head = c.tex(w[0] * z[0] + w[1] * z[1])
            tail = c.tex(w[-1] * z[-1] + (layer.biases[j] if layer.biases else 0))
            rhs = rf"{head} + \cdots + {tail}"
        else:
            rhs = c.tex(pre)
        forward.append({"a": c.tex(layer.a[j]), "pre": rhs, "out": c.tex(layer.out[j]), "act": c.tex(layer.act[j])})
    gap = not small and layer.n_out > SMALL_WIDTH
    return {
        "index": l,
        "n_in": layer.n_in,
        "n_out": layer.n_out,
        "activation": activations.DESCRIPTIONS[layer.activation],
        "softmax": layer.activation == "softmax",
        "is_output": layer.is_output,
        "a": c.family("a", l, l),
        "out": c.family(_out_role(layer), l, l),
        "inp": c.family(in_role, in_layer, l - 1),
        "w": c.family("w", l, l, l - 1),
        "b": c.family("b", l, l),
        "delta": c.family("delta", l, l),
        "j": c.tex(naming.index(l)),
        "i": c.tex(naming.index(l - 1)),
        "vec": {
            "a": c.vec("a", l),
            "out": c.vec(_out_role(layer), l),
            "inp": c.vec(in_role, in_layer) if in_layer else c.tex(vector("x", 0, layer.n_in)),
            "w": c.vec("w", l),
            "b": c.vec("b", l),
            "delta": c.vec("delta", l),
            "fprime": c.vec("fprime", l),
        },
        "forward": forward,
        "gap": gap,
        "how": layer.fprime_how,
        "bias": layer.biases is not None,
    }


def symbol_rows(c: Context, infos: list[dict]) -> list[dict]:
    """The symbol table: symbol, meaning, shape."""
    rows = [{"sym": c.family("x", 0, 0), "what": "input unit", "shape": f"{c.d.spec.sizes[0]} inputs"}]
    for info in infos:
        l, n = info["index"], info["n_out"]
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
            {"sym": info["a"], "what": f"pre-activation (weighted input), {where}", "shape": str(n)},
            {
                "sym": info["out"],
                "what": f"output of unit ${info['j']}$, {where} ({info['activation']})",
                "shape": str(n),
            },
            {
                "sym": info["delta"],
                "what": f"error signal of unit ${info['j']}$ (the error's derivative by its pre-activation), {where}",
                "shape": str(n),
            },
        ]
    rows.append({"sym": c.family("t", c.L, c.L), "what": "target for output unit", "shape": str(c.d.spec.sizes[-1])})
    return rows


def output_chain(c: Context) -> dict:
    """The chain rule for one output weight, factor by factor."""
    d, layer = c.d, c.d.layers[-1]
    w = layer.weights[0][0]
    p = parameter_of(d, layer, 0, 0)
    y1, a1 = layer.out[0], layer.a[0]
    z = _input_factor(p)
    out = {"w": c.tex(w), "y": c.tex(y1), "a": c.tex(a1), "z": c.tex(z), "delta": c.tex(layer.delta[0])}
    out["dE_dy"] = c.eq(c.dE(y1), d.dE_dy[0])
    out["dz_dw"] = c.eq(sp.Derivative(a1, w), z)
    out["form"] = c.tex(layer.delta_forms[0])
    out["grad"] = c.eq(c.dE(w), p.gradient)
    out["all_forms"] = [c.eq(dk, form) for dk, form in zip(layer.delta, layer.delta_forms)][: SMALL_WIDTH + 2]
    out["E"] = c.tex(d.loss)
    out["E_small"] = layer.n_out <= SMALL_WIDTH
    if layer.activation == "softmax":
        column = [(m, entry) for (m, k), entry in sorted(layer.jacobian.items()) if k == 0]
        terms = [
            {
                "dE": c.eq(c.dE(layer.out[m]), d.dE_dy[m]),
                "dy": c.eq(sp.Derivative(layer.out[m], a1), calculus.tidy(sp.factor(entry), set(layer.out))),
            }
            for m, entry in column
        ]
        out["softmax"] = terms
        total = sp.expand(sp.Add(*[d.dE_dy[m] * e for m, e in column]))
        out["sum"] = c.tex(total)
        # with Σt = 1 the collected form shows where the assumption enters
        out["collected"] = c.tex(sp.collect(total, y1)) if d.assumptions else None
    else:
        out["softmax"] = None
        out["fprime_a"] = c.tex(layer.fprime.subs(calculus.A, a1))
        out["fprime_y"] = None if layer.fprime_out is None else c.tex(layer.fprime_out.subs(calculus.Y, y1))
        out["f"] = c.tex(activations.ELEMENTWISE[layer.activation](a1))
        out["step"] = layer.activation in STEP_DERIVATIVE
    return out


def parameter_of(d: Derivation, layer: Layer, j: int, i: int | None) -> Parameter:
    """Parameter (j, i) of a layer (0-based; i None for the bias), found by its place in network order."""
    block = [lay.n_in + (1 if lay.biases else 0) for lay in d.layers]
    start = sum(lay.n_out * b for lay, b in zip(d.layers[: layer.index - 1], block))
    k = start + j * block[layer.index - 1] + (layer.n_in if i is None else i)
    p = d.parameters[k]
    want = layer.biases[j] if i is None else layer.weights[j][i]
    return p if p.symbol == want else next(q for q in d.parameters if q.symbol == want)


def _input_factor(p: Parameter) -> sp.Expr:
    """da/dθ read off the gradient δ·input (the core wrote it as that product)."""
    return p.gradient.as_independent(p.delta)[0]


def hidden_chain(c: Context, layer: Layer) -> dict:
    """The chain rule for one weight of a hidden layer, through the layer above."""
    upper = c.d.layers[layer.index]
    w = layer.weights[0][0]
    p = parameter_of(c.d, layer, 0, 0)
    z1, a1 = layer.out[0], layer.a[0]
    terms = [upper.delta[k] * upper.pre[k].coeff(z1) for k in shown_units(upper.n_out)]
    links = [c.eq(sp.Derivative(upper.a[k], z1), upper.pre[k].coeff(z1)) for k in shown_units(upper.n_out)]
    return {
        "index": layer.index,
        "w": c.tex(w),
        "z": c.tex(z1),
        "a": c.tex(a1),
        "x": c.tex(_input_factor(p)),
        "delta": c.tex(layer.delta[0]),
        "upper_a": c.family("a", upper.index, upper.index),
        "upper_delta": c.family("delta", upper.index, upper.index),
        "k": c.tex(naming.index(upper.index)),
        "links": links,
        "sum": c.tex(sp.Add(*terms)) if upper.n_out <= SMALL_WIDTH else None,
        "fprime_a": c.tex(layer.fprime.subs(calculus.A, a1)),
        "fprime_z": None if layer.fprime_out is None else c.tex(layer.fprime_out.subs(calculus.Y, z1)),
        "form": c.tex(layer.delta_forms[0]),
        "grad": c.eq(c.dE(w), p.gradient),
        "gap": upper.n_out > SMALL_WIDTH,
        "step": layer.activation in STEP_DERIVATIVE,
    }


def expanded_deltas(d: Derivation) -> dict[sp.Symbol, sp.Expr]:
    """Every δ with the δs it reads replaced by their own forms, down to unit values."""
    full: dict[sp.Symbol, sp.Expr] = {}
    for layer in reversed(d.layers):
        for dj, form in zip(layer.delta, layer.delta_forms):
            full[dj] = form.xreplace(full)
    return full


def gradient_rows(c: Context) -> list[dict]:
    """One row per parameter: δ form and (where short enough) the form in unit values."""
    full = expanded_deltas(c.d)
    rows = []
    for p in c.d.parameters:
        expanded = c.tex(p.gradient.xreplace(full))
        rows.append(
            {
                "sym": c.tex(p.symbol),
                "form": c.tex(p.gradient),
                "expanded": expanded if len(expanded) <= EXPANDED_CHARS else None,
                "key": f"{p.key}[{', '.join(str(i) for i in p.index)}]",
            }
        )
    return rows


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
