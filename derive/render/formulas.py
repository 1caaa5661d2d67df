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
from derive.render.printer import LexStrPrinter, NotationLatexPrinter

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


class _Printers:
    """The two printers of one file; each prints a subexpression shared by many fields once."""

    def __init__(self, notation: str, n_layers: int):
        self.sympy = LexStrPrinter()
        self.latex = NotationLatexPrinter(notation, n_layers)

    def __call__(self, e: sp.Expr | None) -> dict[str, str] | None:
        if e is None:
            return None
        return {"sympy": self.sympy.doprint(e), "latex": self.latex.doprint(e)}


def _proof(q: Proof | None) -> dict | None:
    if q is None:
        return None
    out = {"method": q.method, "detail": q.detail, "assumptions": list(q.assumptions)}
    if q.false_pass_bound is not None:
        out["false_pass_bound"] = q.false_pass_bound
    return out


def _group(d: Derivation, g: ParameterGroup, pr: _Printers) -> dict:
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
            "latex": pr.latex.doprint(g.rule),
            "equation": eq.id,
            "number": eq.number,
        },
        "delta_chain": list(g.chain),
        "proof": _proof(g.proof),
    }


def _rule(d: Derivation, eq_id: str, pr: _Printers) -> dict[str, str] | None:
    try:
        eq = d.equation(eq_id)
    except KeyError:
        return None
    return pr(eq.rhs)


#: where the penalty enters the objective of one step; written into formulas.json
PENALTY_PLACEMENT = (
    "J = E + Omega for every step: Omega is added once to the error of the step (the sum of the sample "
    "errors of a batch, or their mean with --mean), not once per sample and not divided by the batch size"
)


def _weight_decay(d: Derivation, pr: _Printers) -> dict:
    """What the update descends on: E alone, or E + Ω with the penalty, its gradients and their equations."""
    spec = d.spec
    if not spec.weight_decay:
        return {"enabled": False}
    grads = [e for e in d.equations if e.id.startswith("grad-penalty-")]
    return {
        "enabled": True,
        "decay_biases": spec.decay_biases,
        "coefficient": decay.LAMBDA.name,
        "penalty": _rule(d, "penalty", pr),
        "penalty_equation": d.equation("penalty").number,
        "placement": PENALTY_PLACEMENT,
        "gradients": {e.id: {"number": e.number, **_rule(d, e.id, pr)} for e in grads},
    }


def to_dict(d: Derivation, nota: str = "bishop") -> dict:
    """The JSON-ready record of a derivation; ``nota`` is the notation of the LaTeX fields."""
    spec = d.spec
    pr = _Printers(nota, spec.n_layers)
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
                "latex_symbol": pr.latex.doprint(p.symbol),
                "delta_form": pr(p.gradient),
                "expanded_gradient": pr(p.expanded) if expanded else None,
                "delta_chain": [s.name for s in p.chain],
                # with weight decay: ∂Ω/∂θ, which the update adds to the δ form (null when θ is not decayed)
                "penalty_gradient": pr(rules.penalty_gradient(d, p.symbol)) if decay.decays(spec, p.kind) else None,
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
                "activation_derivative": pr(layer.fprime) if layer.activation != "softmax" else None,
                "activation_derivative_in_output": pr(layer.fprime_out),
                "how_output_form_was_found": layer.fprime_how,
                "delta_rule": _rule(d, f"delta-{layer.index}", pr),
                # a large net's hidden δs are instances of delta_rule, not listed one by one
                "deltas": None
                if d.per_layer and not layer.is_output
                else {dj.name: pr(form) for dj, form in zip(layer.delta, layer.delta_forms)},
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
        "error": pr(d.loss),
        "equations": [
            {
                "id": e.id,
                "number": e.number,
                "title": e.title,
                "lhs": pr(e.lhs),
                "rhs": pr(e.rhs),
            }
            for e in d.equations
        ],
        "layers": layers,
        "parameter_layout": "per-layer" if d.per_layer else "per-parameter",
        "parameter_index": PARAMETER_INDEX,
        "parameter_groups": [_group(d, g, pr) for g in d.parameter_groups],
        "rule_check": d.rule_check,
        "weight_decay": _weight_decay(d, pr),
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
