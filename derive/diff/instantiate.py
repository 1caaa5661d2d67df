"""Turn a parsed textbook form into SymPy expressions on concrete units.

A form such as ``h_prime(a[j]) * Sum(w[k, j] * delta[k], k)`` is written with
index letters; each letter is declared to run over the units of a layer
(``j = "l"``, ``k = "l+1"``). For every layer the form applies to and every
binding of its target's letters to units, :func:`build` maps each source symbol
onto the Derivation's canonical symbol (:mod:`derive.core.naming`) and returns the
SymPy expression. The truth side lives in :mod:`derive.diff.compare`.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass

import sympy as sp

from derive.core import activations, calculus, naming
from derive.core.model import Derivation
from derive.diff.catalog.sources import Form, SymbolSpec

ETA = sp.Symbol("eta", positive=True)
_LAYER_RE = re.compile(r"\s*(l|L|[0-9]+)\s*(?:([+-])\s*([0-9]+))?\s*")


class NotApplicable(Exception):
    """The form does not exist on this architecture (e.g. names unit 3 of a 2-unit layer)."""


class Undefined(Exception):
    """A literal reading names a weight that does not exist (transposed indices)."""


class FormError(ValueError):
    """The form is inconsistent with its own declarations."""


def layer_number(spec: str | int, l: int, L: int) -> int:
    """A layer spec (``"l+1"``, ``"L"``, ``0``) as a number.

    >>> layer_number("l-1", 2, 2), layer_number("L", 1, 3), layer_number(0, 1, 2)
    (1, 3, 0)
    """
    if isinstance(spec, int):
        return spec
    m = _LAYER_RE.fullmatch(str(spec))
    if not m:
        raise FormError(f"bad layer {spec!r}")
    base = {"l": l, "L": L}.get(m.group(1))
    n = int(m.group(1)) if base is None else base
    if m.group(2):
        n = n + int(m.group(3)) if m.group(2) == "+" else n - int(m.group(3))
    return n


def target_layers(form: Form, L: int) -> list[int]:
    """The layers l a form's target runs over on a net with L weight layers."""
    if form.layer == "output":
        return [L]
    if form.layer == "hidden":
        return list(range(1, L))
    if form.layer == "all":
        return list(range(1, L + 1))
    n = layer_number(form.layer, L, L)
    return [n] if 1 <= n <= L else []


@dataclass
class Instance:
    """One form on concrete units: the source side, what it claims, and flags."""

    layer: int
    units: tuple[int, ...]
    expr: sp.Expr  # source side, canonical symbols (not expanded)
    fixed: sp.Expr | None  # the same with transposed weights read the right way round
    transposed: bool


class _Builder:
    def __init__(self, d: Derivation, form, functions: dict[str, str], l: int, fix: bool, delta_factor=1) -> None:
        self.d, self.form, self.functions, self.l, self.fix = d, form, functions, l, fix
        self.delta_factor = delta_factor
        self.L = d.spec.n_layers
        self.transposed = False

    def size(self, layer: int) -> int:
        if not 0 <= layer <= self.L:
            raise NotApplicable(f"layer {layer} does not exist")
        return self.d.spec.sizes[layer]

    def unit(self, idx: str | int, env: dict[str, tuple[int, int]], fixed_layer: int | None) -> tuple[int, int]:
        if isinstance(idx, str):
            return env[idx]
        if fixed_layer is None:
            raise FormError("a numeric index needs a symbol with a fixed layer")
        if idx > self.size(fixed_layer):
            raise NotApplicable(f"unit {idx} does not exist in layer {fixed_layer}")
        return fixed_layer, idx

    def ref(self, name: str, idx: tuple, env: dict) -> sp.Expr:
        spec: SymbolSpec = self.form.symbols[name]
        fixed = None if spec.layer is None else layer_number(spec.layer, self.l, self.L)
        if spec.kind == "rate":
            return ETA
        if spec.kind == "free":
            return sp.Symbol(f"free_{name}", real=True)
        if spec.kind == "weight":
            return self.weight(spec, idx, env, fixed)
        if spec.kind in ("input", "target", "output"):
            fixed = {"input": 0}.get(spec.kind, self.L)
        if idx:
            layer, unit = self.unit(idx[0], env, fixed)
        elif spec.unit is not None and fixed is not None:
            layer, unit = self.unit(spec.unit, env, fixed)
        else:
            raise FormError(f"symbol {name!r} needs an index")
        if spec.kind == "target":
            return naming.symbol("t", self.L, unit)
        if spec.kind == "act" or spec.kind in ("input", "output"):
            role = "x" if layer == 0 else "y" if layer == self.L else "z"
            return naming.symbol(role, layer, unit)
        if layer < 1:
            raise FormError(f"{name!r} is indexed by an input unit")
        role = {"preact": "a", "delta": "delta", "bias": "b"}[spec.kind]
        # the source's delta is its own convention's multiple of the derived dE/da
        return naming.symbol(role, layer, unit) * (self.delta_factor if role == "delta" else 1)

    def weight(self, spec: SymbolSpec, idx: tuple, env: dict, fixed: int | None) -> sp.Expr:
        if len(idx) != 2:
            raise FormError("a weight takes two indices")
        first, second = idx if spec.order == "to_from" else idx[::-1]  # (to, from) as written
        lt = env[first][0] if isinstance(first, str) else None
        lf = env[second][0] if isinstance(second, str) else None
        m = fixed if fixed is not None else max(x for x in (lt, lf) if x is not None) if (lt or lf) else None
        if m is None:
            raise FormError("a weight needs index letters or a fixed layer")
        lt = lt if lt is not None else (m if lf != m else m - 1)
        lf = lf if lf is not None else (m - 1 if lt != m - 1 else m)
        to_unit = env[first][1] if isinstance(first, str) else self.unit(first, env, lt)[1]
        from_unit = env[second][1] if isinstance(second, str) else self.unit(second, env, lf)[1]
        if (lt, lf) == (m, m - 1):
            return naming.symbol("w", m, to_unit, from_unit)
        if (lt, lf) != (m - 1, m):
            raise FormError(f"weight indices in layers {lt} and {lf} do not name a connection")
        self.transposed = True
        if self.fix:
            return naming.symbol("w", m, from_unit, to_unit)
        if to_unit > self.size(m) or from_unit > self.size(m - 1):
            raise Undefined(f"w[{to_unit},{from_unit}] of layer {m} does not exist")
        return naming.symbol("w", m, to_unit, from_unit)

    def call(self, fn: str, arg: sp.Expr) -> sp.Expr:
        kind = self.functions[fn]
        if kind in ("exp", "log", "tanh"):
            return getattr(sp, kind)(arg)
        if kind == "sigmoid":
            return activations.ELEMENTWISE["sigmoid"](arg)
        if kind == "sigmoid_prime":
            return calculus.elementwise("sigmoid").fprime.subs(calculus.A, arg)
        layer = self.l
        if naming.role(arg, self.L) == "a":  # the activation of that pre-activation's own layer
            layer = naming.info(arg, self.L).layer
        name = self.d.layers[layer - 1].activation
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


_BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
}


def applies(form: Form, d: Derivation) -> bool:
    """Whether a form's stated architecture restrictions hold for this net."""
    if form.n_layers is not None and form.n_layers != d.spec.n_layers:
        return False
    return form.arch is None or form.arch == d.spec.arch


def build(form: Form, d: Derivation, functions: dict[str, str], delta_factor=1) -> list[Instance]:
    """Every instance of ``form`` on the units of ``d`` (empty when it does not apply)."""
    if not applies(form, d):
        return []
    L = d.spec.n_layers
    out = []
    for l in target_layers(form, L):
        try:
            ranges = []
            for letter in form.at:
                if isinstance(letter, int):
                    layer = l if len(ranges) == 0 else l - 1
                    ranges.append([(letter, (layer, letter))])
                    continue
                layer = layer_number(form.indices[letter], l, L)
                ranges.append([(letter, (layer, u)) for u in range(1, _Sizer(d).size(layer) + 1)])
            for combo in _sample(ranges, f"{form.id}:{l}"):
                env = {k: v for k, v in combo if isinstance(k, str)}
                units = tuple(v[1] for _, v in combo)
                literal = _Builder(d, form, functions, l, False, delta_factor)
                try:
                    expr = literal(form.tree, env)
                except Undefined:
                    expr = None
                fixer = _Builder(d, form, functions, l, True, delta_factor)
                fixed = fixer(form.tree, env)
                if expr is None and not fixer.transposed:
                    continue
                out.append(Instance(l, units, expr, fixed if fixer.transposed else None, fixer.transposed))
        except NotApplicable:
            continue
    return out


#: Per layer, a form is checked on at most this many unit bindings (a deterministic sample beyond).
MAX_INSTANCES = 48


def _sample(ranges: list[list], seed: str) -> list[tuple]:
    """All bindings of the target's letters, or a deterministic sample including the first and last."""
    total = 1
    for r in ranges:
        total *= len(r)
    if total <= MAX_INSTANCES:
        return list(itertools.product(*ranges))
    rng = random.Random(seed)
    picks = [0, *sorted(rng.sample(range(1, total - 1), MAX_INSTANCES - 2)), total - 1]
    out = []
    for n in picks:
        combo = []
        for r in reversed(ranges):
            n, k = divmod(n, len(r))
            combo.append(r[k])
        out.append(tuple(reversed(combo)))
    return out


class _Sizer:
    def __init__(self, d: Derivation) -> None:
        self.sizes = d.spec.sizes

    def size(self, layer: int) -> int:
        if not 0 <= layer < len(self.sizes):
            raise NotApplicable(f"layer {layer} does not exist")
        return self.sizes[layer]
