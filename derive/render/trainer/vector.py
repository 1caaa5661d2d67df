"""The vector style of the trainer: one matrix line per layer (BP1-BP4), from the generic equations.

Each line prints an ``Indexed`` equation of ``Derivation.equations`` with the
families as ``(batch, units)`` arrays (:class:`derive.render.trainer.printer.TrainerPrinter`):
a sum over a unit index that contracts a weight becomes a matrix product.
"""

from __future__ import annotations

import sympy as sp

from derive.core import naming
from derive.core.model import Derivation
from derive.render.trainer.common import cite, log_args_in, reduce_batch
from derive.render.trainer.printer import ArrayPrinter, batch_outer, cse_lines
from derive.render.trainer.source import Line, tuple_text
from derive.render.trainer.stable import stabilize


def _arrays(d: Derivation) -> dict[str, str]:
    arrays = {"x": "X", "t": "T", "y": "Y"}
    for layer in d.layers:
        l = layer.index
        arrays.update({f"a_{l}": f"A{l}", f"w_{l}": f"W{l}", f"b_{l}": f"b{l}", f"delta_{l}": f"delta_{l}"})
        if not layer.is_output:
            arrays[f"z_{l}"] = f"Z{l}"
    return arrays


def _strip_unit_sum(expr: sp.Expr, k: sp.Symbol) -> sp.Expr:
    """Drop the sum over the output index; the loss line sums every entry anyway."""
    return expr.replace(lambda e: isinstance(e, sp.Sum) and e.limits[0][0] == k, lambda e: e.function)


def vector_blocks(d: Derivation) -> dict[str, list[Line] | str]:
    """The vector style's lines: forward pass, error, δs and gradients, one matrix line each."""
    pr = ArrayPrinter(arrays=_arrays(d))
    fwd: list[Line] = []
    for layer in d.layers:
        l = layer.index
        for kind, target in (("a", f"A{l}"), ("z", "Y" if layer.is_output else f"Z{l}")):
            eq = d.equation(f"forward-{kind}-{l}")
            fwd.append(Line(target, pr.doprint(stabilize(eq.rhs)), cite(d, eq.id)))
    L = d.spec.n_layers
    y_generic = d.equation(f"forward-z-{L}").rhs
    k = naming.index(L)
    error = log_args_in(d.equation("error").rhs, {naming.indexed("y", L)[k]: y_generic})
    temps, (error,) = cse_lines([stabilize(_strip_unit_sum(error, k))], "e")
    loss = [Line(s.name, pr.doprint(e)) for s, e in temps]
    loss.append(Line("E", reduce_batch(f"np.sum({pr.doprint(error)})", d), cite(d, "error")))
    deltas = []
    for layer in reversed(d.layers):
        l = layer.index
        try:
            eq = d.equation(f"delta-{l}")
            deltas.append(Line(f"delta_{l}", pr.doprint(stabilize(eq.rhs)), cite(d, eq.id)))
        except KeyError:
            deltas.append(_stacked_deltas(d, layer.index, pr.helpers))
    grads = []
    for layer in d.layers:
        l = layer.index
        for kind, key in (("w", f"W{l}"), ("b", f"b{l}")):
            try:
                eq = d.equation(f"grad-{kind}-{l}")
            except KeyError:
                continue
            grads.append(Line(f"dE_d{key}", reduce_batch(batch_outer(eq.rhs, pr), d), cite(d, eq.id)))
    blocks = {"inputs": [], "targets": [], "forward": fwd, "output": "Y", "loss": loss, "deltas": deltas}
    return {**blocks, "grads": grads, "helpers": sorted(pr.helpers)}


def _stacked_deltas(d: Derivation, l: int, helpers: set[str]) -> Line:
    """A layer whose δ has no single generic form (softmax without ce): its unit forms as columns."""
    layer = d.layers[l - 1]
    names = {}
    for role_syms, arr in ((d.targets, "T"), (layer.out, "Y" if layer.is_output else f"Z{l}"), (layer.a, f"A{l}")):
        names.update({s: f"{arr}[:, {m}]" for m, s in enumerate(role_syms)})
    pr = ArrayPrinter(names)
    cols = tuple_text([pr.doprint(stabilize(f)) for f in layer.delta_forms])
    helpers |= pr.helpers
    return Line(f"delta_{l}", f"np.stack({cols}, axis=1)", cite(d, f"delta-{l}", "dE-dy", "error"))
