"""The worked example: one SGD step of the derived formulas on concrete numbers (shared by the PDF and the web page).

Evaluation only. The forward values come from the Derivation's definitions
(``pre``, ``act``, ``loss``), the δs and gradients from its derived forms, and
every gradient is compared with a central finite difference of the error
before anything is printed; a mismatch is a bug and raises. Only where the
numbers come from the user's file and smaller steps bring the difference
towards the derived gradient is the mismatch the numbers' doing (a kink of
ReLU within the step, or an error far from linear over it): that is one line
of error asking for other numbers.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from derive.core import decay
from derive.core.evaluate import Evaluator, array_position, evaluator  # noqa: F401 (Evaluator: tests patch it here)
from derive.core.model import Derivation
from derive.render import adamstep, example_file, plots, seeding
from derive.render.example_file import Example, load, max_bytes, parse  # noqa: F401 (the example's public names)
from derive.spec import NetworkSpec, SpecError

SEED = 4
FD_STEP = 1e-6
#: the finite-difference check on at most this many parameters (every one in small nets)
FD_LIMIT = 400


@dataclass
class Step:
    """Every number of one step: unit values by canonical symbol, parameters in the trainer's arrays."""

    values: dict[sp.Symbol, float]  # x, t, a, z, y and δ
    error: float
    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]
    updated: dict[str, np.ndarray]
    error_after: float
    fd: dict[tuple[str, tuple[int, ...]], float]
    stale: dict[sp.Symbol, float] = field(default_factory=dict)  # hidden δs from already-updated weights
    #: with weight decay: ∂(E + Ω)/∂θ (``grads`` is ∂E/∂θ), Ω before and after the step; else grads, 0, 0
    total: dict[str, np.ndarray] = field(default_factory=dict)
    penalty: float = 0.0
    penalty_after: float = 0.0
    #: an Adam build's first step (:func:`derive.render.adamstep.first_step`): m, v, mhat, vhat, change by array
    adam: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    def at(self, arrays: dict[str, np.ndarray], sym: sp.Symbol) -> float:
        key, index = array_position(sym, len(self.params))
        return float(arrays[key][index])

    def fd_of(self, sym: sp.Symbol) -> float | None:
        return self.fd.get(array_position(sym, len(self.params)))


def seeded(spec: NetworkSpec, seed: int = SEED) -> Example:
    """Small round numbers a student can follow by hand; targets suit the output activation and loss.

    No hidden unit is dead (:func:`derive.render.seeding.revive`); the learning rate is 0.5
    (:func:`default` chooses one for the network).
    """
    rng = random.Random(seed)

    def draw(scale: float = 1.0) -> float:
        return round(rng.uniform(-scale, scale), 2)

    x = [draw() for _ in range(spec.sizes[0])]
    n_out, out = spec.sizes[-1], spec.activations[-1]
    if out == "softmax":
        hot = rng.randrange(n_out)
        t = [1.0 if k == hot else 0.0 for k in range(n_out)]
    elif out == "sigmoid":
        t = [float(rng.randrange(2)) for _ in range(n_out)]
    elif out in ("relu", "softplus"):
        t = [abs(draw()) for _ in range(n_out)]
    else:
        t = [draw(0.9) for _ in range(n_out)]
    params: dict[str, list] = {}
    for l in range(1, spec.n_layers + 1):
        scale = min(1.0, 2 / math.sqrt(spec.sizes[l - 1]))
        params[f"W{l}"] = [[draw(scale) for _ in range(spec.sizes[l - 1])] for _ in range(spec.sizes[l])]
        if spec.bias:
            params[f"b{l}"] = [draw(0.5) for _ in range(spec.sizes[l])]
    seeding.revive(spec, x, params)
    return Example(x, t, 0.5, params)


