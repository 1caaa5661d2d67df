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
from derive.core.decay import LAMBDA
from derive.core.model import Derivation
from derive.core.update import ALPHA
from derive.diff.catalog.sources import Form, SymbolSpec

ETA = sp.Symbol("eta", positive=True)
_LAYER_RE = re.compile(r"\s*(l|L|[0-9]+)\s*(?:([+-])\s*([0-9]+))?\s*")


class NotApplicable(Exception):
    """The form does not exist on this architecture (e.g. names unit 3 of a 2-unit layer)."""


class Undefined(Exception):
    """A literal reading names a weight that does not exist (transposed indices)."""


class FormError(ValueError):
    """The form is inconsistent with its own declarations."""


def layer_number(spec: str | int, l: int, L: int, what: str = "layer") -> int:
    """A layer spec (``"l+1"``, ``"L"``, ``0``) as a number.

    >>> layer_number("l-1", 2, 2), layer_number("L", 1, 3), layer_number(0, 1, 2)
    (1, 3, 0)
    """
    if isinstance(spec, int):
        return spec
    m = _LAYER_RE.fullmatch(str(spec))
    if not m:
        raise FormError(f"{what}: bad layer {spec!r}; write l, l-1, l+1, L, L-1 or a layer number (0 = inputs)")
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
    missing: str | None = None  # why the literal reading names a unit or layer the net does not have
    relettered: sp.Expr | None = None  # every symbol on its index letter's layer (when a declaration differs)
    conflicts: tuple[tuple[str, int, int], ...] = ()  # (written, declared layer, the index letter's layer)


class _Builder:
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
        return self.resolve(name, spec, idx, env)

    def resolve(self, name: str, spec: SymbolSpec, idx: tuple, env: dict) -> sp.Expr:
        """The canonical symbol that ``name[idx]`` of kind ``spec.kind`` stands for."""
        if spec.kind == "rate":
            return ETA
        if spec.kind == "decay":
            return LAMBDA
        if spec.kind == "momentum":
            return ALPHA
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
            swap = _at_order(form, [r[0][1][0] for r in ranges], l)
            for combo in _sample(ranges, f"{form.id}:{l}"):
                env = {k: v for k, v in combo if isinstance(k, str)}
                units = tuple(v[1] for _, v in combo)
                units = units[::-1] if swap else units
                out.append(_instance(form, d, functions, l, env, units, delta_factor))
        except NotApplicable:
            continue
    return out


def _instance(form: Form, d: Derivation, functions, l: int, env: dict, units: tuple, delta_factor) -> Instance:
    """One binding of the target's letters, read as written, with weights fixed, and by letters."""
    literal = _Builder(d, form, functions, l, "literal", delta_factor)
    try:
        expr, missing = literal(form.tree, env), None
    except Undefined as e:
        expr, missing = None, str(e)
    fixer = _Builder(d, form, functions, l, "fix", delta_factor)
    try:
        fixed = fixer(form.tree, env)
    except Undefined:
        fixed = None
    relettered = None
    if literal.conflicts or fixer.conflicts:
        try:
            relettered = _Builder(d, form, functions, l, "letters", delta_factor)(form.tree, env)
        except (Undefined, NotApplicable, FormError):
            relettered = None
    conflicts = tuple(dict.fromkeys(literal.conflicts or fixer.conflicts))
    return Instance(
        l, units, expr, fixed if fixer.transposed else None, fixer.transposed, missing, relettered, conflicts
    )


def _at_order(form: Form, layers: list[int], l: int) -> bool:
    """Check that 'at' names the target's own units; True when a weight's two are given as [from, to]."""
    if form.target == "sigmoid_prime" or not layers:
        return False
    if form.target in ("grad_w", "update_w"):
        if layers == [l, l - 1]:
            return False
        if layers == [l - 1, l]:
            return True  # [from, to] in the source's own order: read the same weight
        want = f"one letter over layer {l} (the weight's target unit) and one over layer {l - 1}"
    else:
        if layers == [l]:
            return False
        want = f"a letter over the form's own layer {l}"
    letters = ", ".join(str(a) for a in form.at)
    raise FormError(f"'at' = [{letters}] runs over layers {layers}; a {form.target} form on layer {l} needs {want}")


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
