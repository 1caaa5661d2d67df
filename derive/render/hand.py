"""The worked example's hand calculation, for any printer: one output unit and one hidden unit.

Each shown line is a formula of the Derivation, then the same formula with the example's
values in place of its symbols, then the evaluator's result. The numbers stand where
their symbols stood: every symbol becomes a :class:`Valued` atom with the symbol's
name, so SymPy orders the terms and factors as it orders the formula's, and the factors
of a product are put in the order the printers give the formula's (:func:`factor_rank`).
Nothing is multiplied out, so a reader can redo every product with a calculator.

The printing object ``c`` is the format's own (``derive.render.latex.context.Printing``
or ``derive.render.html.teach.Printing``): ``c.tex`` prints one expression in it.

A wide layer (more than HAND_WIDTH inputs, a softmax over more than HAND_WIDTH outputs, a
sum over more than HAND_WIDTH units above) is printed by a copy of the format's printer that
elides every run of more than HAND_WIDTH like-signed terms (:func:`eliding`): the formula and
its numbers show the same first terms, the ellipsis and the last term, and the result is the
evaluator's value of the whole sum.
"""

from __future__ import annotations

import copy

import sympy as sp

from derive.core import naming, update
from derive.core.model import Derivation, Layer
from derive.render import adamstep, numbers
from derive.render import example as example_mod
from derive.render.printing import factor_rank, natural, unpadded

#: a layer with more inputs than this has its hand calculation's long sums elided (they would not fit a line)
HAND_WIDTH = 4
#: a hand calculation's numbers stay below this size; larger ones are left to the tables
HAND_LARGEST = 1e4


#: the roles whose numbers are given to the example (written as given); every other number is computed
GIVEN_ROLES = ("x", "t", "w", "b")


def given(sym: sp.Symbol) -> bool:
    """Whether the example's number for ``sym`` was given to it (an input, a target, a parameter before the step)."""
    return naming.role(sym, 0) in GIVEN_ROLES


class Valued(sp.Dummy):
    """A number put in by hand for a symbol: named as the symbol (so it sorts as the symbol), printed as its value.

    The number is written by the documents' one rule (:mod:`derive.render.numbers`): as given, or computed.
    """

    def __new__(cls, name: str, value: float, bare: bool = False, given: bool = False, small: bool = False):
        obj = super().__new__(cls, name)
        obj.given, obj.small = given, small
        obj.mantissa, obj.exponent = numbers.parts(value, given, small)
        obj.text = numbers.plain(value, given, small)
        obj.value = float(obj.text)
        obj.bare = bare  # an exponent or a function's argument: a negative number needs no brackets (e^{-0.08})
        return obj

    def _latex(self, printer) -> str:
        text = numbers.latex(self.value, self.given, self.small)
        return r"\left(%s\right)" % text if self.value < 0 and not self.bare else text

    def _mathml_presentation(self, printer):
        number = printer.dom.createElement("mn")
        number.appendChild(printer.dom.createTextNode(self.mantissa.replace("-", "−")))
        if self.exponent is not None:  # the mantissa times a power of ten
            ten = printer.dom.createElement("msup")
            for text, tag in (("10", "mn"), (str(self.exponent).replace("-", "−"), "mn")):
                element = printer.dom.createElement(tag)
                element.appendChild(printer.dom.createTextNode(text))
                ten.appendChild(element)
            times = printer.dom.createElement("mo")
            times.appendChild(printer.dom.createTextNode("×"))
            product = printer.dom.createElement("mrow")
            for child in (number, times, ten):
                product.appendChild(child)
            number = product
        if self.value >= 0 or self.bare:
            return number
        row = printer.dom.createElement("mrow")
        for child in (printer._l_paren(), number, printer._r_paren()):
            row.appendChild(child)
        return row


def value_of(step: example_mod.Step, sym: sp.Symbol) -> float:
    return step.values[sym] if sym in step.values else step.at(step.params, sym)


def shown_text(step: example_mod.Step, sym: sp.Symbol) -> str:
    """The number a hand calculation writes for ``sym``, as plain text (:func:`derive.render.numbers.plain`)."""
    return numbers.plain(value_of(step, sym), given(sym))


def with_numbers(expr: sp.Expr, step: example_mod.Step) -> sp.Expr:
    """``expr`` with every symbol replaced by its number as written, kept unevaluated (``.doit()`` evaluates)."""
    written = {s: sp.Float(shown_text(step, s)) for s in expr.free_symbols}
    try:
        return expr.xreplace({s: sp.UnevaluatedExpr(v) for s, v in written.items()})
    except (TypeError, ValueError):  # max(0, a) must compare its arguments: it takes the number itself
        return expr.xreplace(written)


def shown_numbers(expr: sp.Expr, step: example_mod.Step) -> sp.Expr:
    """``expr`` as the printers show it with the example's numbers in place, term for term and factor for factor.

    Where the printers rename symbols for the natural order (``z_10`` after ``z_9``, :func:`natural`), the
    numbers are named as the renamed symbols, so their sums are ordered (and elided) as the formula's.
    """
    return _shown(natural(expr), step)


