"""What the web page's templates see: the Derivation's formulas as MathML in one notation.

The sections follow the LaTeX document's. Every numbered equation of the Derivation
is printed exactly once, in the section the document gives it, or (an equation a
newer core adds before a section knows it) in the list after the algorithm, so that
every anchor ``#eq-N`` resolves.
"""

from __future__ import annotations

import re

import sympy as sp
from markupsafe import Markup

from derive.core import update
from derive.core.model import Derivation, Layer
from derive.render import chain, checks, correspondence, gradients, notations
from derive.render import example as example_mod
from derive.render.chain import ELIDE_TERMS, SMALL_WIDTH, shown_units
from derive.render.gradients import TABLE_PARAMETERS
from derive.render.html import example, svg, teach
from derive.render.mathml import NotationMathMLPrinter
from derive.render.printer import NotationLatexPrinter, vector

#: The loss is written out for every output up to this many outputs.
WRITTEN_OUTPUTS = 6


class Maths(chain.Printing):
    """Printing helpers bound to one derivation and notation (as a :class:`chain.Printing`: inline ``<math>``)."""

    def __init__(self, d: Derivation, notation: str):
        self.d = d
        self.L = d.spec.n_layers
        self.elides = max(d.spec.sizes) > SMALL_WIDTH
        self.printer = NotationMathMLPrinter(notation, self.L, elide=ELIDE_TERMS if self.elides else None)
        self.nota = self.printer.notation

    def tex(self, expr: sp.Expr, focus: int | None = None) -> Markup:
        return self.inline(expr, focus)

    def inline(self, expr: sp.Expr, focus: int | None = None) -> Markup:
        """``expr`` as an inline ``<math>``, about layer ``focus`` (by default the layer of its first unit index)."""
        return Markup(self.printer.math(expr, focus=focus))

    def row(self, lhs: sp.Expr, rhs: sp.Expr, op: str = "=") -> Markup:
        """``lhs = rhs`` as the content of a display ``<math>``, about the layer of its left side (else its right)."""
        focus = notations.equation_focus(lhs, rhs)
        return Markup(f"{self.printer.doprint(lhs, focus)}<mo>{op}</mo>{self.printer.doprint(rhs, focus)}")

    def vec(self, role: str, layer: int) -> sp.MatrixSymbol:
        sizes = self.d.spec.sizes
        return vector(role, layer, sizes[layer], sizes[layer - 1] if role == "w" else 1)


def _units(m: Maths, lhs: list, rhs, n: int) -> list[dict]:
    shown = shown_units(n)
    return [{"row": m.row(lhs[j], rhs[j]), "gap": n > SMALL_WIDTH and j == n - 1} for j in shown]


def _layer(m: Maths, layer: Layer) -> dict:
    return {
        **chain.layer_symbols(m, layer),
        "pre": _units(m, layer.a, layer.pre, layer.n_out),
        "act": _units(m, layer.out, layer.act, layer.n_out),
        "deltas": _units(m, layer.delta, layer.delta_forms, layer.n_out),
        "gap": layer.n_out > SMALL_WIDTH,
    }


def _equations(d: Derivation, m: Maths) -> dict[str, dict]:
    return {
        e.id: {"id": e.id, "number": e.number, "title": m.printer.notation.words(e.title), "row": m.row(e.lhs, e.rhs)}
        for e in d.equations
    }


def _symbols(m: Maths, layers: list[dict]) -> list[dict]:
    rows = [{"sym": m.family("x", 0, 0, focus=1), "what": "input unit", "shape": f"{m.d.spec.sizes[0]}"}]
    nota = m.printer.notation
    # the source's word for a pre-activation, with the other common name beside it (as in the PDF)
    pre = nota.pre + (" (weighted input)" if nota.pre != "weighted input" else " (pre-activation)")
    for info in layers:
        where = "output layer" if info["is_output"] else f"hidden layer {info['name']}"
        rows.append({"sym": info["w"], "what": f"weight into a unit of layer {info['name']}", "shape": ""})
        rows[-1]["shape"] = f"{info['n_out']} × {info['n_in']}"
        if info["bias"]:
            rows.append({"sym": info["b"], "what": f"bias, {where}", "shape": str(info["n_out"])})
        rows.append({"sym": info["a"], "what": f"{pre}, {where}", "shape": str(info["n_out"])})
        rows.append(
            {"sym": info["out"], "what": f"output, {where} ({info['activation']})", "shape": str(info["n_out"])}
        )
        what = f"{nota.term} (the {nota.cost}'s derivative by its {nota.pre}), {where}"
        rows.append({"sym": info["delta"], "what": what, "shape": str(info["n_out"])})
    rows.append({"sym": m.family("t", m.L, m.L), "what": "target of an output unit", "shape": str(m.d.spec.sizes[-1])})
    return rows


