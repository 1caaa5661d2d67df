"""The worked example: one SGD step of the derived formulas on concrete numbers.

Evaluation only. The forward values come from the Derivation's definitions
(``pre``, ``act``, ``loss``), the δs and gradients from its derived forms, and
every gradient is compared with a central finite difference of the error
before anything is printed; a mismatch is a bug and raises.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

import sympy as sp

from derive.model import Derivation
from derive.spec import NetworkSpec, SpecError

SEED = 4
FD_STEP = 1e-6
#: the finite-difference check on at most this many parameters (every one in small nets)
FD_LIMIT = 400


@dataclass(frozen=True)
class Example:
    """Inputs, targets, learning rate and parameters in the trainer's layout (W_l[j][i], b_l[j])."""

    x: list[float]
    t: list[float]
    lr: float
    params: dict[str, list]
    source: str | None = None  # the file name as the user gave it; None when seeded
    title: str | None = None


@dataclass
class Step:
    """Every number of one step: values by canonical symbol, before and after."""

    values: dict[sp.Symbol, float]
    error: float
    grads: dict[sp.Symbol, float]
    updated: dict[sp.Symbol, float]
    error_after: float
    fd: dict[sp.Symbol, float]
    stale: dict[sp.Symbol, float] = field(default_factory=dict)  # hidden δs from already-updated weights


def _number(value: object, what: str, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SpecError(f"example file {name!r}: {what} must be a finite number, not {json.dumps(value)[:30]}")
    return float(value)


def _vector(value: object, n: int, what: str, name: str) -> list[float]:
    if not isinstance(value, list) or len(value) != n:
        raise SpecError(f"example file {name!r}: {what} must be a list of {n} numbers")
    return [_number(v, f"{what}[{i}]", name) for i, v in enumerate(value)]


def parse(data: object, spec: NetworkSpec, name: str) -> Example:
    """Validate a decoded example against the network (raises SpecError with one line)."""
    if not isinstance(data, dict):
        raise SpecError(f"example file {name!r}: expected a JSON object with keys x, t, lr, W1, ...")
    keys = ["x", "t", "lr"] + [f"{k}{l}" for l in range(1, spec.n_layers + 1) for k in ("Wb" if spec.bias else "W")]
    missing = [k for k in keys if k not in data]
    unknown = sorted(set(data) - set(keys) - {"title"})
    if missing or unknown:
        problem = f"missing {', '.join(missing)}" if missing else f"unknown key(s) {', '.join(unknown)}"
        raise SpecError(f"example file {name!r}: {problem}; expected keys {', '.join(keys)} (and optional title)")
    x = _vector(data["x"], spec.sizes[0], "x", name)
    t = _vector(data["t"], spec.sizes[-1], "t", name)
    lr = _number(data["lr"], "lr", name)
    if lr <= 0:
        raise SpecError(f"example file {name!r}: lr must be positive")
    if spec.loss == "ce" and (min(t) < 0 or abs(sum(t) - 1) > 1e-9):
        raise SpecError(f"example file {name!r}: with cross-entropy the targets t must be >= 0 and sum to 1")
    if spec.loss == "bce" and not all(0 <= v <= 1 for v in t):
        raise SpecError(f"example file {name!r}: with binary cross-entropy every target must lie in [0, 1]")
    params: dict[str, list] = {}
    for l in range(1, spec.n_layers + 1):
        n_out, n_in = spec.sizes[l], spec.sizes[l - 1]
        rows = data[f"W{l}"]
        if not isinstance(rows, list) or len(rows) != n_out:
            raise SpecError(f"example file {name!r}: W{l} must be {n_out} rows (units of layer {l}) of {n_in} numbers")
        params[f"W{l}"] = [_vector(row, n_in, f"W{l}[{j}]", name) for j, row in enumerate(rows)]
        if spec.bias:
            params[f"b{l}"] = _vector(data[f"b{l}"], n_out, f"b{l}", name)
    title = data.get("title")
    if title is not None and not isinstance(title, str):
        raise SpecError(f"example file {name!r}: title must be a string")
    return Example(x, t, lr, params, source=name, title=title)


def load(path: Path, spec: NetworkSpec) -> Example:
    """Read and validate an example file (raises SpecError with one line)."""
    name = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"example file {name!r} cannot be read: {e.__class__.__name__}") from None
    except json.JSONDecodeError as e:
        raise SpecError(f"example file {name!r} is not valid JSON: {e.msg} at line {e.lineno}") from None
    return parse(data, spec, name)