def default(d: Derivation) -> Example:
    """The example of a build without ``--example``: :func:`seeded`, with the learning rate of
    :func:`derive.render.seeding.learning_rate` (one step lowers the error without wiping it out)."""
    ex = seeded(d.spec)
    decay = example_file.DECAY if d.spec.weight_decay else 0.0  # so that the penalty's λθ shows in the numbers
    ex = dataclasses.replace(ex, decay=decay)
    move = None
    if d.spec.optimizer == "adam":  # Adam moves a parameter by about η: the rate is chosen for Adam's step

        def move(rate: float, arrays: dict, grads: dict) -> dict:
            change = adam_change(d, dataclasses.replace(ex, lr=rate), arrays, grads)
            return {k: arrays[k] + change[k] for k in arrays}

    return dataclasses.replace(ex, lr=seeding.learning_rate(d, ex.x, ex.t, ex.params, move))


def adam_change(d: Derivation, ex: Example, params: dict, grads: dict) -> dict[str, np.ndarray]:
    """Δθ of Adam's first step for every array, by the Derivation's equations (``grads``: ∂E/∂θ)."""
    return adam_moments(d, ex, params, grads)["change"]


def curve_update(d: Derivation, ex: Example):
    """The step the error curve repeats: Adam's (:func:`derive.render.adamstep.walker`) in an Adam build, else None
    (gradient descent)."""
    if d.spec.optimizer != "adam":
        return None
    return adamstep.walker(d, decay_rates(d.spec, ex), ex.lr, ex.beta1, ex.beta2, ex.eps)


def error_curve(d: Derivation, ex: Example) -> list[tuple[int, float]]:
    """The example's error over repeated steps from its start (:func:`derive.render.plots.curve`), as both
    documents plot it: on E + Ω under weight decay, by Adam's step in an Adam build."""
    rates = decay_rates(d.spec, ex)
    return plots.curve(d, ex.params, ex.x, ex.t, ex.lr, rates=rates, update=curve_update(d, ex))


def adam_moments(d: Derivation, ex: Example, params: dict, grads: dict) -> dict[str, dict[str, np.ndarray]]:
    """Adam's first step, m, v, m̂, v̂ and Δθ by array (:func:`derive.render.adamstep.first_step`)."""
    rates = decay_rates(d.spec, ex)
    return adamstep.first_step(d, params, grads, rates, ex.lr, ex.beta1, ex.beta2, ex.eps)


def decay_rates(spec: NetworkSpec, ex: Example) -> dict[str, float]:
    """λ for each parameter array the penalty decays (``W1``, ``b1``, ...), 0 for the others."""
    keys = [f"{r}{l}" for l in range(1, spec.n_layers + 1) for r in ("Wb" if spec.bias else "W")]
    lam = ex.decay if spec.weight_decay else 0.0
    return {k: lam if decay.decays(spec, "weight" if k[0] == "W" else "bias") else 0.0 for k in keys}


def penalty(rates: dict[str, float], params: dict[str, np.ndarray]) -> float:
    """Ω = Σ (λ/2) θ² over the decayed arrays."""
    return float(sum(0.5 * rates[k] * np.sum(np.asarray(params[k], float) ** 2) for k in params if rates[k]))


def sampled_positions(params: dict[str, np.ndarray]) -> list[tuple[str, tuple[int, ...]]]:
    """Every parameter position (arrays by key, entries in C order), or every n-th of them past FD_LIMIT."""
    keys = sorted(params)
    total = sum(params[k].size for k in keys)
    stride = math.ceil(total / FD_LIMIT) if total > FD_LIMIT else 1
    out, start = [], 0
    for k in keys:  # the positions k*stride that fall in this array, without listing the others
        first = -start % stride
        for flat in range(first, params[k].size, stride):
            out.append((k, tuple(int(n) for n in np.unravel_index(flat, params[k].shape))))
        start += params[k].size
    return out


def run(d: Derivation, ex: Example, shown: Sequence[sp.Symbol] = ()) -> Step:
    """One SGD step, every gradient (or a sample, and those of ``shown``) checked against a central difference.

    Raises:
        SpecError: the numbers overflow (a value of the step is not finite); the message names the largest input.
        AssertionError: a derived gradient disagrees with the finite difference, or with its own δ form.
    """
    with np.errstate(all="ignore"):  # an overflow is reported below as one line, not as warnings
        step = _step(d, ex, shown)
    return step


