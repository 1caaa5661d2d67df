"""Read one textbook form on concrete units: each source symbol becomes a canonical symbol.

:class:`Builder` walks a parsed form (:mod:`derive.diff.safeparse`) with its index
letters bound to units and maps every source symbol onto the Derivation's
canonical symbol (:mod:`derive.core.naming`), in one of three readings: as
written, with transposed weights read the right way round, or with every symbol
on its index letter's layer. :mod:`derive.diff.instantiate` runs it over a
form's units; :mod:`derive.diff.algorithm` extends it to an algorithm's steps.
"""

from __future__ import annotations

import sympy as sp

from derive.core import activations, calculus, naming
from derive.core.decay import LAMBDA
from derive.core.model import Derivation
from derive.core.update import ALPHA, BETA1, BETA2, EPSILON
from derive.diff.catalog.sources import SymbolSpec
from derive.diff.layers import ETA, FormError, NotApplicable, Undefined, layer_number


class Builder:
    """Builds one instance of a form. ``mode``: ``"literal"`` (as written), ``"fix"`` (transposed
    weights read the right way round) or ``"letters"`` (every symbol on its index letter's layer,
    ignoring declared layers: how the form reads if a declared layer is a slip)."""

    def __init__(self, d: Derivation, form, functions: dict[str, str], l: int, mode="literal", delta_factor=1) -> None:
        self.d, self.form, self.functions, self.l = d, form, functions, l
        self.fix, self.letters = mode == "fix", mode == "letters"
        self.delta_factor = delta_factor
        self.L = d.spec.n_layers
        self.transposed = False
        self.conflicts: list[tuple[str, int, int]] = []  # (written, declared layer, the letter's layer)

    def size(self, layer: int) -> int:
        if not 0 <= layer <= self.L:
            raise NotApplicable(f"layer {layer} does not exist")
        return self.d.spec.sizes[layer]

    def letter(self, idx: str, env: dict) -> tuple[int, int]:
        if idx not in env:
            raise FormError(f"index {idx!r} is unbound: it is neither in 'at' nor summed over by Sum(..., {idx})")
        return env[idx]

    def declared(self, name: str, spec: SymbolSpec) -> int | None:
        """The layer a symbol is declared on (kind or ``layer``), or None when its index decides."""
        if spec.kind == "input":
            n = 0
        elif spec.kind in ("target", "output"):
            n = self.L
        elif spec.layer is None:
            return None
        else:
            n = layer_number(spec.layer, self.l, self.L, f"symbol {name!r}")
        if not 0 <= n <= self.L:
            raise Undefined(f"{name} is declared on layer {n}, which a {self.d.spec.arch} network does not have")
        return n

    def unit(self, name: str, idx: str | int, env: dict, fixed: int | None) -> tuple[int, int]:
        if isinstance(idx, str):
            layer, u = self.letter(idx, env)
            if fixed is None or fixed == layer:
                return layer, u
            # the declaration wins: the letter only supplies the unit number (h[i] is hidden unit i)
            self.conflicts.append((f"{name}[{idx}]", fixed, layer))
            if self.letters:
                return layer, u
            if u > self.size(fixed):
                raise Undefined(
                    f"{name}[{idx}] with {idx} = {u} names unit {u} of layer {fixed}, which has {self.size(fixed)}"
                )
            return fixed, u
        if fixed is None:
            raise FormError(f"{name}[{idx}]: a numeric index needs a symbol declared with a layer")
        if idx > self.size(fixed):
            raise NotApplicable(f"unit {idx} does not exist in layer {fixed}")
        return fixed, idx

    def ref(self, name: str, idx: tuple, env: dict) -> sp.Expr:
        spec: SymbolSpec = self.form.symbols[name]
        if spec.kind == "increment":
            raise FormError(f"{name} is the previous change of a parameter, state that only an algorithm's steps have")
        if spec.kind in ("first_moment", "second_moment", "step"):
            raise FormError(f"{name} is Adam's state ({spec.kind}), which only an algorithm's steps have")
        return self.resolve(name, spec, idx, env)

    def resolve(self, name: str, spec: SymbolSpec, idx: tuple, env: dict) -> sp.Expr:
        """The canonical symbol that ``name[idx]`` of kind ``spec.kind`` stands for."""
        if spec.kind == "rate":
            return ETA
        if spec.kind == "decay":
            return LAMBDA
        if spec.kind == "momentum":
            return ALPHA
        if spec.kind in _ADAM_SCALARS:
            return _ADAM_SCALARS[spec.kind]
        if spec.kind == "free":
            return sp.Symbol(f"free_{name}", real=True)
        fixed = self.declared(name, spec)
        if spec.kind == "weight":
            return self.weight(name, spec, idx, env, fixed)
        if len(idx) > 1:
            raise FormError(f"{name} takes one index, not {len(idx)}")
        if idx:
            layer, unit = self.unit(name, idx[0], env, fixed)
        elif spec.unit is not None and fixed is not None:
            layer, unit = self.unit(name, spec.unit, env, fixed)
        else:
            raise FormError(f"symbol {name!r} needs an index (or a declared layer and unit)")
        if spec.kind == "target":
            if layer != self.L and not self.letters and unit > self.size(self.L):
                raise Undefined(f"{name} has no unit {unit}")
            return naming.symbol("t", self.L, unit)
        if spec.kind in ("act", "input", "output"):
            role = "x" if layer == 0 else "y" if layer == self.L else "z"
            return naming.symbol(role, layer, unit)
        if layer < 1:
            raise FormError(
                f"{name}[{idx[0] if idx else spec.unit}] is a {spec.kind} of the input layer, which has none"
            )
        role = {"preact": "a", "delta": "delta", "bias": "b"}[spec.kind]
        # the source's delta is its own convention's multiple of the derived dE/da
        return naming.symbol(role, layer, unit) * (self.delta_factor if role == "delta" else 1)

    def weight(self, name: str, spec: SymbolSpec, idx: tuple, env: dict, fixed: int | None) -> sp.Expr:
        if len(idx) != 2:
            raise FormError(f"the weight {name} takes two indices, {name}[to, from] or as its 'order' says")
        first, second = idx if spec.order == "to_from" else idx[::-1]  # (to, from) as written
        lt = self.letter(first, env)[0] if isinstance(first, str) else None
        lf = self.letter(second, env)[0] if isinstance(second, str) else None
        known = [x for x in (lt, lf) if x is not None]
        if fixed is not None and not (self.letters and known):
            m = fixed
        elif known:
            m = max(known)
        else:
            raise FormError(f"the weight {name} needs index letters or a declared layer")
        if m < 1:
            raise FormError(f"the weight {name} is indexed by two input units")
        lt = lt if lt is not None else (m if lf != m else m - 1)
        lf = lf if lf is not None else (m - 1 if lt != m - 1 else m)
        to_unit = self.letter(first, env)[1] if isinstance(first, str) else self.unit(name, first, env, lt)[1]
        from_unit = self.letter(second, env)[1] if isinstance(second, str) else self.unit(name, second, env, lf)[1]
        if (lt, lf) == (m, m - 1):
            return naming.symbol("w", m, to_unit, from_unit)
        if (lt, lf) == (m - 1, m):
            self.transposed = True
            if self.fix:
                return naming.symbol("w", m, from_unit, to_unit)
            if to_unit > self.size(m) or from_unit > self.size(m - 1):
                raise Undefined(f"{name}[{to_unit},{from_unit}] of layer {m} does not exist")
            return naming.symbol("w", m, to_unit, from_unit)
        if fixed is None:
            raise FormError(
                f"{name}[{first}, {second}]: the index letters run over layers {lt} and {lf}, which no weight connects"
            )
        # a declared weight matrix indexed with another layer's letters: read the unit numbers
        self.conflicts.append((f"{name}[{', '.join(map(str, idx))}]", m, lt))
        if to_unit > self.size(m) or from_unit > self.size(m - 1):
            raise Undefined(f"{name}[{to_unit},{from_unit}] of layer {m} does not exist")
        return naming.symbol("w", m, to_unit, from_unit)

    def call(self, fn: str, arg: sp.Expr) -> sp.Expr:
        kind = self.functions[fn]
        if kind in ("exp", "log", "tanh", "sqrt"):
            return getattr(sp, kind)(arg)
        if kind == "sigmoid":
            return activations.ELEMENTWISE["sigmoid"](arg)
        if kind == "sigmoid_prime":
            return calculus.elementwise("sigmoid").fprime.subs(calculus.A, arg)
        layer = self.l
        if naming.role(arg, self.L) == "a":  # the activation of that pre-activation's own layer
            layer = naming.info(arg, self.L).layer
        name = self.d.layers[layer - 1].activation
        if name == "softmax" and layer != self.l:
            raise Undefined(f"{fn}() of layer {layer}, a softmax layer, which has no elementwise derivative")
        if name == "softmax":
            raise NotApplicable("an elementwise activation function on a softmax layer")
        calc = calculus.elementwise(name)
        return (calc.f if kind == "act" else calc.fprime).subs(calculus.A, arg)

    def __call__(self, node: tuple, env: dict) -> sp.Expr:
        op = node[0]
        if op == "num":
            return sp.Rational(node[1].numerator, node[1].denominator)
        if op == "ref":
            return self.ref(node[1], node[2], env)
        if op == "neg":
            return -self(node[1], env)
        if op == "call":
            return self.call(node[1], self(node[2][0], env))
        if op == "sum":
            letter = node[1]
            layer = layer_number(self.form.indices[letter], self.l, self.L)
            return sp.Add(*[self(node[2], {**env, letter: (layer, u)}) for u in range(1, self.size(layer) + 1)])
        left, right = self(node[1], env), self(node[2], env)
        return _BINARY[op](left, right)


#: Adam's scalars by the kind a source declares them with
_ADAM_SCALARS = {"beta1": BETA1, "beta2": BETA2, "stability": EPSILON}

_BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
}
