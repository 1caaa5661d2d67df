"""The worked example's hand calculation in LaTeX: the lines of :mod:`derive.render.hand`, printed.

Each shown line is a formula of the Derivation with the example's values put in
its symbols as they stand (SymPy does not multiply them out), so a reader can
redo every product with a calculator; the results are the evaluator's numbers.
"""

from __future__ import annotations

from derive.core.model import Derivation, Layer
from derive.render import example as example_mod
from derive.render import hand, numbers
from derive.render.hand import HAND_LARGEST, HAND_WIDTH, with_numbers
from derive.render.latex import context as lc

__all__ = ["HAND_LARGEST", "HAND_WIDTH", "unit", "with_numbers"]


def unit(d: Derivation, c: lc.Printing, step: example_mod.Step, layer: Layer) -> list[dict] | None:
    """Pre-activation, output, error signal and one weight's gradient of unit 1 of ``layer``, or None if too wide."""
    lines = hand.unit(d, c, step, layer)
    if lines is None:
        return None
    out = []
    for r in lines:
        if r.get("decay"):  # the penalty's term λw joins the gradient
            r = {
                "lhs": r"\frac{\partial (%s + \Omega)}{\partial %s}" % (r["E"], r["w"]),
                "formula": r"%s + \lambda %s" % (r["grad"], r["w"]),
                "numbers": r"%s + %s \cdot (%s)"
                % (
                    numbers.latex(r["grad_value"]),
                    numbers.latex(r["lam"], given=True),
                    numbers.latex(r["w_value"], given=True),
                ),
                "value": r["value"],
            }
        r = {**r, "result": numbers.latex(r["value"])}  # a large result as a power of ten
        out.append({k: r[k] for k in ("lhs", "formula", "numbers", "result")})
    return out
