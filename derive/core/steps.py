"""Multi-line derivations the document shows step by step, each line meant to equal the one before.

For each elementwise activation the document derives h'(a) "by hand", in the
output form a textbook uses (σ' = σ(1 - σ), tanh' = 1 - tanh², softplus' = σ,
ReLU's step). The lines are built here from the activation's definition and
from what :mod:`derive.core.calculus` derived (SymPy's derivative, and h' in
terms of the output); :mod:`derive.prove.steps` proves every line equal to the
previous one, and the document prints only proved lines.
"""

from __future__ import annotations

import sympy as sp

from derive.core import activations, calculus, naming
from derive.core.model import Derivation, Steps


def _output(layer_index: int, is_output: bool, j: sp.Symbol) -> sp.Expr:
    return naming.indexed("y" if is_output else "z", layer_index)[j]


def shown_product(*factors: sp.Expr) -> sp.Expr:
    """A product kept as written, factor by factor (``doit`` multiplies it out)."""
    return sp.Mul(*[sp.UnevaluatedExpr(f) for f in factors], evaluate=False)


def activation_steps(name: str, a: sp.Expr, y: sp.Expr) -> list[sp.Expr]:
    """The lines of h'(a) by hand: d/da f(a), SymPy's derivative, f(a) times the rest, in f(a), in the output y."""
    f = activations.ELEMENTWISE[name](a)
    calc = calculus.elementwise(name)
    lines = [sp.Derivative(f, a), sp.diff(f, a)]
    sigma = activations.ELEMENTWISE["sigmoid"](a)
    if name != "sigmoid" and sp.simplify(lines[-1] - sigma) == 0:
        lines.append(sigma)  # softplus' is the logistic sigmoid
    if calc.fprime_out is not None:
        if f.is_Pow:  # a quotient 1/g: split the square of g into f times the rest
            lines.append(shown_product(f, lines[1] / f))
        factors = sp.Mul.make_args(calc.fprime_out)
        in_f = [factor.subs(calculus.Y, f) for factor in factors]
        lines.append(shown_product(*in_f) if len(in_f) > 1 else in_f[0])
        lines.append(calc.fprime_out.subs(calculus.Y, y))
    out = [lines[0]]
    for line in lines[1:]:
        if line != out[-1]:
            out.append(line)
    return out


def derive_steps(d: Derivation) -> list[Steps]:
    """The activation derivatives by hand, one per activation, at its first layer in reading order; not yet proved."""
    found, seen = [], set()
    for layer in reversed(d.layers):  # the document's reading order: the output layer first
        name = layer.activation
        if name in ("softmax", "linear") or name in seen or name not in activations.ELEMENTWISE:
            continue
        seen.add(name)
        j = naming.index(layer.index)
        a, y = naming.indexed("a", layer.index)[j], _output(layer.index, layer.is_output, j)
        lines = activation_steps(name, a, y)
        f = activations.ELEMENTWISE[name](a)
        found.append(Steps(f"fprime-steps-{layer.index}", layer.index, name, y, f, lines, []))
    return found
