"""Turn a parsed textbook form into SymPy expressions on concrete units.

A form such as ``h_prime(a[j]) * Sum(w[k, j] * delta[k], k)`` is written with
index letters; each letter is declared to run over the units of a layer
(``j = "l"``, ``k = "l+1"``). For every layer the form applies to and every
binding of its target's letters to units, :func:`build` maps each source symbol
onto the Derivation's canonical symbol (:class:`derive.diff.builder.Builder`) and
returns the SymPy expression. The truth side lives in :mod:`derive.diff.compare`.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

import sympy as sp

from derive.core.model import Derivation
from derive.diff.builder import Builder
from derive.diff.catalog.sources import Form
from derive.diff.layers import FormError, NotApplicable, Undefined, layer_number, target_layers

__all__ = ["FormError", "Instance", "NotApplicable", "Undefined", "applies", "build", "layer_number", "target_layers"]


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
    literal = Builder(d, form, functions, l, "literal", delta_factor)
    try:
        expr, missing = literal(form.tree, env), None
    except Undefined as e:
        expr, missing = None, str(e)
    fixer = Builder(d, form, functions, l, "fix", delta_factor)
    try:
        fixed = fixer(form.tree, env)
    except Undefined:
        fixed = None
    relettered = None
    if literal.conflicts or fixer.conflicts:
        try:
            relettered = Builder(d, form, functions, l, "letters", delta_factor)(form.tree, env)
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
