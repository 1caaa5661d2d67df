"""Render formulas.json from a verified Derivation (no calculus here).

Two layouts, named by ``parameter_layout``:

``per-parameter`` (nets derived unit by unit, ``Derivation.per_layer`` false)
    ``parameters`` lists every weight and bias with its δ form, expanded
    gradient, δ chain and proof.
``per-layer`` (large nets)
    ``parameters`` is absent; every parameter is described by its group in
    ``parameter_groups`` (see :data:`PARAMETER_INDEX`), which both layouts carry.
"""

from __future__ import annotations

import json

import sympy as sp

from derive.core import decay, rules
from derive.core.model import Derivation, ParameterGroup, Proof
from derive.render.printer import latex

#: Above this many parameters the fully expanded gradients are left out (they grow quadratically).
EXPANDED_LIMIT = 200

#: How a reader expands parameter_groups into parameters; written into the file.
PARAMETER_INDEX = (
    "Each group holds every weight (or every bias) of one layer. Its string fields are Python "
    "str.format templates in j (unit of the layer, 1-based) and i (unit of the layer below, "
    "1-based; weights only). For 1 <= j <= shape[0] and 1 <= i <= shape[1], the parameter is "
    "named name.format(j=j, i=i), sits at trainer_index [j-1, i-1] of the trainer array key "
    "([j-1] for biases), has the delta form delta_form.sympy.format(j=j, i=i) (the generic "
    "equation delta_form.equation with these indices) and reads the deltas "
    "[delta_chain[0].format(j=j)] + delta_chain[1:]. Its proof is the group's proof."
)


def _expr(e: sp.Expr | None, notation: str, n_layers: int) -> dict[str, str] | None:
    if e is None:
        return None
    return {"sympy": sp.sstr(e, order="lex"), "latex": latex(e, notation, n_layers)}


def _proof(q: Proof | None) -> dict | None:
    if q is None:
        return None
    out = {"method": q.method, "detail": q.detail, "assumptions": list(q.assumptions)}
    if q.false_pass_bound is not None:
        out["false_pass_bound"] = q.false_pass_bound
    return out


def _group(d: Derivation, g: ParameterGroup, nota: str) -> dict:
    L = d.spec.n_layers
    eq = d.equation(g.equation)
    return {
        "key": g.key,
        "kind": g.kind,
        "layer": g.layer,
        "shape": list(g.shape),
        "count": g.size,
        "name": g.name,
        "trainer_index": "[j-1, i-1]" if g.kind == "weight" else "[j-1]",
        "delta_form": {
            "sympy": g.gradient_pattern,
            "latex": latex(g.rule, nota, L),
            "equation": eq.id,
            "number": eq.number,
        },
        "delta_chain": list(g.chain),
        "proof": _proof(g.proof),
    }


def _rule(d: Derivation, eq_id: str, nota: str) -> dict[str, str] | None:
    try:
        eq = d.equation(eq_id)
    except KeyError:
        return None
    return _expr(eq.rhs, nota, d.spec.n_layers)


#: where the penalty enters the objective of one step; written into formulas.json
PENALTY_PLACEMENT = (
    "J = E + Omega for every step: Omega is added once to the error of the step (the sum of the sample "
    "errors of a batch, or their mean with --mean), not once per sample and not divided by the batch size"
)


def _weight_decay(d: Derivation, nota: str) -> dict:
    """What the update descends on: E alone, or E + Ω with the penalty, its gradients and their equations."""
    spec = d.spec
    if not spec.weight_decay:
        return {"enabled": False}
    grads = [e for e in d.equations if e.id.startswith("grad-penalty-")]
    return {
        "enabled": True,
        "decay_biases": spec.decay_biases,
        "coefficient": decay.LAMBDA.name,
        "penalty": _rule(d, "penalty", nota),
        "penalty_equation": d.equation("penalty").number,
        "placement": PENALTY_PLACEMENT,
        "gradients": {e.id: {"number": e.number, **_rule(d, e.id, nota)} for e in grads},
    }


def to_dict(d: Derivation, nota: str = "bishop") -> dict:
    """The JSON-ready record of a derivation; ``nota`` is the notation of the LaTeX fields."""
    spec, L = d.spec, d.spec.n_layers
    expanded = spec.n_parameters <= EXPANDED_LIMIT
    params = []
    for p in [] if d.per_layer else d.parameters:
        params.append(
            {
                "name": p.name,
                "kind": p.kind,
                "layer": p.layer,
                "unit": p.unit,
                "source": p.source,
                "trainer_key": p.key,
                "trainer_index": list(p.index),
                "latex_symbol": latex(p.symbol, nota, L),
                "delta_form": _expr(p.gradient, nota, L),
                "expanded_gradient": _expr(p.expanded, nota, L) if expanded else None,
                "delta_chain": [s.name for s in p.chain],
                # with weight decay: ∂Ω/∂θ, which the update adds to the δ form (null when θ is not decayed)
                "penalty_gradient": _expr(rules.penalty_gradient(d, p.symbol), nota, L)
                if decay.decays(spec, p.kind)
                else None,
                "proof": _proof(p.proof),
            }
        )
    layers = []
    for layer in d.layers:
        layers.append(
            {
                "layer": layer.index,
                "units": layer.n_out,
                "activation": layer.activation,
                "activation_derivative": _expr(layer.fprime, nota, L) if layer.activation != "softmax" else None,
                "activation_derivative_in_output": _expr(layer.fprime_out, nota, L),
                "how_output_form_was_found": layer.fprime_how,
                "delta_rule": _rule(d, f"delta-{layer.index}", nota),
                # a large net's hidden δs are instances of delta_rule, not listed one by one
                "deltas": None
                if d.per_layer and not layer.is_output
                else {dj.name: _expr(form, nota, L) for dj, form in zip(layer.delta, layer.delta_forms)},
            }
        )
    out = {
        "arch": spec.arch,
        "activations": list(spec.activations),
        "loss": spec.loss,
        "bias": spec.bias,
        "reduction": d.reduction,
        "notation": nota,
        "n_parameters": spec.n_parameters,
        "assumptions": d.assumptions,
        "error": _expr(d.loss, nota, L),
        "equations": [
            {
                "id": e.id,
                "number": e.number,
                "title": e.title,
                "lhs": _expr(e.lhs, nota, L),
                "rhs": _expr(e.rhs, nota, L),
            }
            for e in d.equations
        ],
        "layers": layers,
        "parameter_layout": "per-layer" if d.per_layer else "per-parameter",
        "parameter_index": PARAMETER_INDEX,
        "parameter_groups": [_group(d, g, nota) for g in d.parameter_groups],
        "rule_check": d.rule_check,
        "weight_decay": _weight_decay(d, nota),
        "proof_summary": d.proof_summary,
    }
    if not d.per_layer:
        out["parameters"] = params
    return out


def render(d: Derivation, notation: str = "bishop") -> str:
    """formulas.json text: sorted keys, parameters in network order, newline at the end.

    The maths fields (``sympy``) do not depend on ``notation``; the ``latex`` fields are printed in it.
    """
    return json.dumps(to_dict(d, notation), sort_keys=True, indent=1, ensure_ascii=False) + "\n"