def _shown(expr: sp.Expr, step: example_mod.Step) -> sp.Expr:
    if isinstance(expr, sp.Symbol):
        source = unpadded(expr)
        return sp.UnevaluatedExpr(Valued(expr.name, value_of(step, source), given=given(source)))
    if not expr.args or expr.is_Number:
        return expr
    if isinstance(expr, sp.Function) and any(isinstance(a, sp.Symbol) for a in expr.args):
        # an exponent or a function's argument: a negative number needs no brackets of its own (e^{-0.08}, tanh(-0.05))
        return expr.func(
            *[
                sp.UnevaluatedExpr(Valued(a.name, value_of(step, unpadded(a)), bare=True, given=given(unpadded(a))))
                if isinstance(a, sp.Symbol)
                else _shown(a, step)
                for a in expr.args
            ],
            evaluate=False,
        )
    if isinstance(expr, sp.Mul):
        factors = expr.as_ordered_factors()
        negative = expr.could_extract_minus_sign()
        if not (negative or any(f.is_Number or (f.is_Pow and f.exp.is_negative) for f in factors)):
            factors = sorted(factors, key=lambda f: factor_rank(f, factors))  # the printers' order
        return sp.Mul(*[_shown(f, step) for f in factors], evaluate=False)
    return expr.func(*[_shown(a, step) for a in expr.args], evaluate=False)


def evaluated(shown: sp.Expr) -> float:
    """The number a line of :func:`shown_numbers` stands for (its values put back and the whole evaluated)."""
    numbers = shown.replace(
        lambda e: isinstance(e, sp.UnevaluatedExpr) and isinstance(e.args[0], Valued),
        lambda e: sp.Float(e.args[0].value),
    )
    return float(numbers.doit())


#: how the two printers write the ellipsis of an elided sum
ELLIPSES = (r"\cdots", "⋯")


def _line(c, step: example_mod.Step, lhs: sp.Expr, formula: sp.Expr, result: float) -> dict:
    put_in = c.tex(shown_numbers(formula, step))
    return {
        "lhs": c.tex(lhs),
        "formula": c.tex(formula),
        "numbers": put_in,
        "result": numbers.plain(result),
        "value": result,
        "elided": any(mark in put_in for mark in ELLIPSES),
    }


def wide(layer: Layer) -> bool:
    """Whether a hand calculation of ``layer`` holds a sum of more than HAND_WIDTH terms (printed elided)."""
    above = sum(1 for s in layer.delta_forms[0].free_symbols if s.name.startswith("delta_"))
    return (
        layer.n_in > HAND_WIDTH
        or (layer.activation == "softmax" and layer.n_out > HAND_WIDTH)
        or (not layer.is_output and above > HAND_WIDTH)
    )


def eliding(c):
    """A copy of the printing object ``c`` whose printer elides every run of more than HAND_WIDTH like-signed terms."""
    short = copy.copy(c)
    short.printer = copy.copy(c.printer)
    short.printer.elide = HAND_WIDTH
    short.printer._memo = {}  # what the original printed, it printed with its own elision
    return short


def unit(d: Derivation, c, step: example_mod.Step, layer: Layer) -> list[dict] | None:
    """Pre-activation, output, error signal and one weight's gradient of unit 1 of ``layer``.

    A wide layer's long sums print elided (:func:`wide`, :func:`eliding`); a line says so in ``"elided"``.
    None when a number of the calculation is too large to be done by hand. With weight decay a last
    entry (``"decay"``) holds the numbers of the penalty's term, for the format to write.
    """
    a, out, delta, w = layer.a[0], layer.out[0], layer.delta[0], layer.weights[0][0]
    used = set(layer.pre[0].free_symbols) | set(layer.delta_forms[0].free_symbols) | {a, out, delta}
    if any(not abs(value_of(step, s)) < HAND_LARGEST for s in used):
        return None  # numbers this large are not done by hand (the tables print them in scientific form)
    c = eliding(c) if wide(layer) else c
    grad = sp.Derivative(sp.Symbol("E"), w)
    lines = [
        _line(c, step, a, layer.pre[0], step.values[a]),
        _line(c, step, out, layer.act[0], step.values[out]),
        _line(c, step, delta, layer.delta_forms[0], step.values[delta]),
        _line(c, step, grad, delta * layer.inputs[0], step.at(step.grads, w)),
    ]
    total = step.at(step.total, w) if step.total else step.at(step.grads, w)
    if total != step.at(step.grads, w):  # weight decay: the penalty's term λw joins the gradient
        # the coefficient as given, recovered from the step's numbers (six significant digits undo the rounding)
        lam = float(f"{(total - step.at(step.grads, w)) / step.at(step.params, w):.6g}")
        lines.append(
            {
                "decay": True,
                "w": c.tex(w),
                "grad": c.tex(grad),
                "E": c.tex(sp.Symbol("E")),
                "grad_value": step.at(step.grads, w),
                "lam": lam,
                "w_value": step.at(step.params, w),
                "result": numbers.plain(total),
                "value": total,
            }
        )
    return lines


