"""What both trainer styles share: equation citations, the batch mean, stable logs, parameter keys."""

from __future__ import annotations

import sympy as sp

from derive.core.model import Derivation
from derive.render.trainer.source import is_primary


def cite(d: Derivation, *eq_ids: str) -> str:
    """``eq. (n)`` for the first of ``eq_ids`` that the document numbers."""
    for eq_id in eq_ids:
        try:
            return f"eq. ({d.equation(eq_id).number})"
        except KeyError:
            continue
    raise KeyError(eq_ids)


def cite_all(d: Derivation, *eq_ids: str) -> str:
    """``eqs. (12), (25)``: the numbers of every one of ``eq_ids``."""
    return "eqs. " + ", ".join(f"({d.equation(eq_id).number})" for eq_id in eq_ids)


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
