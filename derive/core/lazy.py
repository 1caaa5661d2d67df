"""Sequences that build a large layer's SymPy objects only when they are read.

The first layer of 784-128-64-10 has 100,352 weights. A Symbol, a term of an
a_j sum and a Parameter record for each of them cost seconds and hundreds of
megabytes, and no output of a large net reads them all: the document and the
vector trainer print the per-layer rules. These sequences hold the layer sizes
and the generic rule, and build an entry when it is indexed, from the same
rule every time, so a large Derivation answers ``layer.weights[j][i]``,
``layer.pre[j]``, ``layer.delta_forms[j]`` and ``d.parameters[n]`` exactly as
a small one does.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from typing import Any

import sympy as sp

from derive.core import naming
from derive.core.model import Parameter, ParameterGroup
from derive.core.rules import concretize


class _Lazy(Sequence):
    """A read-only sequence of ``len`` entries computed by ``_build``."""

    _n: int

    def __len__(self) -> int:
        return self._n

    def _build(self, k: int) -> Any:
        raise NotImplementedError

    def __getitem__(self, k):  # type: ignore[override]
        if isinstance(k, slice):
            return [self[m] for m in range(*k.indices(self._n))]
        if k < 0:
            k += self._n
        if not 0 <= k < self._n:
            raise IndexError(k)
        return self._build(k)

    def __iter__(self) -> Iterator:
        return (self._build(k) for k in range(self._n))

    @property
    def n_built(self) -> int:
        """How many entries are built and kept so far: a large derivation builds only what is read."""
        return len(getattr(self, "_cache", ()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and len(other) == self._n and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]


class WeightRow(_Lazy):
    """w_l_j_i for i = 1..n_in (one row of the weight matrix)."""

    def __init__(self, layer: int, unit: int, n_in: int):
        self.layer, self.unit, self._n = layer, unit, n_in

    def _build(self, k: int) -> sp.Symbol:
        return naming.symbol("w", self.layer, self.unit, k + 1)


class WeightRows(_Lazy):
    """The rows of layer l's weight matrix."""

    def __init__(self, layer: int, n_out: int, n_in: int):
        self.layer, self._n, self.n_in = layer, n_out, n_in

    def _build(self, k: int) -> WeightRow:
        return WeightRow(self.layer, k + 1, self.n_in)


class PreActivations(_Lazy):
    """a_j = sum_i w_ji z_i + b_j, built on first read and kept."""

    def __init__(self, weights: WeightRows, inputs: list[sp.Symbol], biases: list[sp.Symbol] | None):
        self.weights, self.inputs, self.biases, self._n = weights, inputs, biases, len(weights)
        self._cache: dict[int, sp.Expr] = {}

    def _build(self, k: int) -> sp.Expr:
        if k not in self._cache:
            row = self.weights[k]
            total = sp.Add(*[row[i] * z for i, z in enumerate(self.inputs)])
            self._cache[k] = total + (self.biases[k] if self.biases else 0)
        return self._cache[k]


class RuleForms(_Lazy):
    """δ_j of every unit of a layer: the generic rule with its unit index set to j (read-only)."""

    def __init__(self, rule: sp.Expr, index: sp.Symbol, n: int, n_layers: int):
        self.rule, self.index, self._n, self.n_layers = rule, index, n, n_layers
        self._cache: dict[int, sp.Expr] = {}

    def _build(self, k: int) -> sp.Expr:
        if k not in self._cache:
            self._cache[k] = concretize(self.rule.xreplace({self.index: k + 1}).doit(), self.n_layers)
        return self._cache[k]


class LazyParameters(_Lazy):
    """Every parameter in network order (per layer, per unit: its weights, then its bias)."""

    def __init__(self, groups: list[ParameterGroup], n_layers: int):
        self.n_layers = n_layers
        self.by_layer: dict[int, dict[str, ParameterGroup]] = {}
        for g in groups:
            self.by_layer.setdefault(g.layer, {})[g.kind] = g
        self.layers = sorted(self.by_layer)
        self.starts: list[int] = []
        total = 0
        for l in self.layers:
            self.starts.append(total)
            total += sum(g.size for g in self.by_layer[l].values())
        self._n = total
        self._tails = {g.key: tuple(sp.Symbol(s, real=True) for s in g.chain[1:]) for g in groups}

    def _build(self, k: int) -> Parameter:
        pos = bisect.bisect_right(self.starts, k) - 1
        l, rest = self.layers[pos], k - self.starts[pos]
        groups = self.by_layer[l]
        weights = groups["weight"]
        n_out, n_in = weights.shape
        block = n_in + ("bias" in groups)
        j, i = divmod(rest, block)
        if i < n_in:
            return self.parameter(weights, j, i)
        return self.parameter(groups["bias"], j, None)

    def parameter(self, g: ParameterGroup, j: int, i: int | None) -> Parameter:
        """The record of parameter (j, i) of a group (0-based), built from its rule."""
        l = g.layer
        subs = {naming.index(l): j + 1}
        if i is not None:
            subs[naming.index(l - 1)] = i + 1
        role = "w" if g.kind == "weight" else "b"
        indices = (j + 1,) if i is None else (j + 1, i + 1)
        delta = naming.symbol("delta", l, j + 1)
        return Parameter(
            symbol=naming.symbol(role, l, *indices),
            kind=g.kind,
            layer=l,
            unit=j + 1,
            source=None if i is None else i + 1,
            key=g.key,
            index=(j,) if i is None else (j, i),
            delta=delta,
            gradient=concretize(g.rule.xreplace(subs), self.n_layers),
            chain=(delta, *self._tails[g.key]),
            proof=g.proof,
        )