def zeros(d: Derivation, step: example_mod.Step, listed: list[sp.Symbol]) -> list[str]:
    """Why a listed gradient is zero, once per reason: its input is zero ("input"), or its unit's δ is ("delta")."""
    inputs = {w: layer.inputs[i] for layer in d.layers for row in layer.weights for i, w in enumerate(row)}
    reasons = set()
    for sym in listed:
        if step.at(step.grads, sym) != 0:
            continue
        source = inputs.get(sym)
        reasons.add("input" if source is not None and step.values[source] == 0 else "delta")
    return sorted(reasons)


def adam_parameter(d: Derivation) -> sp.Symbol:
    """The parameter whose Adam step is worked by hand: the output weight whose gradient :func:`unit` works."""
    return d.layers[-1].weights[0][0]


def adam_lines(d: Derivation, c, step: example_mod.Step, ex: example_mod.Example) -> list[dict]:
    """Adam's first step of :func:`adam_parameter` through its five equations: formula, numbers, result each.

    The formulas are the Derivation's update equations at that weight; in the numbers the moments of step 0
    are zero, t is 1, and every other symbol is the example's number (the moments computed by the step,
    printed with six significant digits where they are small, :func:`derive.render.numbers.parts`). Each
    line carries its equation's id, for the number the formats cite.
    """
    w = adam_parameter(d)
    change = next(e for e in update.changes(d.equations) if e.id == f"update-w-{d.spec.n_layers}")
    theta, k = update.parameter(change), adamstep.key(change)
    lam = example_mod.decay_rates(d.spec, ex)[k]
    given_numbers = adamstep.scalars(ex.lr, ex.beta1, ex.beta2, ex.eps, lam)
    known = {sp.Derivative(update.ERROR, w): Valued("dE", step.at(step.grads, w))}
    known[w] = Valued(w.name, step.at(step.params, w), given=True)
    for s, value in given_numbers.items():
        known[s] = Valued(s.name, value, given=True, bare=s is update.STEP)
    for moment in (update.FirstMoment, update.SecondMoment):
        known[moment(w, update.STEP - 1)] = Valued(f"{moment.letter}0", 0.0, given=True)
    lines = []
    for part, eq in adamstep.family(d, change).items():
        formula = eq.rhs.xreplace({theta: w})
        numbers_in = _in_order(c, formula, {e: sp.UnevaluatedExpr(v) for e, v in known.items()})
        value = float(step.adam[part][k][array_position(step, w)])
        lhs = eq.lhs.xreplace({theta: w})
        small = part != "change"
        known[lhs] = Valued(part, value, small=small)
        lines.append(
            {
                "id": eq.id,
                "number": eq.number,
                "lhs": c.tex(lhs),
                "formula": c.tex(formula),
                "numbers": as_built(c).tex(numbers_in),
                "shown": numbers_in,
                "result": numbers.plain(value, small=small),
                "value": value,
                "small": small,
                "elided": False,
            }
        )
    return lines


def array_position(step: example_mod.Step, sym: sp.Symbol) -> tuple[int, ...]:
    """The entry of ``sym`` in its parameter array."""
    return example_mod.array_position(sym, len(step.params))[1]


def _in_order(c, expr: sp.Expr, numbers_of: dict) -> sp.Expr:
    """``expr`` with the numbers of ``numbers_of`` in place, unevaluated, its sums and products in the printed order."""
    if expr in numbers_of:
        return numbers_of[expr]
    if isinstance(expr, sp.Add):
        terms = c.printer._as_ordered_terms(expr)
        return sp.Add(*[_in_order(c, t, numbers_of) for t in terms], evaluate=False)
    if isinstance(expr, sp.Mul):
        return sp.Mul(*[_in_order(c, f, numbers_of) for f in expr.as_ordered_factors()], evaluate=False)
    if not expr.args:
        return expr
    return expr.func(*[_in_order(c, a, numbers_of) for a in expr.args], evaluate=False)


def as_built(c):
    """A copy of the printing object ``c`` whose printer keeps sums and products in the order they were built."""
    kept = copy.copy(c)
    kept.printer = copy.copy(c.printer)
    kept.printer._settings = dict(c.printer._settings, order="none")
    kept.printer._memo = {}
    return kept


def adam_contrast(d: Derivation, step: example_mod.Step, listed: list[sp.Symbol]) -> dict:
    """What Adam's first step does that gradient descent does not, on the example's numbers.

    The hand-worked weight (:func:`adam_parameter`) and the listed parameter of smallest non-zero gradient
    (None when it is the same one): each with its gradient, gradient descent's change −η g (the example's η)
    and Adam's Δθ, the step's own numbers.
    """

    def entry(sym: sp.Symbol) -> dict:
        k, idx = example_mod.array_position(sym, len(step.params))
        return {"sym": sym, "grad": float(step.total[k][idx]), "change": float(step.adam["change"][k][idx])}

    moved = [s for s in listed if step.at(step.total, s) != 0]
    least = min(moved, key=lambda s: abs(step.at(step.total, s)), default=None)
    w = adam_parameter(d)
    return {"hand": entry(w), "least": entry(least) if least is not None and least != w else None}
