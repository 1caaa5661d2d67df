"""The worked example's hand calculation: one output unit and one hidden unit, formula, numbers, result.

Each shown line is a formula of the Derivation with the example's values put in
its symbols as they stand (SymPy does not multiply them out), so a reader can
redo every product with a calculator; the results are the evaluator's numbers.
"""

from __future__ import annotations

import sympy as sp

from derive.core.model import Derivation, Layer
from derive.render import example as example_mod
from derive.render.latex import context as lc

#: a layer with more inputs than this is not written out by hand (its sum would not fit a line)
HAND_WIDTH = 4
#: a hand calculation writes numbers with six decimals; larger ones are left to the tables
HAND_LARGEST = 1e4


def _value(step: example_mod.Step, sym: sp.Symbol) -> float:
    return step.values[sym] if sym in step.values else step.at(step.params, sym)


def with_numbers(expr: sp.Expr, step: example_mod.Step) -> sp.Expr:
    """``expr`` with every symbol replaced by its value to six decimals, kept unevaluated."""
    numbers = {s: sp.Float(f"{_value(step, s):.6f}") for s in expr.free_symbols}
    try:
        return expr.xreplace({s: sp.UnevaluatedExpr(v) for s, v in numbers.items()})
    except (TypeError, ValueError):  # max(0, a) must compare its arguments: it takes the number itself
        return expr.xreplace(numbers)


def _line(c: lc.Printing, step: example_mod.Step, lhs: sp.Expr, formula: sp.Expr, result: float) -> dict:
    return {
        "lhs": c.tex(lhs),
        "formula": c.tex(formula),
        "numbers": c.tex(with_numbers(formula, step)),
        "result": f"{result:.6f}",
    }


def unit(d: Derivation, c: lc.Printing, step: example_mod.Step, layer: Layer) -> list[dict] | None:
    """Pre-activation, output, error signal and one weight's gradient of unit 1 of ``layer``, or None if too wide."""
    if layer.n_in > HAND_WIDTH or (layer.activation == "softmax" and layer.n_out > HAND_WIDTH):
        return None
    a, out, delta, w = layer.a[0], layer.out[0], layer.delta[0], layer.weights[0][0]
    used = set(layer.pre[0].free_symbols) | set(layer.delta_forms[0].free_symbols) | {a, out, delta}
    if any(not abs(_value(step, s)) < HAND_LARGEST for s in used):
        return None  # numbers this large are not done by hand (the tables print them in scientific form)
    grad = sp.Derivative(sp.Symbol("E"), w)
    lines = [
        _line(c, step, a, layer.pre[0], step.values[a]),
        _line(c, step, out, layer.act[0], step.values[out]),
    ]
    form = layer.delta_forms[0]
    if layer.is_output or sum(1 for s in form.free_symbols if s.name.startswith("delta_")) <= HAND_WIDTH:
        lines.append(_line(c, step, delta, form, step.values[delta]))
    lines.append(_line(c, step, grad, delta * layer.inputs[0], step.at(step.grads, w)))
    total = step.at(step.total, w) if step.total else step.at(step.grads, w)
    if total != step.at(step.grads, w):  # weight decay: the penalty's term λw joins the gradient
        lam = (total - step.at(step.grads, w)) / step.at(step.params, w)
        error = c.printer.doprint(sp.Symbol("E"))
        lines.append(
            {
                "lhs": r"\frac{\partial (%s + \Omega)}{\partial %s}" % (error, c.tex(w)),
                "formula": r"%s + \lambda %s" % (c.tex(grad), c.tex(w)),
                "numbers": r"%.6f + %s \cdot (%.6f)" % (step.at(step.grads, w), f"{lam:.6g}", step.at(step.params, w)),
                "result": f"{total:.6f}",
            }
        )
    return lines
