"""What the section on why backpropagation works (and is cheap) prints: symbols, counts and which remarks apply."""

from __future__ import annotations

import sympy as sp

from derive.core.model import Derivation
from derive.render.latex import context as lc
from derive.render.latex import diagram


def section(d: Derivation, c: lc.Printing) -> dict:
    """The backward picture, the operation counts of the cost argument, and flags for the remarks that apply."""
    out = d.layers[-1]
    weights = sum(layer.n_in * layer.n_out for layer in d.layers)
    passing = sum(layer.n_in * layer.n_out for layer in d.layers[1:])  # δ passed down through W^T above layer 1
    P = d.spec.n_parameters
    acts = {layer.activation for layer in d.layers}
    hidden = [layer.activation for layer in d.layers[:-1]]
    flow = diagram.backward(d, c.printer)
    # the error enters each drawn output as dE/dy_k (node names are n<column>u<unit>)
    dEdy = [c.tex(sp.Derivative(sp.Symbol("E"), out.out[int(t["of"].split("u")[1]) - 1])) for t in flow["targets"]]
    return {
        "delta": c.tex(out.delta[0]),
        "a": c.tex(out.a[0]),
        "w": c.tex(out.weights[0][0]),
        "z": c.tex(out.inputs[0]),
        "y": c.family("y", d.spec.n_layers, d.spec.n_layers),
        "t": c.family("t", d.spec.n_layers, d.spec.n_layers),
        "flow": flow,
        "dEdy": dEdy,
        "forward": f"{weights:,}".replace(",", "\\,"),
        "backward": f"{weights + passing:,}".replace(",", "\\,"),
        "fd": f"{2 * P * weights:,}".replace(",", "\\,"),
        "total": f"{2 * weights + passing:,}".replace(",", "\\,"),
        "P": f"{P:,}".replace(",", "\\,"),
        "sigmoid": "sigmoid" in acts,
        "tanh": "tanh" in acts,
        "relu": "relu" in acts,
        "deep": sum(a in ("sigmoid", "tanh") for a in hidden) > 1,
        "sigmoid_sse": out.activation == "sigmoid" and d.spec.loss in ("sse", "mse"),
        "softmax_ce": out.activation == "softmax" and d.spec.loss == "ce",
        "softmax": out.activation == "softmax",
    }
