"""The worked example: one SGD step of the derived formulas on concrete numbers (shared by the PDF and the web page).

Evaluation only. The forward values come from the Derivation's definitions
(``pre``, ``act``, ``loss``), the δs and gradients from its derived forms, and
every gradient is compared with a central finite difference of the error
before anything is printed; a mismatch is a bug and raises.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sympy as sp

from derive.core.evaluate import Evaluator, array_position, evaluator  # noqa: F401 (Evaluator: tests patch it here)
from derive.core.model import Derivation
from derive.render import seeding
from derive.spec import NetworkSpec, SpecError

SEED = 4
FD_STEP = 1e-6
#: the finite-difference check on at most this many parameters (every one in small nets)
FD_LIMIT = 400
#: Every number of an example file lies in [-MAX_MAGNITUDE, MAX_MAGNITUDE]; far beyond, one SGD step
#: is dominated by rounding (a finite difference cannot check it) or overflows.
MAX_MAGNITUDE = 1000.0
#: An example file may hold this many bytes per number it needs, plus MAX_FILE_SLACK.
BYTES_PER_NUMBER = 64
MAX_FILE_SLACK = 4096
MAX_TITLE = 200
#: JSON nesting deeper than this is refused (an example needs 3: object, W rows, numbers).
MAX_DEPTH = 8
#: Integers with more digits than this are refused before Python converts them.
MAX_DIGITS = 30


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
    """Every number of one step: unit values by canonical symbol, parameters in the trainer's arrays."""

    values: dict[sp.Symbol, float]  # x, t, a, z, y and δ
    error: float
    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]
    updated: dict[str, np.ndarray]
    error_after: float
    fd: dict[tuple[str, tuple[int, ...]], float]
    stale: dict[sp.Symbol, float] = field(default_factory=dict)  # hidden δs from already-updated weights

    def at(self, arrays: dict[str, np.ndarray], sym: sp.Symbol) -> float:
        key, index = array_position(sym, len(self.params))
        return float(arrays[key][index])

    def fd_of(self, sym: sp.Symbol) -> float | None:
        return self.fd.get(array_position(sym, len(self.params)))


def _number(value: object, what: str, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SpecError(f"example file {name!r}: {what} must be a finite number, not {_shown(value)}")
    if abs(value) > MAX_MAGNITUDE:
        raise SpecError(
            f"example file {name!r}: {what} = {_shown(value)} is too large; every number must lie in "
            f"[-{MAX_MAGNITUDE:g}, {MAX_MAGNITUDE:g}]"
        )
    return float(value)


def _shown(value: object) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError, OverflowError):
        text = type(value).__name__
    return text if len(text) <= 30 else text[:27] + "..."


def _integer(text: str) -> int:
    """JSON integers, refused above MAX_DIGITS digits before Python converts them (10**400, 5000 digits)."""
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise _Refused(f"the integer {text[:12]}... has {len(text.lstrip('-'))} digits; the limit is {MAX_DIGITS}")
    return int(text)


def _constant(text: str) -> float:
    raise _Refused(f"{text} is not a number JSON allows")


class _Refused(ValueError):
    """A JSON value refused while decoding."""


def _depth(data: object, limit: int) -> bool:
    """True when ``data`` nests no deeper than ``limit`` (iterative: no recursion on hostile input)."""
    stack = [(data, 1)]
    while stack:
        item, level = stack.pop()
        if level > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return True


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
    if title is not None and (len(title) > MAX_TITLE or not title.isprintable()):
        raise SpecError(
            f"example file {name!r}: title must be at most {MAX_TITLE} printable characters on one line "
            f"(it has {len(title)})"
        )
    return Example(x, t, lr, params, source=name, title=title)


def max_bytes(spec: NetworkSpec) -> int:
    """The largest example file accepted for ``spec`` (BYTES_PER_NUMBER per number it needs)."""
    return MAX_FILE_SLACK + BYTES_PER_NUMBER * (spec.n_parameters + spec.sizes[0] + spec.sizes[-1] + 1)


