"""Render formulas.json from a verified Derivation (no calculus here)."""

from __future__ import annotations

import json

import sympy as sp

from derive.model import Derivation
from derive.printing import latex

#: Above this many parameters the fully expanded gradients are left out (they grow quadratically).
EXPANDED_LIMIT = 200


def _expr(e: sp.Expr | None, notation: str, n_layers: int) -> dict[str, str] | None:
    if e is None:
        return None
    return {"sympy": sp.sstr(e, order="lex"), "latex": latex(e, notation, n_layers)}


def to_dict(d: Derivation) -> dict:
    """The JSON-ready record of a derivation."""
    spec, L = d.spec, d.spec.n_layers
    nota = spec.notation
    expanded = spec.n_parameters <= EXPANDED_LIMIT
    params = []
    for p in d.parameters:
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
                "proof": None
                if p.proof is None
                else {
                    "method": p.proof.method,
                    "detail": p.proof.detail,
                    "assumptions": list(p.proof.assumptions),
                },
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
                "deltas": {dj.name: _expr(form, nota, L) for dj, form in zip(layer.delta, layer.delta_forms)},
            }
        )
    return {
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
        "parameters": params,
        "proof_summary": d.proof_summary,
    }


def render(d: Derivation) -> str:
    """formulas.json text: sorted keys, parameters in network order, newline at the end."""
    return json.dumps(to_dict(d), sort_keys=True, indent=1, ensure_ascii=False) + "\n"
