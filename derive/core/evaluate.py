"""Numbers from the Derivation's expressions: the forward pass, the error and every δ of one sample.

Evaluation only, for the worked example (:mod:`derive.render.latex.example`). Pre-activations
are the sums a = W z + b evaluated as matrix products so that wide layers stay
fast; activations, the error and every δ are the Derivation's own expressions.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from derive.core import naming
from derive.core.indexed import evaluate
from derive.core.lazy import RuleForms
from derive.core.model import Derivation, Layer


def array_position(sym: sp.Symbol, _unused: int = 0) -> tuple[str, tuple[int, ...]]:
    """The trainer array and 0-based index of a weight or bias symbol (``w_2_1_3`` -> ``("W2", (0, 2))``)."""
    return naming.parameter_position(sym)


def _heaviside(v, at_zero: float = 0.5):
    return np.where(np.asarray(v) > 0, 1.0, np.where(np.asarray(v) < 0, 0.0, at_zero))  # SymPy's H(0) = 1/2


def _compiled(exprs: list[sp.Expr], args: list[sp.Symbol], cse: bool = False):
    """A numpy function of ``args``; ``cse`` computes shared subexpressions (a softmax's sum) once."""
    return sp.lambdify(args, exprs, modules=[{"Heaviside": _heaviside}, "numpy"], cse=cse)


class _Deltas:
    """The δs of one layer from its derived forms: compiled per unit, or the per-layer rule of a large net.

    A large net's hidden δ forms (:class:`derive.core.lazy.RuleForms`) are one generic rule with a sum over the
    layer above; it is evaluated for all units at once on the arrays (:mod:`derive.core.indexed`), so no
    per-unit expression is built.
    """

    def __init__(self, d: Derivation, layer: Layer):
        self.d, self.layer = d, layer
        forms = layer.delta_forms
        self.rule = forms if isinstance(forms, RuleForms) else None
        units = [] if self.rule else range(layer.n_out)
        self.units = list(units)
        exprs = [forms[k] for k in self.units]
        self.args = sorted(set().union(*(f.free_symbols for f in exprs)), key=sp.default_sort_key)
        self.fn = _compiled(exprs, self.args) if exprs else None

    def _families(self, params: dict[str, np.ndarray], values: dict) -> dict[str, np.ndarray]:
        """The arrays the rule reads, by family name (``w_2``, ``z_1``, ``delta_2``, ...)."""
        d, L = self.d, self.d.spec.n_layers
        arrays = {}
        for base in self.rule.rule.atoms(sp.IndexedBase):
            role, lev = naming.indexed_info(base, L)
            if role in ("w", "b"):
                arrays[str(base)] = params[naming.parameter_key(role, lev)]
                continue
            symbols = {"x": d.inputs, "t": d.targets, "y": d.outputs}.get(role)
            if symbols is None:
                layer = d.layers[lev - 1]
                symbols = {"a": layer.a, "z": layer.out, "delta": layer.delta}[role]
            arrays[str(base)] = np.asarray([values[s] for s in symbols], float)
        return arrays

    def __call__(self, params: dict[str, np.ndarray], values: dict) -> np.ndarray:
        def lookup(sym: sp.Symbol) -> float:
            return values[sym] if sym in values else float(params[array_position(sym)[0]][array_position(sym)[1]])

        own = np.asarray(self.fn(*[lookup(s) for s in self.args]), float) if self.fn else np.zeros(0)
        if self.rule is None:
            return own
        out = np.array(evaluate(self.rule.rule, self._families(params, values), labels=(self.rule.index,))[0], float)
        out[self.units] = own
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
        self.backward = [_Deltas(d, layer) for layer in reversed(d.layers)]

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
        """Fill in every δ from the derived forms; return every gradient as δ times the layer's input."""

        grads = {}
        for deltas in self.backward:
            layer = deltas.layer
            delta = deltas(params, values)
            values.update(zip(layer.delta, delta.tolist()))
            inputs = np.asarray([values[s] for s in layer.inputs], float)
            grads[f"W{layer.index}"] = np.outer(delta, inputs)
            if layer.biases:
                grads[f"b{layer.index}"] = delta
        return grads