def seeded(spec: NetworkSpec, seed: int = SEED) -> Example:
    """Small round numbers a student can follow by hand; targets suit the output activation and loss."""
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
    return Example(x, t, 0.5, params)


def _heaviside(v: float, at_zero: float = 0.5) -> float:
    return 1.0 if v > 0 else (0.0 if v < 0 else at_zero)  # SymPy's H(0) = 1/2


def _evaluator(exprs: list[sp.Expr], args: list[sp.Symbol]):
    return sp.lambdify(args, exprs, modules=[{"Heaviside": _heaviside}, "math"])


class Evaluator:
    """Numeric forms of the Derivation's expressions, compiled once per network."""

    def __init__(self, d: Derivation):
        self.d = d
        self.theta = [p.symbol for p in d.parameters]
        self.forward = []
        for layer in d.layers:
            args = list(layer.inputs) + [s for row in layer.weights for s in row] + (layer.biases or [])
            self.forward.append((args, _evaluator(list(layer.pre), args), _evaluator(list(layer.act), list(layer.a))))
        self.loss = _evaluator([d.loss], list(d.outputs) + list(d.targets))
        self.backward = []
        for layer in reversed(d.layers):
            args = sorted(set().union(*(f.free_symbols for f in layer.delta_forms)), key=sp.default_sort_key)
            self.backward.append((layer.delta, args, _evaluator(list(layer.delta_forms), args)))
        grad_args = sorted(set().union(*(p.gradient.free_symbols for p in d.parameters)), key=sp.default_sort_key)
        self.grad_args = grad_args
        self.grad = _evaluator([p.gradient for p in d.parameters], grad_args)

    def run_forward(self, values: dict[sp.Symbol, float]) -> float:
        """Fill in every a, z and y; return the error of the sample."""
        for layer, (args, pre, act) in zip(self.d.layers, self.forward):
            a_vals = pre(*[values[s] for s in args])
            values.update(zip(layer.a, a_vals))
            values.update(zip(layer.out, act(*a_vals)))
        return float(self.loss(*[values[s] for s in list(self.d.outputs) + list(self.d.targets)])[0])

    def run_backward(self, values: dict[sp.Symbol, float]) -> dict[sp.Symbol, float]:
        """Fill in every δ from the derived forms; return every parameter's gradient."""
        for deltas, args, fn in self.backward:
            values.update(zip(deltas, fn(*[values[s] for s in args])))
        return dict(zip(self.theta, self.grad(*[values[s] for s in self.grad_args])))


def initial_values(d: Derivation, ex: Example) -> dict[sp.Symbol, float]:
    """x, t and every parameter of the example by canonical symbol."""
    values = dict(zip(d.inputs, ex.x)) | dict(zip(d.targets, ex.t))
    for p in d.parameters:
        array = ex.params[p.key]
        values[p.symbol] = array[p.index[0]][p.index[1]] if p.kind == "weight" else array[p.index[0]]
    return values


def run(d: Derivation, ex: Example) -> Step:
    """One SGD step, every gradient checked against a central difference of E first.

    Raises:
        AssertionError: a derived gradient disagrees with the finite difference.
    """
    ev = Evaluator(d)
    values = initial_values(d, ex)
    error = ev.run_forward(values)
    grads = ev.run_backward(values)
    checked = ev.theta if len(ev.theta) <= FD_LIMIT else ev.theta[:: math.ceil(len(ev.theta) / FD_LIMIT)]
    fd = {}
    for theta in checked:
        probe = dict(values)
        probe[theta] = values[theta] + FD_STEP
        up = ev.run_forward(probe)
        probe[theta] = values[theta] - FD_STEP
        fd[theta] = (up - ev.run_forward(probe)) / (2 * FD_STEP)
        if abs(fd[theta] - grads[theta]) > 1e-6 + 1e-5 * abs(grads[theta]):
            raise AssertionError(f"{theta}: derived gradient {grads[theta]!r}, finite difference {fd[theta]!r}")
    updated = {s: values[s] - ex.lr * grads[s] for s in ev.theta}
    after = dict(values) | updated
    error_after = ev.run_forward(after)
    step = Step(values, error, grads, updated, error_after, fd)
    if len(d.layers) > 1:  # what the hidden δs would be if the upper weights were updated first
        stale = dict(values) | {p.symbol: updated[p.symbol] for p in d.parameters if p.layer == len(d.layers)}
        deltas, args, fn = ev.backward[1]
        step.stale = dict(zip(deltas, fn(*[stale[s] for s in args])))
    return step