def _matrix(m: Maths) -> dict:
    """The matrix forms: forward sums and the backward equations BP2 and BP4."""
    d, L = m.d, m.L
    first = d.layers[0]
    x = vector("x", 0, first.n_in)
    forward = sp.MatMul(m.vec("w", 1), x) + (m.vec("b", 1) if first.biases else sp.ZeroMatrix(first.n_out, 1))
    bp2 = []
    for layer in reversed(d.layers[:-1]):
        up = d.layers[layer.index]
        rhs = sp.HadamardProduct(
            m.vec("fprime", layer.index), sp.Transpose(m.vec("w", up.index)) * m.vec("delta", up.index)
        )
        bp2.append({"index": layer.index, "row": m.row(m.vec("delta", layer.index), rhs)})
    top = d.layers[-1]
    inp = x if L == 1 else m.vec("z", L - 1)
    nabla = Markup("<msub><mo>∇</mo>{}</msub>{}")
    error = m.printer.doprint(sp.Symbol("E"))
    return {
        "forward": m.row(m.vec("a", 1), forward),
        "bp2": bp2,
        "bp4": nabla.format(Markup(m.printer.doprint(m.vec("w", L))), Markup(error))
        + Markup("<mo>=</mo>")
        + Markup(m.printer.doprint(sp.MatMul(m.vec("delta", L), sp.Transpose(inp)))),
        "bp3": nabla.format(Markup(m.printer.doprint(m.vec("b", L))), Markup(error))
        + Markup("<mo>=</mo>")
        + Markup(m.printer.doprint(m.vec("delta", L)))
        if top.biases
        else None,
        "shapes": [
            {"index": lay.index, "w": m.inline(m.vec("w", lay.index)), "shape": f"{lay.n_out} × {lay.n_in}"}
            for lay in d.layers
        ],
    }


def _gradients(m: Maths, c: teach.Printing, notation: str) -> list[dict]:
    d = m.d
    if d.spec.n_parameters > TABLE_PARAMETERS:
        return []
    latex = NotationLatexPrinter(notation, d.spec.n_layers, elide=ELIDE_TERMS if c.elides else None)
    return gradients.rows(d, c, latex)


def _method_words(proof, cost: str) -> str:
    """What one verification record did, in the notation's words (as the PDF's appendix says it)."""
    if proof.method == "directional":
        return _directional_words(proof, cost)
    return checks.method_words(proof, cost)


def _directional_words(proof, cost: str) -> str:
    """The random-direction test of one layer of a large net, in a reader's words, with its figures."""
    words = (
        f"at random points, the derivative of the {cost} along a random direction over the layer's parameters, "
        "computed forward from the network's definition by sympy.diff with no backward pass, equals the "
        "backpropagated gradients combined with the same direction"
    )
    figures = dict(proof.figures or {})
    if {"worst", "eta"} <= figures.keys():
        words += (
            f"; the largest difference was {figures['worst']:.1e} of the summed sizes of the gradients, and a gradient "
            f"off by {figures['eta']:.1e} or more would have been caught with probability at least 1 − 10⁻⁶"
        )
    return words


def _summary(d: Derivation, cost: str) -> str:
    """The one sentence on how many derivatives each check covered."""
    return checks.summary_sentence(d, cost)


def _rule_check(d: Derivation) -> str:
    """How the rules of a large net were compared with those of a narrow one, in a reader's words."""
    return checks.narrow_check(d, "page") if d.rule_check else ""


