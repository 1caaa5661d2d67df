"""The counterexample of a ``different`` verdict, and the derived formula, in the source's notation.

A teacher reads ``at δ₁ (hidden layer 1): your form gives 0.031, the derivation 0.029`` with
the values of the symbols both sides use (h₁ = 0.62, v₁₁ = 0.26, ...), named as the notes
name them (:mod:`derive.diff.notation`), never by the Derivation's internal names.
"""

from __future__ import annotations

import sympy as sp

from derive.core import calculus, naming
from derive.diff.layers import ETA, layer_number
from derive.diff.notation import SourceNames, expr_text, gradient_of
from derive.diff.numbers import close, evaluate, scaled, short
from derive.diff.truth import penalty_term, truth


def names_for(form, l: int, L: int) -> SourceNames:
    """The source's names for canonical symbols at target layer ``l``."""
    return SourceNames(form.symbols, l, L, lambda spec: layer_number(spec.layer, l, L))


def derived_expr(ctx, target: str, l: int, units: tuple, c, names: SourceNames, delta_factor, free=None) -> sp.Expr:
    """What the form should equal at these units (c times the derived quantity), in canonical symbols.

    A δ the source has a name for stays a δ, as the source's own δ (its convention's multiple);
    a δ it has no name for is replaced by its δ form, so the formula uses only the source's symbols.
    """
    d = ctx.d
    layer = d.layers[l - 1]
    j = units[0] if units else None
    if target == "delta":
        expr = layer.delta_forms[j - 1]
    elif target == "fprime" and layer.fprime_out is not None:
        expr = layer.fprime_out.subs(calculus.Y, layer.out[j - 1])
    elif target in ("grad_w", "update_w", "grad_b", "update_b"):
        expr = layer.delta[j - 1] * (layer.inputs[units[1] - 1] if target.endswith("_w") else 1)
        expr += penalty_term(ctx, target, l, units)
        expr = -ETA * expr if target.startswith("update") else expr
    else:
        expr = truth(ctx, target, l, units, free=free)
    forms = {dl: f for ly in d.layers for dl, f in zip(ly.delta, ly.delta_forms)}
    for _ in range(d.spec.n_layers + 1):
        deltas = [s for s in expr.free_symbols if s in forms]
        if not deltas:
            break
        swap = {}
        for s in deltas:
            info_layer = next(ly.index for ly in d.layers if s in ly.delta)
            swap[s] = s / delta_factor if names.has("delta", info_layer) else forms[s]
        expr = expr.xreplace(swap)
    return sp.factor_terms(c * expr)


def layer_name(n: int, L: int) -> str:
    """A layer as a teacher says it: the input layer, hidden layer 1, the output layer."""
    return "the input layer" if n == 0 else "the output layer" if n == L else f"hidden layer {n}"


def target_text(target: str, names: SourceNames, l: int, units: tuple) -> str:
    """The quantity a form claims to be, at one unit, in the source's notation (Δv₂₁, δ₁, ∂E/∂w₁₂)."""
    if target == "sigmoid_prime":
        return "σ′(z)"
    if target in ("grad_w", "update_w"):
        w = names.text(naming.symbol("w", l, *units))
        return f"Δ{w}" if target == "update_w" else f"{gradient_of(names.symbols)}{w}"
    if target in ("grad_b", "update_b"):
        b = names.text(naming.symbol("b", l, *units))
        return f"Δ{b}" if target == "update_b" else f"{gradient_of(names.symbols)}{b}"
    L = names.L
    if target == "delta":
        return names.text(naming.symbol("delta", l, *units))
    out = naming.symbol("y", L, *units) if l == L else naming.symbol("z", l, *units)
    if target in ("dE_dy", "dE_dout"):
        return f"∂E/∂{names.text(out)}"
    return f"f′({names.text(naming.symbol('a', l, *units))})"


def counterexample(rows, c, form, delta_factor) -> dict:
    """The first unit and point where the form and the derived formula differ, in the source's symbols."""
    ctx, L = rows.ctx, rows.ctx.d.spec.n_layers
    for inst, tru in zip(rows.insts, rows.truths):
        if inst.expr is None:
            continue
        names = names_for(form, inst.layer, L)
        for env in rows.envs:
            s, t = evaluate(inst.expr, env), evaluate(tru, env)
            if close(s, scaled(c, t)):
                continue
            want = derived_expr(ctx, rows.target, inst.layer, inst.units, c, names, delta_factor, rows.z)
            used = inst.expr.free_symbols | want.free_symbols
            names.mark(used | _target_symbols(rows.target, inst.layer, inst.units, L))
            point = {}
            for sym in sorted(used, key=lambda x: (names.text(x), str(x))):
                value = env[sym] * (delta_factor if sym.name.startswith("delta_") else 1)
                point[names.text(sym)] = short(value)
            return {
                "at": target_text(rows.target, names, inst.layer, inst.units),
                "layer": None if rows.target == "sigmoid_prime" else layer_name(inst.layer, L),
                "point": point,
                "source_value": short(s),
                "derived_value": short(t),
                "expected_under_convention": short(scaled(c, t)),
                "derived_formula": expr_text(want, names),
                "source_formula": expr_text(inst.expr.xreplace(_as_source_deltas(inst.expr, delta_factor)), names),
            }
    inst = next((i for i in rows.insts if i.missing), rows.insts[0])
    names = names_for(form, inst.layer, L)
    return {
        "at": target_text(rows.target, names, inst.layer, inst.units),
        "point": None,
        "source_value": None,
        "derived_value": None,
        "note": f"the form names something this network does not have: {inst.missing}"
        if inst.missing
        else "the form names a weight that does not exist on this network",
    }


def _target_symbols(target: str, l: int, units: tuple, L: int) -> set[sp.Symbol]:
    if target in ("grad_w", "update_w"):
        return {naming.symbol("w", l, *units)}
    if target in ("delta",):
        return {naming.symbol("delta", l, *units)}
    return set()


def _as_source_deltas(expr: sp.Expr, delta_factor) -> dict:
    # the instance holds the source's δ as (derived δ) * factor; print it as the source's δ again
    return {s: s / delta_factor for s in expr.free_symbols if s.name.startswith("delta_")}
