"""Stage 1: parse and validate what the user asked for into a NetworkSpec.

Every problem with the input raises :class:`SpecError` with a one-line message;
the CLI turns it into exit status 2 before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "linear", "softmax")
LOSSES = ("sse", "mse", "ce", "bce")
STYLES = ("scalar", "vector")
#: update rules: plain gradient descent, with momentum (Rumelhart, Hinton and Williams 1986, eq. 9),
#: or Adam (Kingma and Ba 2015, Algorithm 1)
OPTIMIZERS = ("sgd", "momentum", "adam")

#: Refuse networks above these sizes instead of running for an hour.
MAX_UNITS_PER_LAYER = 4096
MAX_LAYERS = 32
MAX_PARAMETERS = 2_000_000
#: The scalar trainer writes one line per unit and parameter; above this it is slow to write and to import.
MAX_SCALAR_PARAMETERS = 2_000
#: The diff instantiates every form on every unit at high precision; above this it takes minutes.
MAX_DIFF_PARAMETERS = 5_000

_ARCH_RE = re.compile(r"[0-9]+(-[0-9]+)+")


class SpecError(ValueError):
    """Bad user input; the message is one line meant for the user."""


@dataclass(frozen=True)
class NetworkSpec:
    """What the user asked for, validated.

    ``sizes[0]`` is the input width; ``activations[l-1]`` belongs to weight
    layer ``l`` (1-based, as in the document).
    """

    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    loss: str = "sse"
    bias: bool = True
    mean: bool = False
    optimizer: str = "sgd"
    #: L2 weight decay: the penalty (λ/2) Σ w² is added to the error of each step (batch or sample)
    weight_decay: bool = False
    #: the penalty includes the biases too (by default only the weights are decayed)
    decay_biases: bool = False

    @property
    def arch(self) -> str:
        return "-".join(str(n) for n in self.sizes)

    @property
    def n_layers(self) -> int:
        """Number of weight layers (``len(sizes) - 1``)."""
        return len(self.sizes) - 1

    @property
    def n_parameters(self) -> int:
        return count_parameters(self.sizes, self.bias)

    @property
    def name(self) -> str:
        """Directory name: the arch alone for the defaults, options appended otherwise.

        >>> NetworkSpec((2, 3, 2), ("sigmoid", "sigmoid")).name
        '2-3-2'
        >>> NetworkSpec((2, 3, 2), ("tanh", "softmax"), loss="ce").name
        '2-3-2-tanh-softmax-ce'
        >>> NetworkSpec((2, 3, 2), ("sigmoid", "sigmoid"), optimizer="momentum", weight_decay=True).name
        '2-3-2-momentum-decay'
        """
        parts = [self.arch]
        acts = self.activations
        if len(set(acts)) == 1:
            if acts[0] != "sigmoid":
                parts.append(acts[0])
        else:
            parts.append("-".join(acts))
        if self.loss != "sse":
            parts.append(self.loss)
        if not self.bias:
            parts.append("nobias")
        if self.mean:
            parts.append("mean")
        if self.optimizer != "sgd":
            parts.append(self.optimizer)
        if self.weight_decay:
            parts.append("decay-all" if self.decay_biases else "decay")
        return "-".join(parts)


def count_parameters(sizes: tuple[int, ...], bias: bool = True) -> int:
    """Weights (and biases) of a fully connected net.

    >>> count_parameters((2, 3, 2))
    17
    """
    weights = sum(a * b for a, b in zip(sizes, sizes[1:]))
    return weights + (sum(sizes[1:]) if bias else 0)


def parse_arch(text: str) -> tuple[int, ...]:
    """Parse ``"2-3-2"`` into layer sizes.

    >>> parse_arch("4-8-8-3")
    (4, 8, 8, 3)
    >>> parse_arch("2--3")
    Traceback (most recent call last):
    ...
    derive.spec.SpecError: bad ARCH '2--3': expected layer sizes joined by '-', e.g. 2-3-2
    """
    shown = text if len(str(text)) <= 40 else str(text)[:40] + "..."
    if not isinstance(text, str) or not _ARCH_RE.fullmatch(text):
        raise SpecError(f"bad ARCH {shown!r}: expected layer sizes joined by '-', e.g. 2-3-2")
    parts = text.split("-")
    if len(parts) - 1 > MAX_LAYERS:
        raise SpecError(f"ARCH {shown!r} has {len(parts) - 1} weight layers; the limit is {MAX_LAYERS}")
    if any(len(part.lstrip("0")) > len(str(MAX_UNITS_PER_LAYER)) for part in parts):
        raise SpecError(f"ARCH {shown!r} has a layer of more than {MAX_UNITS_PER_LAYER} units (the limit per layer)")
    sizes = tuple(int(part) for part in parts)
    if any(n == 0 for n in sizes):
        raise SpecError(f"bad ARCH {text!r}: every layer needs at least one unit")
    if len(sizes) - 1 > MAX_LAYERS:
        raise SpecError(f"ARCH {text!r} has {len(sizes) - 1} weight layers; the limit is {MAX_LAYERS}")
    if max(sizes) > MAX_UNITS_PER_LAYER:
        raise SpecError(
            f"ARCH {text!r} has a layer of {max(sizes)} units; the limit is {MAX_UNITS_PER_LAYER} per layer"
        )
    n = count_parameters(sizes)
    if n > MAX_PARAMETERS:
        raise SpecError(f"ARCH {text!r} has {n} parameters; the limit is {MAX_PARAMETERS}")
    return sizes


def parse_activations(text: str, n_layers: int) -> tuple[str, ...]:
    """One activation for every layer, or a comma list with one per weight layer.

    >>> parse_activations("tanh", 2)
    ('tanh', 'tanh')
    >>> parse_activations("tanh,softmax", 2)
    ('tanh', 'softmax')
    """
    names = [part.strip() for part in str(text).split(",")]
    for name in names:
        if name not in ACTIVATIONS:
            raise SpecError(f"unknown activation {name!r}; valid: {', '.join(ACTIVATIONS)}")
    if len(names) == 1:
        names = names * n_layers
        # "softmax" alone means softmax output on top of sigmoid hidden layers
        # would be surprising; say so instead of guessing.
        if names[0] == "softmax" and n_layers > 1:
            raise SpecError(
                "softmax is only valid on the output layer; give one activation per layer, "
                "e.g. --act sigmoid,softmax (make: ACT=sigmoid,softmax)"
            )
    if len(names) != n_layers:
        raise SpecError(f"--act (ACT=) lists {len(names)} activations but the network has {n_layers} weight layers")
    return tuple(names)


def make_spec(
    arch: str,
    act: str = "sigmoid",
    loss: str = "sse",
    bias: bool = True,
    mean: bool = False,
    optimizer: str = "sgd",
    weight_decay: bool = False,
    decay_biases: bool = False,
) -> NetworkSpec:
    """Validate every option together and return the spec (raises SpecError).

    The notation is not part of the spec: it is a rendering choice
    (:mod:`derive.render.notations`) and changes no mathematics.
    """
    sizes = parse_arch(arch)
    acts = parse_activations(act, len(sizes) - 1)
    if loss not in LOSSES:
        raise SpecError(f"unknown loss {loss!r}; valid: {', '.join(LOSSES)}")
    for layer, name in enumerate(acts[:-1], start=1):
        if name == "softmax":
            raise SpecError(f"softmax is only valid on the output layer, not on hidden layer {layer}")
    out_act, n_out = acts[-1], sizes[-1]
    if out_act == "softmax" and n_out < 2:
        raise SpecError("softmax needs at least two output units (with one it is the constant 1)")
    if loss == "ce" and out_act != "softmax":
        raise SpecError(
            f"loss 'ce' needs a softmax output layer (--act ...,softmax; make: ACT=...,softmax), not {out_act}"
        )
    if loss == "bce" and out_act != "sigmoid":
        raise SpecError(f"loss 'bce' needs sigmoid outputs, not {out_act}")
    if optimizer not in OPTIMIZERS:
        raise SpecError(f"unknown optimizer {optimizer!r}; valid: {', '.join(OPTIMIZERS)}")
    if decay_biases and not weight_decay:
        raise SpecError("--decay-biases (make: DECAY_BIASES=1) needs --weight-decay (make: WEIGHT_DECAY=1)")
    if decay_biases and not bias:
        raise SpecError("--decay-biases has no biases to decay in a network built with --no-bias (make: BIAS=off)")
    return NetworkSpec(sizes, acts, loss, bool(bias), bool(mean), optimizer, bool(weight_decay), bool(decay_biases))


def check_style(style: str | None, spec: NetworkSpec) -> str | None:
    """``style`` if it is a trainer style this network may use (raises SpecError)."""
    if style is not None and style not in STYLES:
        raise SpecError(f"unknown style {style!r}; valid: {', '.join(STYLES)}")
    if style == "scalar" and spec.n_parameters > MAX_SCALAR_PARAMETERS:
        raise SpecError(
            f"the scalar style is limited to {MAX_SCALAR_PARAMETERS} parameters ({spec.arch} has "
            f"{spec.n_parameters}); use --style vector"
        )
    return style


def check_diff_size(arch: str) -> tuple[int, ...]:
    """The sizes of ``arch`` if the textbook diff may run on it (raises SpecError)."""
    sizes = parse_arch(arch)
    n = count_parameters(sizes)
    if n > MAX_DIFF_PARAMETERS:
        raise SpecError(f"diff is limited to {MAX_DIFF_PARAMETERS} parameters ({arch} has {n}); compare a smaller net")
    return sizes
