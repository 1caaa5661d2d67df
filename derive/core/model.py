"""The Derivation: the one data model every renderer reads.

Plain dataclasses holding SymPy expressions in the canonical symbols of
:mod:`derive.core.naming`. Renderers print these; they never differentiate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import sympy as sp

from derive.spec import NetworkSpec


@dataclass(frozen=True)
class Equation:
    """A numbered equation the document prints and the trainer cites.

    ``id`` is stable across runs (``delta-2``, ``grad-w-1``); ``number`` is the
    printed equation number, assigned in document order by the core.
    """

    id: str
    number: int
    title: str
    lhs: sp.Expr
    rhs: sp.Expr


@dataclass(frozen=True)
class Proof:
    """How one parameter's δ form was shown equal to the raw derivative."""

    method: str  # "symbolic", "symbolic-lemma", "symbolic-simplify", "random-points", "directional"
    detail: str  # e.g. "cancel after naming exp atoms", points and failure bound
    assumptions: tuple[str, ...] = ()
    #: for random testing: a bound on the chance that a wrong δ form passes (see the detail)
    false_pass_bound: str | None = None
    #: the numbers of the detail and bound by name, for a table (``(("T", 5.9e-13), ...)``)
    figures: tuple[tuple[str, float], ...] = ()


@dataclass
class Parameter:
    """One weight or bias and its gradient."""

    symbol: sp.Symbol
    kind: str  # "weight" or "bias"
    layer: int
    unit: int  # j, 1-based
    source: int | None  # i, 1-based (weights only)
    key: str  # trainer key, "W2" / "b2"
    index: tuple[int, ...]  # 0-based position in the trainer's array
    delta: sp.Symbol  # the δ symbol this gradient uses
    gradient: sp.Expr  # δ form: delta * input (in local symbols)
    chain: tuple[sp.Symbol, ...]  # δ symbols the gradient depends on, nearest first
    expanded: sp.Expr | None = None  # raw derivative of the expanded E (small nets)
    proof: Proof | None = None

    @property
    def name(self) -> str:
        return self.symbol.name


@dataclass
class Layer:
    """One weight layer l (1-based): its units, local derivatives and δs.

    In a large derivation (``Derivation.per_layer``) ``weights``, ``pre`` and the
    hidden ``delta_forms`` are sequences that build each SymPy object when it
    is read (:mod:`derive.core.lazy`); indexing and iterating work as for lists,
    but reading every entry costs what building it eagerly would.
    """

    index: int
    n_in: int
    n_out: int
    activation: str
    is_output: bool
    a: list[sp.Symbol]  # pre-activation symbols
    out: list[sp.Symbol]  # output symbols (z_l_j or y_k)
    inputs: list[sp.Symbol]  # the previous layer's outputs (x_i or z_{l-1}_i)
    weights: Sequence[Sequence[sp.Symbol]]  # weights[j][i]
    biases: list[sp.Symbol] | None
    pre: Sequence[sp.Expr]  # a_j = sum_i w_ji z_i + b_j
    act: list[sp.Expr]  # z_j = f(a_j), in the a symbols
    fprime: sp.Expr  # f'(A) in the generic symbol calculus.A (elementwise layers)
    fprime_out: sp.Expr | None  # f' in the generic output symbol calculus.Y, if it exists
    fprime_how: str
    jacobian: dict[tuple[int, int], sp.Expr]  # nonzero dy_m/da_k, in outputs where possible
    delta: list[sp.Symbol]
    delta_forms: Sequence[sp.Expr]  # δ_j in local symbols (outputs, targets, next δs, weights)


@dataclass
class ParameterGroup:
    """All weights (or all biases) of one layer: the per-layer record of a gradient rule.

    The string patterns are ``str.format`` templates in ``j`` (unit, 1-based)
    and ``i`` (source unit, 1-based): parameter ``name.format(j=j, i=i)`` has
    the δ form ``gradient_pattern.format(j=j, i=i)``, sits at trainer index
    ``(j - 1, i - 1)`` of ``key`` (``(j - 1,)`` for biases) and reads the δs
    ``[chain[0].format(j=j)] + chain[1:]``.
    """

    key: str  # "W2" / "b2"
    kind: str  # "weight" or "bias"
    layer: int
    shape: tuple[int, ...]  # (n_out, n_in) or (n_out,)
    equation: str  # id of the generic gradient equation, e.g. "grad-w-2"
    rule: sp.Expr  # that equation's right-hand side, in Indexed symbols
    name: str  # "w_2_{j}_{i}"
    gradient_pattern: str  # "delta_2_{j}*z_1_{i}"
    chain: tuple[str, ...]  # ("delta_2_{j}", "delta_3_1", ...)
    proof: Proof | None = None

    @property
    def size(self) -> int:
        n = 1
        for k in self.shape:
            n *= k
        return n


@dataclass
class Steps:
    """One displayed derivation: ``lines[0] = lines[1] = ...``, each line proved equal to the one before."""

    id: str  # "fprime-steps-2": the activation derivative of layer 2
    layer: int
    activation: str
    output: sp.Expr  # the unit's output, y = definition
    definition: sp.Expr  # f(a) in the unit's pre-activation
    lines: list[sp.Expr]
    #: how each line after the first was proved equal to the one before (set by derive.prove.steps)
    proofs: list[str]


@dataclass
class Derivation:
    """Everything derived for one network: what every renderer and the diff read."""

    spec: NetworkSpec
    inputs: list[sp.Symbol]
    targets: list[sp.Symbol]
    layers: list[Layer]
    loss: sp.Expr  # E of one sample in outputs and targets
    dE_dy: list[sp.Expr]
    reduction: str  # "sum" or "mean" over the samples of a batch
    assumptions: list[str]
    parameters: Sequence[Parameter]
    equations: list[Equation] = field(default_factory=list)
    proof_summary: str = ""
    parameter_groups: list[ParameterGroup] = field(default_factory=list)
    #: True on the per-layer route: generic rules, per-weight SymPy objects built on demand (large nets)
    per_layer: bool = False
    #: how the generic per-layer rules were checked against a concrete per-unit derivation
    rule_check: str = ""
    #: the general layer-l rules and what each was proved equal to: (rule id, the equation ids it gave
    #: in each layer, or for a matrix rule its index rule, the layers)
    general_proofs: list[tuple[str, tuple[str, ...], tuple[int, ...]]] = field(default_factory=list)
    #: derivations the document shows line by line (derive.core.steps), proved by derive.prove.steps
    steps: list[Steps] = field(default_factory=list)

    @property
    def outputs(self) -> list[sp.Symbol]:
        return self.layers[-1].out

    def equation(self, eq_id: str) -> Equation:
        for eq in self.equations:
            if eq.id == eq_id:
                return eq
        raise KeyError(eq_id)

    def symbols(self) -> list[sp.Symbol]:
        """Every canonical symbol, in a stable order."""
        found: list[sp.Symbol] = list(self.inputs) + list(self.targets)
        for layer in self.layers:
            found += layer.a + layer.out + layer.delta + [w for row in layer.weights for w in row]
            found += layer.biases or []
        seen: set[sp.Symbol] = set()
        return [s for s in found if not (s in seen or seen.add(s))]
