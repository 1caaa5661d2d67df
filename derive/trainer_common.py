"""What both trainer styles share: equation citations, the batch mean, stable logs, resolved rules."""

from __future__ import annotations

import re

import sympy as sp

from derive.model import Derivation, Equation
from derive.pysource import is_primary


def cite(d: Derivation, *eq_ids: str) -> str:
    """``eq. (n)`` for the first of ``eq_ids`` that the document numbers."""
    for eq_id in eq_ids:
        try:
            return f"eq. ({d.equation(eq_id).number})"
        except KeyError:
            continue
    raise KeyError(eq_ids)


def log_args_in(expr: sp.Expr, repl: dict) -> sp.Expr:
    """Write the output inside every log in pre-activations, so the log can be taken stably."""
    return expr.replace(lambda e: isinstance(e, sp.log), lambda e: sp.log(e.args[0].xreplace(repl)))


def reduce_batch(rhs: str, d: Derivation) -> str:
    """Divide by the batch size n when the error is the mean over the samples."""
    if d.reduction != "mean":
        return rhs
    return f"{rhs} / n" if is_primary(rhs) else f"({rhs}) / n"


def keys(d: Derivation) -> list[str]:
    """The parameter keys in the order of ``KEYS``: W1, b1, W2, b2, ..."""
    return [f"{kind}{layer.index}" for layer in d.layers for kind in ("W", "b")[: 1 + d.spec.bias]]


_INDEX_RE = re.compile(r"idx([0-9]+)p?")


def rule(d: Derivation, eq: Equation) -> sp.Expr:
    """An equation's right-hand side with the unit indices of one-unit layers resolved.

    Differentiating a sum over a single unit leaves ``KroneckerDelta(1, i)``
    with i ranging over {1}; that factor is 1 on the whole range.
    """
    repl = {}
    for kd in eq.rhs.atoms(sp.KroneckerDelta):
        for idx, other in (kd.args, kd.args[::-1]):
            m = _INDEX_RE.fullmatch(idx.name) if isinstance(idx, sp.Symbol) else None
            if m and other == 1 and d.spec.sizes[int(m.group(1))] == 1:
                repl[kd] = sp.Integer(1)
    return eq.rhs.xreplace(repl)