def _proofs(d: Derivation, cost: str) -> list[dict]:
    """One entry per verification record: per method in a small net, per layer in a large one.

    Each says what was checked in the PDF's words, with ``cost`` the notation's word for the error function.
    """
    found: dict[object, dict] = {}
    if d.per_layer:
        for g in d.parameter_groups:
            key = g.proof
            entry = found.setdefault(key, {"proof": g.proof, "count": 0, "layers": []})
            entry["count"] += g.size
            if g.layer not in entry["layers"]:
                entry["layers"].append(g.layer)
    else:
        for p in d.parameters:
            key = p.proof.method if p.proof else "none"
            found.setdefault(key, {"proof": p.proof, "count": 0, "layers": []})["count"] += 1
    out = []
    for entry in found.values():
        q = entry["proof"]
        out.append(
            {
                "method": q.method if q else "none",
                "detail": _method_words(q, cost) if q else "no check",
                # the directional test's bound is said in its figures, in the words above
                "bound": q.false_pass_bound if q and q.method != "directional" else None,
                "count": entry["count"],
                "layers": entry["layers"],
            }
        )
    return sorted(out, key=lambda r: (r["layers"], r["method"]))


def _mapping(d: Derivation, notation: str) -> dict:
    """The symbols of this notation where they differ from the default's (:mod:`derive.render.correspondence`)."""
    printers = {k: NotationMathMLPrinter(k, d.spec.n_layers) for k in correspondence.presets(notation)}
    rows = correspondence.rows(d, notation, lambda k, e, focus: Markup(printers[k].math(e, focus=focus)))
    return {
        "keys": list(printers),
        "names": [notations.NOTATIONS[k].cited for k in printers],
        "short": [notations.NOTATIONS[k].name for k in printers],
        "rows": rows,
    }


def _bare_letters(m: Maths) -> dict[str, Markup]:
    """The notation's letter of a pre-activation, and the output layer's pre-activation and output with an index."""
    nota = m.printer.notation
    top = {
        role: re.sub(r"[_^].*$", "", nota.top[role]) if role in nota.top else nota.letters[role] for role in ("a", "y")
    }
    # the output layer's unit index and the index of the sum beside it, in the notation's letters
    k, s = (nota.index_letter(m.L, summation, focus=m.L) for summation in (False, True))
    return {
        "A": Markup(m.printer.letter(nota.letters["a"])),
        "A_k": Markup(m.printer.letter(top["a"] + "_{" + k + "}")),
        "A_m": Markup(m.printer.letter(top["a"] + "_{" + s + "}")),
        "Y_k": Markup(m.printer.letter(top["y"] + "_{" + k + "}")),
        "M": Markup(m.printer.letter(s)),
    }


