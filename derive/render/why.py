"""The section on why backpropagation works and is cheap, for any printer: symbols, counts, which remarks apply.

``c`` is the format's printing object (``c.tex``, ``c.family``); the pictures are the formats' own.
"""

from __future__ import annotations

from derive.core.model import Derivation


def counts(d: Derivation) -> dict[str, int]:
    """Multiplications of one forward pass, of the backward pass, of central differences, and the parameters."""
    weights = sum(layer.n_in * layer.n_out for layer in d.layers)
    passing = sum(layer.n_in * layer.n_out for layer in d.layers[1:])  # δ passed down through W^T above layer 1
    P = d.spec.n_parameters
    return {
        "forward": weights,
        "backward": weights + passing,
        "fd": 2 * P * weights,
        "total": 2 * weights + passing,
        "P": P,
    }


def section(d: Derivation, c) -> dict:
    """The printed symbols, the operation counts of the cost argument (numbers), and flags for the remarks."""
    out = d.layers[-1]
    acts = {layer.activation for layer in d.layers}
    hidden = [layer.activation for layer in d.layers[:-1]]
    return {
        "delta": c.tex(out.delta[0]),
        "a": c.tex(out.a[0]),
        "w": c.tex(out.weights[0][0]),
        "z": c.tex(out.inputs[0]),
        "y": c.family("y", d.spec.n_layers, d.spec.n_layers),
        "t": c.family("t", d.spec.n_layers, d.spec.n_layers),
        "counts": counts(d),
        "sigmoid": "sigmoid" in acts,
        "tanh": "tanh" in acts,
        "relu": "relu" in acts,
        "deep": sum(a in ("sigmoid", "tanh") for a in hidden) > 1,
        "sigmoid_sse": out.activation == "sigmoid" and d.spec.loss in ("sse", "mse"),
        "softmax_ce": out.activation == "softmax" and d.spec.loss == "ce",
        "softmax": out.activation == "softmax",
    }
