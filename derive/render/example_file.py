"""The worked example's numbers as a user gives them: a JSON file, read and validated.

Everything a file may hold is checked before a number is used: keys, shapes,
magnitudes, nesting and size; a bad file is one line of error (SpecError).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from derive.spec import NetworkSpec, SpecError

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
#: the decay coefficient λ of a ``--weight-decay`` build's example when its file does not set ``lambda``
DECAY = 0.01
#: Adam's constants in an ``--optimizer adam`` build's example when its file does not set them (Kingma and Ba's)
ADAM_DEFAULTS = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}


@dataclass(frozen=True)
class Example:
    """Inputs, targets, learning rate and parameters in the trainer's layout (W_l[j][i], b_l[j])."""

    x: list[float]
    t: list[float]
    lr: float
    params: dict[str, list]
    source: str | None = None  # the file name as the user gave it; None when seeded
    title: str | None = None
    decay: float = 0.0  # λ of the penalty (λ/2) Σ θ² (``--weight-decay`` builds only)
    beta1: float = ADAM_DEFAULTS["beta1"]  # Adam's decay rates and ε (``--optimizer adam`` builds only)
    beta2: float = ADAM_DEFAULTS["beta2"]
    eps: float = ADAM_DEFAULTS["eps"]


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


def _listed(words: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return " and ".join(words) if len(words) <= 2 else ", ".join(words[:-1]) + " and " + words[-1]


def _vector(value: object, n: int, what: str, name: str) -> list[float]:
    if not isinstance(value, list) or len(value) != n:
        raise SpecError(f"example file {name!r}: {what} must be a list of {n} numbers")
    return [_number(v, f"{what}[{i}]", name) for i, v in enumerate(value)]


def parse(data: object, spec: NetworkSpec, name: str) -> Example:
    """Validate a decoded example against the network (raises SpecError with one line)."""
    if not isinstance(data, dict):
        raise SpecError(f"example file {name!r}: expected a JSON object with keys x, t, lr, W1, ...")
    adam = spec.optimizer == "adam"
    keys = ["x", "t", "lr"] + [f"{k}{l}" for l in range(1, spec.n_layers + 1) for k in ("Wb" if spec.bias else "W")]
    missing = [k for k in keys if k not in data]
    optional = ["title"] + (["lambda"] if spec.weight_decay else []) + (list(ADAM_DEFAULTS) if adam else [])
    unknown = sorted(set(data) - set(keys) - set(optional))
    if missing or unknown:
        problem = f"missing {', '.join(missing)}" if missing else f"unknown key(s) {', '.join(unknown)}"
        if unknown == ["lambda"]:
            problem += " (lambda, the decay coefficient, is for builds with --weight-decay)"
        elif unknown and set(unknown) <= set(ADAM_DEFAULTS) and not adam:
            problem += " (beta1, beta2 and eps, Adam's constants, are for builds with --optimizer adam)"
        raise SpecError(
            f"example file {name!r}: {problem}; expected keys {', '.join(keys)} (and optional {_listed(optional)})"
        )
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
    decay = 0.0
    if spec.weight_decay:
        decay = _number(data.get("lambda", DECAY), "lambda", name)
        if decay < 0:
            raise SpecError(f"example file {name!r}: lambda (the decay coefficient) must be zero or positive")
    constants = {k: _number(data.get(k, v), k, name) for k, v in ADAM_DEFAULTS.items()} if adam else {}
    for k in ("beta1", "beta2"):
        if adam and not 0 <= constants[k] < 1:
            raise SpecError(f"example file {name!r}: {k} (a decay rate of Adam's moments) must lie in [0, 1)")
    if adam and not constants["eps"] > 0:
        raise SpecError(f"example file {name!r}: eps (Adam's constant added to the root of v-hat) must be positive")
    return Example(x, t, lr, params, source=name, title=title, decay=decay, **constants)


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