def load(path: Path, spec: NetworkSpec) -> Example:
    """Read and validate an example file (raises SpecError with one line)."""
    name = str(path)
    shown = name if len(name) <= 60 else name[:57] + "..."
    limit = max_bytes(spec)
    try:
        with open(path, "rb") as f:
            raw = f.read(limit + 1)
        if len(raw) > limit:
            raise SpecError(f"example file {shown!r} is larger than {limit} bytes, the limit for {spec.arch}")
        data = json.loads(raw.decode("utf-8"), parse_int=_integer, parse_constant=_constant)
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"example file {shown!r} cannot be read: {e.__class__.__name__}") from None
    except json.JSONDecodeError as e:
        raise SpecError(f"example file {shown!r} is not valid JSON: {e.msg} at line {e.lineno}") from None
    except _Refused as e:
        raise SpecError(f"example file {shown!r}: {e}") from None
    except RecursionError:
        raise SpecError(f"example file {shown!r} is nested deeper than {MAX_DEPTH} levels") from None
    if not _depth(data, MAX_DEPTH):
        raise SpecError(f"example file {shown!r} is nested deeper than {MAX_DEPTH} levels")
    return parse(data, spec, name)


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
    return dataclasses.replace(ex, lr=seeding.learning_rate(d, ex.x, ex.t, ex.params))


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


def _finite(ex: Example, what: str, *values) -> None:
    """Refuse the example when any of ``values`` (numbers or arrays) is NaN or infinite."""
    if all(np.all(np.isfinite(np.asarray(v, float))) for v in values):
        return
    named = [(abs(v), f"x[{i}]", v) for i, v in enumerate(ex.x)]
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
    values = dict(zip(d.inputs, ex.x)) | dict(zip(d.targets, ex.t))
    error = ev.run_forward(params, ex.x, ex.t, values)
    _finite(ex, "the forward pass", error, list(values.values()))
    grads = ev.run_backward(params, values)
    _finite(ex, "the backward pass", list(values.values()), *grads.values())
    positions = sampled_positions(params)
    positions += sorted(set(map(array_position, shown)) - set(positions))
    fd = {}
    for key, idx in positions:
        probe = {k: v.copy() for k, v in params.items()}
        probe[key][idx] += FD_STEP
        up = ev.run_forward(probe, ex.x, ex.t)
        probe[key][idx] -= 2 * FD_STEP
        down = ev.run_forward(probe, ex.x, ex.t)
        fd[(key, idx)] = value = (up - down) / (2 * FD_STEP)
        _finite(ex, "the finite-difference check", value)
        g = float(grads[key][idx])
        # rounding in E itself limits what a difference quotient can resolve (large E, large inputs)
        rounding = 64 * np.finfo(float).eps * max(abs(up), abs(down)) / FD_STEP
        if not abs(value - g) <= 1e-6 + 1e-5 * abs(g) + rounding:  # written so that NaN fails
            raise AssertionError(f"{key}{list(idx)}: derived gradient {g!r}, finite difference {value!r}")
    _check_forms(d, params, grads, values)
    updated = {k: params[k] - ex.lr * grads[k] for k in params}
    error_after = ev.run_forward(updated, ex.x, ex.t)
    _finite(ex, "the error after the step", error_after, *updated.values())
    step = Step(values, error, params, grads, updated, error_after, fd)
    if len(d.layers) > 1:  # what the hidden δs would be if the upper weights were updated first
        top = f"W{len(d.layers)}"
        stale = dict(params) | {top: updated[top]}
        step.stale = dict(zip(d.layers[-2].delta, ev.layer_deltas(stale, values, d.layers[-2]).tolist()))
        _finite(ex, "the δs from updated weights", list(step.stale.values()))
    return step


def _check_forms(d: Derivation, params: dict, grads: dict, values: dict) -> None:
    """Each parameter's own gradient form (δ times its input) gives the array entry, for a sample of them."""
    for layer in d.layers:
        for j in sorted({0, layer.n_out - 1}):
            for i in sorted({0, layer.n_in - 1}):
                w = layer.weights[j][i]
                form = values[layer.delta[j]] * values[layer.inputs[i]]
                if not abs(form - grads[f"W{layer.index}"][j, i]) <= 1e-12 * (1 + abs(form)):
                    raise AssertionError(f"{w}: δ times input disagrees with the gradient array")