def facts(d: Derivation, ex: Example, step: Step) -> dict:
    """What both outputs say of a step besides its numbers (where the example came from, checks, remarks).

    How many gradients were compared with finite differences, whether a hidden activation passes
    no gradient below zero (the seeded example turns such units on), whether weight decay reaches the biases.
    """
    return {
        "source": ex.source,
        "n_checked": len(step.fd),
        "all_checked": len(step.fd) == d.spec.n_parameters,
        "revivable": any(seeding.flat_below_zero(name) for name in d.spec.activations[:-1]),
        "decays_biases": d.spec.bias and d.spec.decay_biases,
    }


def _finite(ex: Example, what: str, *values, stepped: bool = False) -> None:
    """Refuse the example when any of ``values`` (numbers or arrays) is NaN or infinite.

    The message names the input or parameter of largest size, and the learning rate too
    where it is larger and the numbers are those after the step (``stepped``).
    """
    if all(np.all(np.isfinite(np.asarray(v, float))) for v in values):
        return
    named = [(abs(v), f"x[{i}]", v) for i, v in enumerate(ex.x)]
    if stepped:
        named.append((abs(ex.lr), "lr", ex.lr))
    for key, rows in ex.params.items():
        flat = np.asarray(rows, float).ravel()
        k = int(np.argmax(np.abs(flat)))
        index = [int(n) for n in np.unravel_index(k, np.shape(rows))]
        named.append((abs(flat[k]), f"{key}{index}", float(flat[k])))
    _, where, value = max(named, key=lambda item: item[0])
    source = f"example file {ex.source!r}" if ex.source else "the example"
    raise SpecError(f"{source}: {what} overflows for these numbers (largest: {where} = {value:g}); use smaller values")


def _step(d: Derivation, ex: Example, shown: Sequence[sp.Symbol]) -> Step:
    ev = evaluator(d)
    params = {k: np.asarray(v, float) for k, v in ex.params.items()}
    rates = decay_rates(d.spec, ex)
    values = dict(zip(d.inputs, ex.x)) | dict(zip(d.targets, ex.t))
    error = ev.run_forward(params, ex.x, ex.t, values)
    _finite(ex, "the forward pass", error, list(values.values()))
    grads = ev.run_backward(params, values)
    _finite(ex, "the backward pass", list(values.values()), *grads.values())
    total = {k: grads[k] + rates[k] * params[k] for k in params}  # the penalty's derived term λθ
    positions = sampled_positions(params)
    positions += sorted(set(map(array_position, shown)) - set(positions))
    fd = {}
    for key, idx in positions:  # a central difference of the objective E + Ω
        value, size = _difference(ev, ex, params, rates, (key, idx), FD_STEP)
        fd[(key, idx)] = value
        _finite(ex, "the finite-difference check", value)
        g = float(total[key][idx])
        # rounding in E itself limits what a difference quotient can resolve (large E, large inputs)
        if not abs(value - g) <= 1e-6 + 1e-5 * abs(g) + 64 * np.finfo(float).eps * size / FD_STEP:  # NaN fails
            if ex.source is not None and _converges(ev, ex, params, rates, (key, idx), g):
                raise SpecError(_unchecked(d, ev, ex, params, (key, idx), g, value))
            raise AssertionError(f"{key}{list(idx)}: derived gradient {g!r}, finite difference {value!r}")
    _check_forms(d, params, grads, values)
    moments = {}
    if d.spec.optimizer == "adam":  # Adam's first step, by its own equations (the moments see λθ there)
        moments = adam_moments(d, ex, params, grads)
        _finite(ex, "Adam's step", *(a for part in moments.values() for a in part.values()), stepped=True)
        updated = {k: params[k] + moments["change"][k] for k in params}
    else:
        updated = {k: params[k] - ex.lr * total[k] for k in params}
    error_after = ev.run_forward(updated, ex.x, ex.t)
    _finite(ex, "the error after the step", error_after, *updated.values(), stepped=True)
    step = Step(values, error, params, grads, updated, error_after, fd)
    step.total, step.penalty, step.penalty_after = total, penalty(rates, params), penalty(rates, updated)
    step.adam = moments
    if len(d.layers) > 1:  # what the hidden δs would be if the upper weights were updated first
        top = f"W{len(d.layers)}"
        stale = dict(params) | {top: updated[top]}
        step.stale = dict(zip(d.layers[-2].delta, ev.layer_deltas(stale, values, d.layers[-2]).tolist()))
        _finite(ex, "the δs from updated weights", list(step.stale.values()), stepped=True)
    return step


