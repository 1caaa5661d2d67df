"""What a textbook source is once loaded: its symbols, forms and algorithms.

The file format is documented in :mod:`derive.diff.catalog.sources`; the loader that
checks a file and builds these is :mod:`derive.diff.catalog.load`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from derive.spec import SpecError

#: What a source symbol may stand for in the Derivation.
KINDS = (
    *("input", "preact", "act", "output", "target", "weight", "bias", "delta", "rate", "free"),
    "decay",  # the weight-decay coefficient λ of a source with ``weight_decay = true``
    "momentum",  # α of the update with momentum
    "increment",  # the previous change Δθ(t−1) of the parameter its indices name (an algorithm's state)
    "beta1",  # Adam's decay rate β1 of the first moment
    "beta2",  # Adam's decay rate β2 of the second moment
    "stability",  # Adam's ε, added to √v̂
    "first_moment",  # Adam's m of the parameter its indices name (an algorithm's state, read and reassigned)
    "second_moment",  # Adam's v of the parameter its indices name (the same)
    "step",  # Adam's count t of the steps taken (an algorithm's state; may be an exponent)
)
#: Kinds whose values are an algorithm's state per parameter, carried from one step to the next.
STATE_KINDS = ("increment", "first_moment", "second_moment")
#: What a source function may stand for.
FUNCTION_KINDS = ("act", "act_prime", "sigmoid", "sigmoid_prime", "exp", "log", "tanh", "sqrt")
#: What a form may claim to equal.
TARGETS = ("delta", "fprime", "dE_dy", "dE_dout", "grad_w", "grad_b", "update_w", "update_b", "sigmoid_prime")

#: A layer relative to the target's layer l or the output layer L (``l-1``, ``L``), or a number.
LAYER_SPEC = re.compile(r"\s*(l|L|[0-9]+)\s*(?:([+-])\s*([0-9]+))?\s*")


class CatalogError(SpecError):
    """A catalog or forms file that cannot be used; the message is one line."""


@dataclass(frozen=True)
class SymbolSpec:
    kind: str
    layer: int | str | None = None  # fixed layer (int or "L"), or None: from the indices
    unit: int | None = None  # fixed unit for bare scalar names
    order: str = "to_from"  # weights: index order


@dataclass
class Form:
    id: str
    citation: str
    latex: str
    target: str
    at: tuple
    layer: str | int
    indices: dict[str, str | int]
    expr: str
    tree: tuple
    symbols: dict[str, SymbolSpec]
    line: int
    n_layers: int | None = None
    arch: str | None = None
    note: str = ""


@dataclass
class Algorithm:
    id: str
    citation: str
    latex: str
    indices: dict[str, str | int]
    steps: list[tuple[tuple, tuple]]
    symbols: dict[str, SymbolSpec]
    line: int
    n_layers: int | None = None
    note: str = ""
    optimizer: str = "sgd"  # the update rule the steps describe (derive.spec.OPTIMIZERS)


@dataclass
class Source:
    id: str
    title: str
    citation: str
    path: Path
    act: str
    loss: str
    bias: bool
    conventions: dict[str, object]
    functions: dict[str, str]
    forms: list[Form] = field(default_factory=list)
    algorithms: list[Algorithm] = field(default_factory=list)
    aliases: tuple[str, ...] = ()
    #: the source trains with L2 weight decay (λ/2) Σ w² (on the biases too with ``decay_biases``)
    weight_decay: bool = False
    decay_biases: bool = False
