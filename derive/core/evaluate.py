"""Numbers from the Derivation's expressions: the forward pass, the error, every δ and gradient of one sample.

The one numeric walker of the δ recursion: the worked example
(:mod:`derive.render.example`) and the directional proof
(:mod:`derive.prove.directional`, in extended precision) both evaluate the
Derivation's δ forms and gradient forms here. Pre-activations
are the sums a = W z + b evaluated as matrix products so that wide layers stay
fast; activations, the error and every δ are the Derivation's own expressions.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from derive.core import naming
from derive.core.indexed import evaluate
from derive.core.lazy import LazyParameters, RuleForms
from derive.core.model import Derivation, Layer


def array_position(sym: sp.Symbol, _unused: int = 0) -> tuple[str, tuple[int, ...]]:
    """The trainer array and 0-based index of a weight or bias symbol (``w_2_1_3`` -> ``("W2", (0, 2))``)."""
    return naming.parameter_position(sym)


def _heaviside(v, at_zero: float = 0.5):
    return np.where(np.asarray(v) > 0, 1.0, np.where(np.asarray(v) < 0, 0.0, at_zero))  # SymPy's H(0) = 1/2


def _compiled(exprs: list[sp.Expr], args: list[sp.Symbol], cse: bool = False):
    """A numpy function of ``args``; ``cse`` computes shared subexpressions (a softmax's sum) once."""
    return sp.lambdify(args, exprs, modules=[{"Heaviside": _heaviside}, "numpy"], cse=cse)


def _lookup(vals: dict, n_layers: int):
    """The value of a canonical symbol in family-keyed arrays (``w_2[0, 2]`` for ``w_2_1_3``)."""

    def value(sym: sp.Symbol):
        family, index = _position(sym, n_layers)
        return vals[family][index]

    return value


def _position(sym: sp.Symbol, n_layers: int) -> tuple[str, tuple[int, ...]]:
    """The family and 0-based index under which ``vals`` holds a canonical symbol's value."""
    meta = naming.info(sym, n_layers)
    return naming.family(meta.role, meta.layer), tuple(k - 1 for k in meta.indices)


def concrete(expr: sp.Expr, vals: dict, n_layers: int, dtype=np.float64):
    """The value of an expression in canonical symbols at the family-keyed values ``vals``."""
    value = _lookup(vals, n_layers)
    return evaluate(expr, {s: value(s) for s in expr.free_symbols}, dtype=dtype)[0]


def delta_values(d: Derivation, vals: dict, dtype=np.float64) -> None:
    """Evaluate the Derivation's δ forms, output layer first, into ``vals["delta_l"]``.

    ``vals`` holds the forward values by family (``x``, ``t``, ``w_l``, ``b_l``, ``a_l``, ``z_l``, ``y``).
    A per-layer net's hidden δ forms are one generic rule with a sum over the layer above
    (:class:`derive.core.lazy.RuleForms`), evaluated for all units at once on the arrays
    (:mod:`derive.core.indexed`); any other forms are evaluated unit by unit.
    """
    for layer in reversed(d.layers):
        vals[naming.family("delta", layer.index)] = layer_delta_values(d, layer, vals, dtype)


def layer_delta_values(d: Derivation, layer: Layer, vals: dict, dtype=np.float64) -> np.ndarray:
    """The δs of one layer from its derived forms, reading the layer above's δs from ``vals``."""
    forms = layer.delta_forms
    if isinstance(forms, RuleForms):
        return evaluate(forms.rule, vals, labels=(forms.index,), dtype=dtype)[0]
    return np.array([concrete(f, vals, d.spec.n_layers, dtype) for f in forms], dtype=dtype)


def gradient_values(d: Derivation, vals: dict, dtype=np.float64) -> dict[str, np.ndarray]:
    """Each parameter's δ form evaluated at ``vals`` (after :func:`delta_values`), keyed like the trainer."""
    L = d.spec.n_layers
    out = {g.key: np.zeros(g.shape, dtype=dtype) for g in d.parameter_groups}
    if isinstance(d.parameters, LazyParameters):
        for g in d.parameter_groups:
            labels = (naming.index(g.layer), naming.index(g.layer - 1))[: len(g.shape)]
            out[g.key] = np.broadcast_to(evaluate(g.rule, vals, labels=labels, dtype=dtype)[0], g.shape)
    else:
        for p in d.parameters:
            out[p.key][p.index] = concrete(p.gradient, vals, L, dtype)
    return out


class Evaluator:
    """Numeric forms of the Derivation's expressions, compiled once per network.

    The pre-activations are the sums a = W z + b the Derivation defines, evaluated as matrix products so that
    wide layers stay fast; activations, the error and every δ are the Derivation's own expressions.
    """

    def __init__(self, d: Derivation):
        self.d = d
        self.act = []
        for layer in d.layers:
            if layer.activation == "softmax":
                self.act.append(("all", _compiled(list(layer.act), list(layer.a), cse=True)))
            else:  # elementwise: unit 1's expression serves every unit (checked for the last one)
                first, last = layer.act[0], layer.act[-1]
                assert first.xreplace({layer.a[0]: layer.a[-1]}) == last, "activation differs between units"
                self.act.append(("unit", sp.lambdify([layer.a[0]], first, modules="numpy")))
        self.loss = _compiled([d.loss], list(d.outputs) + list(d.targets))
        self.backward = None if isinstance(d.parameters, LazyParameters) else _Backward(d)
        #: a per-layer net's layers whose δ forms are one expression per unit (its output layer), compiled
        #: on first use: a descent evaluates them at every step
        self.listed: dict[int, tuple[list[sp.Symbol], object]] = {}

    def run_forward(self, params: dict[str, np.ndarray], x, t, values: dict | None = None) -> float:
        """The error of the sample; with ``values``, also record every a, z and y."""
        z = np.asarray(x, float)
        for layer, (kind, f) in zip(self.d.layers, self.act):
            W, b = (naming.parameter_key(r, layer.index) for r in "wb")
            a = params[W] @ z + (params[b] if layer.biases else 0.0)
            z = np.asarray(f(*a) if kind == "all" else f(a) + 0 * a, float)
            if values is not None:
                values.update(zip(layer.a, a.tolist()))
                values.update(zip(layer.out, z.tolist()))
        return float(self.loss(*z.tolist(), *np.asarray(t, float).tolist())[0])

    def run_backward(self, params: dict[str, np.ndarray], values: dict) -> dict[str, np.ndarray]:
        """Fill in every δ from the derived forms (``values`` as left by :meth:`run_forward` with the
        sample's targets under their symbols); return every parameter's gradient from its δ form."""
        if self.backward is not None:
            return self.backward(params, values)
        vals = self._families(params, values)
        for layer in reversed(self.d.layers):
            vals[naming.family("delta", layer.index)] = self._deltas(layer, vals)
        for layer in self.d.layers:
            values.update(zip(layer.delta, vals[naming.family("delta", layer.index)].tolist()))
        return {key: np.asarray(g, float) for key, g in gradient_values(self.d, vals).items()}

    def layer_deltas(self, params: dict[str, np.ndarray], values: dict, layer: Layer) -> np.ndarray:
        """One layer's δs at ``params``, reading the δs of the layer above from ``values``."""
        vals = self._families(params, values)
        if not layer.is_output:
            upper = self.d.layers[layer.index]
            vals[naming.family("delta", upper.index)] = np.asarray([values[s] for s in upper.delta], float)
        return np.asarray(self._deltas(layer, vals), float)

    def _deltas(self, layer: Layer, vals: dict) -> np.ndarray:
        """One layer's δs at the family-keyed ``vals`` in float64: :func:`layer_delta_values`, with a list of
        per-unit forms compiled once into one numpy function instead of walked unit by unit at every call."""
        if isinstance(layer.delta_forms, RuleForms):
            return layer_delta_values(self.d, layer, vals)
        if layer.index not in self.listed:
            forms = list(layer.delta_forms)
            args = sorted(set().union(*(f.free_symbols for f in forms)), key=sp.default_sort_key)
            where = [_position(s, self.d.spec.n_layers) for s in args]
            self.listed[layer.index] = (where, _compiled(forms, args, cse=True))
        where, fn = self.listed[layer.index]
        return np.array([float(v) for v in fn(*[vals[family][index] for family, index in where])])

    def _families(self, params: dict[str, np.ndarray], values: dict) -> dict[str, np.ndarray]:
        """The sample's values by family name (``x``, ``t``, ``w_l``, ``b_l``, ``a_l``, ``z_l``, ``y``)."""
        d = self.d
        vals = {"x": np.asarray([values[s] for s in d.inputs], float)}
        vals["t"] = np.asarray([values[s] for s in d.targets], float)
        for layer in d.layers:
            for role in "wb":
                key = naming.parameter_key(role, layer.index)
                if key in params:
                    vals[naming.family(role, layer.index)] = np.asarray(params[key], float)
            vals[naming.family("a", layer.index)] = np.asarray([values[s] for s in layer.a], float)
            out = "y" if layer.is_output else "z"
            vals[naming.family(out, layer.index)] = np.asarray([values[s] for s in layer.out], float)
        return vals


#: the Evaluators of the last few derivations, by identity: one build compiles each network's forms once
_RECENT: list[tuple[Derivation, tuple, Evaluator]] = []
_RECENT_SIZE = 4


def evaluator(d: Derivation) -> Evaluator:
    """The Evaluator of ``d``, compiled on first use and kept for the next few calls (the example, its
    learning rate and its error curve all evaluate the same network)."""
    forms = _forms(d)
    for known, seen, ev in _RECENT:
        if known is d and all(a is b for a, b in zip(seen, forms)):
            return ev
    ev = Evaluator(d)
    _RECENT.insert(0, (d, forms, ev))
    del _RECENT[_RECENT_SIZE:]
    return ev


def _forms(d: Derivation) -> tuple:
    """The form lists an Evaluator compiles, compared by identity (a derivation given new forms gets a new one)."""
    return (d.parameters, *(layer.delta_forms for layer in d.layers), *(layer.act for layer in d.layers))


def descent(
    d: Derivation,
    params: dict[str, np.ndarray],
    x,
    t,
    lr: float,
    steps: int,
    rates: dict[str, float] | None = None,
    update=None,
) -> list[float]:
    """The error of one sample before each of ``steps`` gradient steps and after the last (derived equations).

    ``rates``: weight decay, the penalty gradient ``rates[k] * θ`` added to array k's gradient at each step.
    ``update(params, grads) -> params``: another optimiser's step in place of gradient descent's (it keeps
    its own state and weight decay between calls).

    Stops early, leaving the list shorter, if the error stops being a finite number (an example far from where
    the activations are tame can overflow).
    """
    ev = evaluator(d)
    params = {k: np.array(v, float) for k, v in params.items()}
    rates = rates or {}
    errors: list[float] = []
    with np.errstate(all="ignore"):
        for _ in range(steps):
            values = dict(zip(d.inputs, x)) | dict(zip(d.targets, t))
            errors.append(ev.run_forward(params, x, t, values))
            if not np.isfinite(errors[-1]):
                return errors[:-1]
            grads = ev.run_backward(params, values)
            if update is not None:
                params = update(params, grads)
                continue
            params = {k: params[k] - lr * (grads[k] + rates[k] * params[k] if k in rates else grads[k]) for k in params}
        last = ev.run_forward(params, x, t)
    return errors + [last] if np.isfinite(last) else errors


class _Backward:
    """A unit-by-unit net's δ forms (layer by layer) and gradient forms, each set compiled once with lambdify.

    The same expressions :func:`delta_values` and :func:`gradient_values` walk node by node, as one numpy
    function per set: a descent of many steps evaluates them many times.
    """

    def __init__(self, d: Derivation):
        self.d = d
        self.layers = []
        for layer in reversed(d.layers):
            args = sorted(set().union(*(f.free_symbols for f in layer.delta_forms)), key=sp.default_sort_key)
            self.layers.append((layer, args, _compiled(list(layer.delta_forms), args, cse=True)))
        grads = [p.gradient for p in d.parameters]
        self.args = sorted(set().union(*(g.free_symbols for g in grads)), key=sp.default_sort_key)
        self.grads = _compiled(grads, self.args, cse=True)

    def __call__(self, params: dict[str, np.ndarray], values: dict) -> dict[str, np.ndarray]:
        known = dict(values)

        def value(sym: sp.Symbol) -> float:
            if sym not in known:  # a weight or bias: read from its array
                key, index = array_position(sym)
                known[sym] = float(params[key][index])
            return known[sym]

        for layer, args, fn in self.layers:
            found = [float(v) for v in fn(*[value(s) for s in args])]
            known.update(zip(layer.delta, found))
            values.update(zip(layer.delta, found))
        out = {g.key: np.zeros(g.shape) for g in self.d.parameter_groups}
        for p, g in zip(self.d.parameters, self.grads(*[value(s) for s in self.args])):
            out[p.key][p.index] = g
        return out