def _difference(ev: Evaluator, ex: Example, params: dict, rates: dict, where: tuple, h: float) -> tuple[float, float]:
    """The central difference (J(θ + h) - J(θ - h)) / 2h of the objective J = E + Ω in one parameter entry,
    and the larger of |J(θ ± h)|."""
    key, idx = where
    probe = {k: v.copy() for k, v in params.items()}
    probe[key][idx] += h
    up = ev.run_forward(probe, ex.x, ex.t) + penalty(rates, probe)
    probe[key][idx] -= 2 * h
    down = ev.run_forward(probe, ex.x, ex.t) + penalty(rates, probe)
    return (up - down) / (2 * h), max(abs(up), abs(down))


def _converges(ev: Evaluator, ex: Example, params: dict, rates: dict, where: tuple, g: float) -> bool:
    """Whether smaller steps bring the difference quotient towards ``g``: then the numbers, not the gradient,
    are what the check cannot handle (far from linear over the step, or a kink within it)."""
    errors = [abs(_difference(ev, ex, params, rates, where, FD_STEP / 10**n)[0] - g) for n in range(3)]
    return bool(errors[2] < errors[1] < errors[0] and errors[2] <= errors[0] / 20)


#: activations with a kink at a = 0, where the error has no derivative (SymPy writes Max(0, a) and H(0) = 1/2)
KINKED = ("relu", "leaky_relu")


def _unchecked(d: Derivation, ev: Evaluator, ex: Example, params: dict, where: tuple, g: float, value: float) -> str:
    """The one line that refuses a user's example whose numbers a central difference cannot check."""
    key, idx = where
    line = (
        f"example file {ex.source!r}: at these numbers a central difference (h = {FD_STEP:g}) misses the "
        f"gradient of {key}{list(idx)} (derived {g:.6g}, difference {value:.6g}; smaller steps come closer)"
    )
    seen: list[dict] = []
    for h in (0.0, FD_STEP, -FD_STEP):  # the unit values at θ and at both probes
        probe = {k: v.copy() for k, v in params.items()}
        probe[key][idx] += h
        seen.append({})
        ev.run_forward(probe, ex.x, ex.t, seen[-1])
    for layer in d.layers:
        if layer.activation not in KINKED:
            continue
        for j, a in enumerate(layer.a):
            if seen[0][a] == 0 or len({np.sign(values[a]) for values in seen}) > 1:
                place = "the output layer" if layer.is_output else f"hidden layer {layer.index}"
                return (
                    f"{line}; unit {j + 1} of {place} ({layer.activation}) has a = {seen[0][a]:.3g}, at its "
                    "kink at 0 or within one step of it: move that pre-activation away from 0, or use smaller values"
                )
    return f"{line}: the error is far from linear over the step; use smaller values"


def _check_forms(d: Derivation, params: dict, grads: dict, values: dict) -> None:
    """Each parameter's own gradient form (δ times its input) gives the array entry, for a sample of them."""
    for layer in d.layers:
        for j in sorted({0, layer.n_out - 1}):
            for i in sorted({0, layer.n_in - 1}):
                w = layer.weights[j][i]
                form = values[layer.delta[j]] * values[layer.inputs[i]]
                if not abs(form - grads[f"W{layer.index}"][j, i]) <= 1e-12 * (1 + abs(form)):
                    raise AssertionError(f"{w}: δ times input disagrees with the gradient array")
