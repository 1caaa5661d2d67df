"""Rules that make the seeded worked example teach: no dead units, a step that does not collapse the error.

Both rules are general: they read the network's activations from their SymPy definitions
and the error from the core's evaluator, never a table of nets.

Live units. A hidden unit whose activation is flat (or nearly so) below zero, such as
relu or leaky relu, passes no gradient back when its pre-activation is not positive: its
column of the example would be zeros. After the weights are drawn, each such unit with
a pre-activation of at most zero has the signs of its weights and bias turned over, which
turns the sign of its pre-activation over (the rounded numbers stay round).

Learning rate. The largest rate of :data:`RATES` whose one step lowers the error of the
sample without taking away more than half of it; a step that wipes out the error at once
shows nothing of descent.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import sympy as sp

from derive.core import activations
from derive.core.evaluate import evaluator
from derive.core.model import Derivation
from derive.spec import NetworkSpec

#: learning rates tried, largest first: round numbers a reader can multiply by
RATES = (0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001)
#: one step may take at most this fraction of the error away
MAX_DROP = 0.5
#: an activation is "flat below zero" when its slope at -1 is under this fraction of its slope at +1
FLAT = 0.1
#: added to a pre-activation that is exactly zero (after the sign turn it still is)
NUDGE = 0.1

_A = sp.Symbol("a", real=True)


@functools.cache
def flat_below_zero(name: str) -> bool:
    """True for an activation that passes (almost) no gradient for negative inputs, from its definition.

    >>> [flat_below_zero(n) for n in ("relu", "leaky_relu", "sigmoid", "tanh", "softplus", "linear")]
    [True, True, False, False, False, False]
    """
    if name not in activations.ELEMENTWISE:  # softmax: an output layer, never revived
        return False
    slope = sp.diff(activations.ELEMENTWISE[name](_A), _A)
    below, above = (float(slope.subs(_A, v)) for v in (-1, 1))
    return abs(below) < FLAT * abs(above)


@functools.cache
def _numeric(name: str):
    return sp.lambdify(_A, activations.ELEMENTWISE[name](_A), "math")


def revive(spec: NetworkSpec, x: list[float], params: dict[str, list]) -> None:
    """Turn over the signs of the weights (and bias) of every hidden unit that would be dead (in place)."""
    hidden = spec.activations[:-1]
    if not any(flat_below_zero(name) for name in hidden):
        return
    z = list(x)
    for l, name in enumerate(hidden, start=1):
        rows, bias = params[f"W{l}"], params.get(f"b{l}")
        pre = []
        for j, row in enumerate(rows):
            a = math.fsum(w * v for w, v in zip(row, z)) + (bias[j] if bias else 0.0)
            if flat_below_zero(name) and a <= 0:
                rows[j] = row = [-w for w in row]
                if bias:
                    bias[j] = -bias[j]
                a = -a
                if a <= 0:  # exactly zero: nudge the bias, or the weight of the largest input
                    if bias:
                        bias[j] = round(bias[j] + NUDGE, 2)
                    else:
                        i = max(range(len(z)), key=lambda k: abs(z[k]))
                        row[i] = round(row[i] + math.copysign(NUDGE, z[i]), 2)
                    a = math.fsum(w * v for w, v in zip(row, z)) + (bias[j] if bias else 0.0)
            pre.append(a)
        if l < len(hidden) and any(flat_below_zero(n) for n in hidden[l:]):
            z = [float(_numeric(name)(a)) for a in pre]
        else:
            break


def learning_rate(d: Derivation, x: list[float], t: list[float], params: dict[str, list], move=None) -> float:
    """The largest rate of RATES whose step lowers the sample's error by at most MAX_DROP of it.

    When no rate lowers the error that little, the smallest that lowers it at all (else the smallest).
    The step is one of gradient descent, or ``move(rate, arrays, grads)``: the arrays after another
    optimiser's step (Adam's, which moves a parameter by about the rate whatever its gradient).
    """
    ev = evaluator(d)
    arrays = {k: np.asarray(v, float) for k, v in params.items()}
    values = dict(zip(d.inputs, x)) | dict(zip(d.targets, t))
    with np.errstate(all="ignore"):
        before = ev.run_forward(arrays, x, t, values)
        grads = ev.run_backward(arrays, values)
        lowering = []
        for rate in RATES:
            stepped = move(rate, arrays, grads) if move else {k: arrays[k] - rate * grads[k] for k in arrays}
            after = ev.run_forward(stepped, x, t)
            if not after < before:
                continue
            if after >= (1 - MAX_DROP) * before:
                return rate
            lowering.append(rate)
    return lowering[-1] if lowering else RATES[-1]