def context(d: Derivation, notation: str = "bishop", ex: example_mod.Example | None = None) -> dict:
    """Every value the page templates use; ``ex`` is the worked example (the seeded one by default)."""
    m = Maths(d, notation)
    ex = ex if ex is not None else example_mod.default(d)
    c = teach.Printing(d, m.printer, m.elides)
    layers = [_layer(m, layer) for layer in d.layers]
    eq = _equations(d, m)
    checks = _proofs(d, m.printer.notation.cost)
    placed = {f"{p}-{lay['index']}" for lay in layers for p in ("forward-a", "forward-z", "fprime", "delta")}
    placed |= {f"{p}-{lay['index']}" for lay in layers for p in ("grad-w", "grad-b", "update-w", "update-b")}
    placed |= {"error", "dE-dy", "penalty"} | {e.id for e in d.equations if e.id.startswith("grad-penalty-")}
    placed |= {e.id for e in d.equations if e.id.startswith(("rule-", "update-"))}  # the general rules, the update
    return {
        "spec": d.spec,
        "arch": d.spec.arch,
        "L": d.spec.n_layers,
        "nota": notations.NOTATIONS[notation],
        # how the source's conventions differ, its LaTeX maths printed as MathML
        "note": Markup(m.printer.sentence(notations.NOTATIONS[notation].note)),
        "E": m.inline(sp.Symbol("E")),
        "rate": m.inline(update.ETA),
        # the source's number of a layer, and its symbol of the error signal, for sentences
        "ln": m.printer.notation.layer_name,
        "D": Markup(m.printer.letter(m.printer.notation.letters["delta"])),
        # δ's letter at the output, and every letter of δ (seed 003: δ at the output, γ below)
        "D_out": Markup(m.printer.letter(m.printer.notation.signal_letters(d.spec.n_layers)[0])),
        "D_all": Markup("/").join(
            Markup(m.printer.letter(k)) for k in m.printer.notation.signal_letters(d.spec.n_layers)
        ),
        # the output layer's own letters where a notation has them (seed 003: v for w), for the general rules
        "top_letters": [
            {**t, "hidden": Markup(m.printer.letter(t["hidden"])), "top": Markup(m.printer.letter(t["top"]))}
            for t in m.printer.notation.top_letters()
        ],
        # the bare letters of a pre-activation (A) and, in the output layer, of a pre-activation and an output,
        # for the sentences on the code's forms
        **_bare_letters(m),
        "unit_letters": [Markup(m.printer.letter(k)) for k in m.printer.notation.generic_letters],
        "eq": eq,
        "other": [e for e in eq.values() if e["id"] not in placed],
        "layers": layers,
        "out": layers[-1],
        "hidden": list(reversed(layers[:-1])),
        "symbols": _symbols(m, layers),
        "diagram": svg.diagram(d, m.printer),
        # the source's words: its name of the loss function, of E (error, cost, loss) and of a (pre-activation)
        "loss_name": m.printer.notation.loss_name(d.spec.loss),
        "cost": m.printer.notation.cost,
        "pre": m.printer.notation.pre,
        "loss_written": m.row(sp.Symbol("E"), d.loss) if d.spec.sizes[-1] <= WRITTEN_OUTPUTS else None,
        "reduction": d.reduction,
        "assumptions": d.assumptions,
        "matrix": _matrix(m),
        "gradients": _gradients(m, c, notation),
        "n_params": d.spec.n_parameters,
        "proofs": checks,
        # every parameter checked against SymPy's derivative of the written-out error (none only numerically)
        "all_symbolic": all(p["method"].startswith("symbolic") for p in checks),
        "proof_summary": d.proof_summary,
        "proof_sentence": _summary(d, m.printer.notation.cost),
        "rule_check": _rule_check(d),
        "mapping": _mapping(d, notation),
        "example": example.section(
            d, m.inline, shown_units, ex, TABLE_PARAMETERS, m.printer.notation.layer_name, printing=c
        ),
        "chain": teach.output_chain(c),
        "chains": teach.hidden_chains(d, c),
        "g": teach.general_rules(d, c),
        "why": teach.why_section(d, c),
        "steps": teach.shown_steps(d, c),
        "how": teach.how_derived(d, c),
        # the index letters repeat when the net has more levels (inputs and layers) than letters
        "index_cycle": len(c.nota.index_letters) if d.spec.n_layers + 1 > len(c.nota.index_letters) else 0,
        "updates": [e.id for e in d.equations if e.id.startswith("update-")],
        # Adam's equations by part (m, v, mhat, vhat, change) and its letters, for the algorithm's steps
        "adam": _adam(d, m) if d.spec.optimizer == "adam" else None,
        "matrix_vec": [
            {
                "index": lay["index"],
                "w": m.inline(m.vec("w", lay["index"])),
                "a": m.inline(m.vec("a", lay["index"])),
                "out": m.inline(m.vec("y" if lay["is_output"] else "z", lay["index"])),
                "delta": m.inline(m.vec("delta", lay["index"])),
                "b": m.inline(m.vec("b", lay["index"])) if lay["bias"] else None,
            }
            for lay in layers
        ],
        "x_vec": m.inline(vector("x", 0, d.layers[0].n_in)),
    }


def _adam(d: Derivation, m: Maths) -> dict:
    """Adam's equation ids by part (``ids``) and its letters as inline MathML: m, v, m̂, v̂, β1, β2, ε."""
    nota = m.printer.notation
    letters = {key: Markup(m.printer.letter(nota.adam_letter(key))) for key in ("m", "v")}
    letters |= {key + "hat": Markup(m.printer.letter(r"\hat{%s}" % nota.adam_letter(key))) for key in ("m", "v")}
    scalars = {key: m.inline(sym) for sym, key in update.ADAM_SCALARS.items()}
    return {"ids": update.adam_groups(d.equations), **letters, **scalars}
