"""The numbers of the worked example's two plots, shared by the PDF (pgfplots) and the web page (SVG).

Both documents draw the same points: the error of the example's one sample over
:data:`CURVE_STEPS` gradient steps (from the core's evaluator of the derived
equations), and the Euclidean norm of each layer's gradient before the step.
Each number is rounded once, here, to the digits both documents print.
"""

from __future__ import annotations

import math

import numpy as np

from derive.core import evaluate
from derive.core.model import Derivation

#: the worked example's error is plotted over this many gradient steps on its one sample
CURVE_STEPS = 200


def rounded(value: float) -> float:
    """A plotted number as both documents print it: six significant digits."""
    return float(f"{value:.6g}")


def curve(
    d: Derivation,
    params: dict,
    x,
    t,
    lr: float,
    steps: int = CURVE_STEPS,
    rates: dict[str, float] | None = None,
    update=None,
) -> list[tuple[int, float]]:
    """(step, error) before every second step and after the last, positive errors only (a log axis).

    ``rates``: λ of each decayed parameter array; the steps then descend on E + Ω (the error E is plotted).
    ``update``: another optimiser's step (:func:`derive.core.evaluate.descent`). Empty when fewer than two
    points remain (a curve needs two).
    """
    rates = rates if rates and any(rates.values()) else None
    errors = evaluate.descent(d, params, x, t, lr, steps, rates, update)
    points = [(n, rounded(e)) for n, e in enumerate(errors) if e > 0 and (n % 2 == 0 or n == len(errors) - 1)]
    return points if len(points) > 1 else []


def norms(d: Derivation, grads: dict[str, np.ndarray]) -> list[tuple[int, float]]:
    """(layer, norm) for each layer: the square root of the sum of the squared gradients of its weights and biases."""
    out = []
    for layer in d.layers:
        total = sum(float(np.sum(np.asarray(g, float) ** 2)) for k, g in grads.items() if int(k[1:]) == layer.index)
        out.append((layer.index, rounded(math.sqrt(total))))
    return out
