"""The teaching sections of the web page in MathML: the shared builders of the PDF, printed for the page.

:mod:`derive.render.chain`, :mod:`derive.render.rules`, :mod:`derive.render.why` and
:mod:`derive.render.hand` choose the lines, expressions and numbers; :class:`Printing` prints
them as the inner MathML of a ``<math>`` element (the templates wrap it), so the page and
the PDF show the same steps.
"""

from __future__ import annotations

from markupsafe import Markup

from derive.core.model import Derivation
from derive.render import chain, hand, numbers, rules, steps, why
from derive.render import example as example_mod
from derive.render.html import svg
from derive.render.mathml import NotationMathMLPrinter


class Printing(chain.Printing):
    """The page's printing object for the shared builders: ``tex`` gives inner MathML (the name is the interface's)."""

    def __init__(self, d: Derivation, printer: NotationMathMLPrinter, elides: bool):
        self.d = d
        self.L = d.spec.n_layers
        self.printer = printer
        self.nota = printer.notation
        self.elides = elides

    def tex(self, expr, focus: int | None = None) -> Markup:
        return Markup(self.printer.doprint(expr, focus))

    def letter(self, tex: str) -> Markup:
        """One of the notation's letters (given in LaTeX) as inner MathML."""
        return Markup(self.printer._tex(tex).toxml())


def thousands(n: int) -> str:
    """An integer with narrow no-break spaces between groups of three digits."""
    return f"{n:,}".replace(",", "\u202f")


def general_rules(d: Derivation, c: Printing) -> dict:
    g = rules.section(d, c)
    g["h"] = c.letter(c.nota.activation)
    g["hprime"] = c.letter(c.nota.activation + "'")
    return g


def why_section(d: Derivation, c: Printing) -> dict:
    values = why.section(d, c)
    values["numbers"] = {k: thousands(v) for k, v in values["counts"].items()}
    values["flow"] = svg.backward(d, c.printer)
    return values


def output_chain(c: Printing) -> dict:
    out = chain.output_chain(c)
    out.pop("sum_expr", None)
    return out


def hidden_chains(d: Derivation, c: Printing) -> dict[int, dict]:
    return {layer.index: chain.hidden_chain(c, layer) for layer in d.layers[:-1]}


def _first_line(c: Printing, a, definition) -> Markup:
    return Markup(
        f"<mfrac><mo>∂</mo><mrow><mo>∂</mo>{c.tex(a)}</mrow></mfrac><mrow><mo>(</mo>{c.tex(definition)}<mo>)</mo></mrow>"
    )


def shown_steps(d: Derivation, c: Printing) -> dict[str, dict]:
    """The proved derivations shown line by line, keyed by id (their first line as ∂/∂a of the definition)."""
    return steps.shown(d, c, _first_line)


def hand_lines(d: Derivation, c: Printing, step: example_mod.Step, layer) -> list[dict] | None:
    """The hand calculation of unit 1 of ``layer`` (:func:`derive.render.hand.unit`), the decay line written out."""
    lines = hand.unit(d, c, step, layer)
    if lines is None:
        return None
    for r in lines:
        if r.get("decay"):
            r["lhs"] = Markup(
                f"<mfrac><mrow><mo>∂</mo><mo>(</mo>{r['E']}<mo>+</mo><mi mathvariant='normal'>Ω</mi><mo>)</mo></mrow>"
                f"<mrow><mo>∂</mo>{r['w']}</mrow></mfrac>"
            )
            r["formula"] = Markup(f"{r['grad']}<mo>+</mo><mi>λ</mi>{r['w']}")
            r["numbers"] = Markup(
                "<mn>{}</mn><mo>+</mo><mn>{}</mn><mo>·</mo><mrow><mo>(</mo><mn>{}</mn><mo>)</mo></mrow>".format(
                    numbers.html(r["grad_value"]),
                    numbers.html(r["lam"], given=True),
                    numbers.html(r["w_value"], given=True),
                )
            )
    return lines


def how_derived(d: Derivation, c: Printing) -> list[dict]:
    """Per layer, how the activation's derivative was written in the unit's output (the PDF's appendix list)."""
    out = []
    for layer in d.layers:
        l = layer.index
        way = steps.how(layer)
        if way.kind == "softmax":
            how = Markup(
                "writing each output as its exponential over the sum <i>S</i> of all the exponentials, solving that "
                "for the exponential (<i>S</i> times the output) and substituting in the quotient rule"
            )
        else:
            f = c.letter(c.nota.activation)
            y_m, a_m = c.tex(way.y, l), c.tex(way.a, l)
            if way.kind == "inverse":
                how = Markup(
                    "solving <math>{0}<mo>=</mo>{1}<mo>(</mo>{2}<mo>)</mo></math> "
                    "for <math>{2}<mo>=</mo>{3}</math> and substituting"
                ).format(y_m, f, a_m, c.tex(way.expr, l))
            elif way.kind == "output":
                how = Markup(
                    "substituting <math>{0}</math> for <math>{1}<mo>(</mo>{2}<mo>)</mo></math> "
                    "in <math>{3}<mo>(</mo>{2}<mo>)</mo></math>"
                ).format(y_m, f, a_m, c.letter(c.nota.activation + "'"))
            else:
                how = Markup(
                    "<math>{0}<mo>(</mo>{1}<mo>)</mo><mo>=</mo>{2}</math> "
                    "is not a function of <math>{3}<mo>(</mo>{1}<mo>)</mo></math>"
                ).format(c.letter(c.nota.activation + "'"), a_m, c.tex(way.expr, l), f)
        out.append({"index": l, "activation": layer.activation, "how": how})
    return out
