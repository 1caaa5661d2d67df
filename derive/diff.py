"""Stage 5: compare textbook forms with the Derivation and name the mistakes.

For every form of a source (see :mod:`derive.textbooks`) and every concrete
unit it applies to, the source side is mapped onto canonical symbols
(:mod:`derive.instantiate`), everything is expanded into inputs, weights,
biases and targets (:func:`derive.verify.expansions`) and compared with what
the Derivation says the same quantity is. Verdicts:

``equal``                   the form is the derived quantity;
``equal_under_convention``  it is the derived quantity times the factor the
                            source's own stated conventions imply (δ ≡ −∂E/∂net,
                            ascent on P = −E, ...);
``different``               neither; the record names the mistake when the form
                            equals the correct one with a known mistake applied,
                            and always carries a counterexample.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache, lru_cache

import mpmath
import sympy as sp

from derive import activations, calculus, instantiate, naming, symbolic
from derive.instantiate import ETA
from derive.model import Derivation
from derive.spec import ACTIVATIONS, make_spec
from derive.textbooks import Form, Source
from derive.verify import expansions

DIGITS = 30
N_POINTS = 3
TOLERANCE = mpmath.mpf(10) ** -20

#: The mistakes the diff can name (ids are part of the JSON output).
MISTAKES = {
    "sigmoid_derivative_squared": "sigma'(a) written as sigma(a)^2 = 1/(1+e^-a)^2 instead of sigma(a)(1 - sigma(a))",
    "derivative_of_preactivation": "f' in output form (y(1-y), 1-y^2) applied to the pre-activation, not the output",
    "canonical_link_outside": "delta_k = y_k - t_k used although output activation and loss are not a canonical pair",
    "dropped_half": "off by a factor 2: the 1/2 of the squared error dropped (or doubled)",
    "dropped_sign": "off by a factor -1: a minus sign dropped",
    "transposed_index": "weight indices transposed (w_jk where the source's own index order needs w_kj)",
    "updated_weights_in_backward": "hidden deltas computed from already-updated weights (w^{t+1} instead of w^t)",
}


@dataclass
class Context:
    """One Derivation and everything the comparison needs from it."""

    d: Derivation
    full: dict[sp.Symbol, sp.Expr]
    constraint: dict[sp.Symbol, sp.Expr]
    label: str


@cache
def context(arch: str, act: str, loss: str, bias: bool) -> Context:
    """The Derivation a source is compared against (cached per network)."""
    spec = make_spec(arch, act, loss, bias=bias, mean=False, notation="bishop")
    d = symbolic.derive(spec)
    constraint = {}
    if d.assumptions:  # Σ t_k = 1: eliminate the last target, as the derivation assumes
        *rest, last = d.targets
        constraint = {last: 1 - sp.Add(*rest)}
    label = f"{'/'.join(spec.activations)}, {loss}{'' if bias else ', no bias'}"
    return Context(d, expansions(d), constraint, label)


def source_act(source: Source, arch: str, act: str | None) -> str:
    """The activation option for a source: the user's, else the source's (hidden,output) pair."""
    if act:
        return act
    parts = [p.strip() for p in source.act.split(",")]
    if len(parts) == 1 or any(p not in ACTIVATIONS for p in parts):
        return source.act
    n_layers = len(arch.split("-")) - 1
    return ",".join([parts[0]] * (n_layers - 1) + [parts[-1]])


def factor(source: Source, target: str) -> sp.Rational:
    """What the source's conventions multiply the derived quantity by."""
    conv = source.conventions
    scale = sp.Rational(str(conv.get("error_scale", 1)))  # a number, checked by the loader
    if target == "delta":
        return int(conv.get("delta_sign", 1)) * scale
    if target in ("dE_dy", "dE_dout", "grad_w", "grad_b"):
        return scale
    if target in ("update_w", "update_b"):
        return (1 if conv.get("update", "descent") == "descent" else -1) * scale
    return sp.Integer(1)


def convention_text(source: Source, target: str) -> str:
    conv = source.conventions
    keys = ("delta", "error") if target == "delta" else ("update_note", "error") if "update" in target else ("error",)
    return "; ".join(str(conv[k]) for k in keys if k in conv)


# --------------------------------------------------------------------------
# The truth side: the Derivation's quantities, and the same with a mistake in f'
# --------------------------------------------------------------------------


def _fprime(ctx: Context, l: int, j: int) -> sp.Expr:
    layer = ctx.d.layers[l - 1]
    return calculus.elementwise(layer.activation).fprime.subs(calculus.A, ctx.full[layer.a[j - 1]])


def chain(ctx: Context, F) -> dict[sp.Symbol, sp.Expr]:
    """δ of every unit when f'(a_lj) is replaced by F(l, j) (a mistake model)."""
    d, deltas = ctx.d, {}
    for layer in reversed(d.layers):
        for j, dj in enumerate(layer.delta, 1):
            if layer.is_output:
                deltas[dj] = d.dE_dy[j - 1].xreplace(ctx.full) * F(layer.index, j)
            else:
                nxt = d.layers[layer.index]
                back = sp.Add(*[nxt.weights[k][j - 1] * deltas[nxt.delta[k]] for k in range(nxt.n_out)])
                deltas[dj] = F(layer.index, j) * back
    return deltas


def truth(ctx: Context, target: str, l: int, units: tuple, deltas=None, F=None, free=None) -> sp.Expr:
    """The quantity a form claims to be, at layer l and units ``units``."""
    d, full = ctx.d, ctx.full
    deltas = deltas or {s: full[s] for layer in d.layers for s in layer.delta}
    layer = d.layers[l - 1]
    j = units[0] if units else None
    if target == "sigmoid_prime":
        return (F or (lambda z: calculus.elementwise("sigmoid").fprime.subs(calculus.A, z)))(free)
    if target == "fprime":
        return (F or (lambda l_, j_: _fprime(ctx, l_, j_)))(l, j)
    if target == "dE_dy" or (target == "dE_dout" and layer.is_output):
        return d.dE_dy[j - 1].xreplace(full)
    if target == "dE_dout":
        nxt = d.layers[l]
        return sp.Add(*[nxt.weights[k][j - 1] * deltas[nxt.delta[k]] for k in range(nxt.n_out)])
    if target == "delta":
        return deltas[layer.delta[j - 1]]
    if target in ("grad_w", "update_w"):
        grad = deltas[layer.delta[j - 1]] * full.get(layer.inputs[units[1] - 1], layer.inputs[units[1] - 1])
    else:
        grad = deltas[layer.delta[j - 1]]
    return -ETA * grad if target.startswith("update") else grad


def variants(ctx: Context):
    """(mistake id, F for units, F for a free z) for every f' mistake model that applies."""
    d = ctx.d
    if any(layer.activation == "softmax" for layer in d.layers[:-1]):
        return
    L = d.spec.n_layers
    scopes = {"output": {L}, "hidden": set(range(1, L)), "all": set(range(1, L + 1))}

    def model(kind: str, layers: set[int]):
        def F(l: int, j: int) -> sp.Expr:
            layer = d.layers[l - 1]
            if l not in layers or layer.activation == "softmax":
                return _fprime(ctx, l, j) if layer.activation != "softmax" else sp.nan
            a, out = ctx.full[layer.a[j - 1]], ctx.full[layer.out[j - 1]]
            if kind == "sigmoid_derivative_squared":
                return out**2 if layer.activation == "sigmoid" else _fprime(ctx, l, j)
            if kind == "derivative_of_preactivation" and layer.fprime_out is not None:
                return layer.fprime_out.subs(calculus.Y, a)
            return sp.Integer(1) if kind == "canonical_link_outside" else _fprime(ctx, l, j)

        return F

    yield "sigmoid_derivative_squared", None, lambda z: activations.ELEMENTWISE["sigmoid"](z) ** 2
    yield "derivative_of_preactivation", None, lambda z: z * (1 - z)
    if d.layers[-1].activation != "softmax":
        yield "canonical_link_outside", model("canonical_link_outside", {L}), None
    for kind in ("sigmoid_derivative_squared", "derivative_of_preactivation"):
        for scope in ("output", "hidden", "all"):
            if scopes[scope]:
                yield kind, model(kind, scopes[scope]), None


# --------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------


def points(ctx: Context, seed: str, extra: set[sp.Symbol]) -> list[dict[sp.Symbol, mpmath.mpf]]:
    """Deterministic random points for every primitive symbol of the network."""
    rng = random.Random(seed)
    d = ctx.d
    prims = list(d.inputs) + [p.symbol for p in d.parameters] + list(d.targets)
    out = []
    for _ in range(N_POINTS):
        pt = {s: mpmath.mpf(rng.randint(-1500, 1500)) / 1000 for s in prims}
        for t in d.targets:
            pt[t] = mpmath.mpf(rng.randint(50, 950)) / 1000
        pt[ETA] = mpmath.mpf(rng.randint(100, 900)) / 1000
        for s in sorted(extra, key=str):
            pt[s] = mpmath.mpf(rng.randint(-1500, 1500)) / 1000
        out.append(pt)
    return out


@lru_cache(maxsize=8192)
def _compiled(expr: sp.Expr):
    syms = sorted(expr.free_symbols, key=str)
    return syms, sp.lambdify(syms, expr, modules="mpmath")


def value(ctx: Context, expr: sp.Expr, pt: dict) -> mpmath.mpf:
    """``expr`` at a point, to :data:`DIGITS` digits (with the loss's target constraint applied)."""
    syms, f = _compiled(sp.sympify(expr).xreplace(ctx.constraint))
    with mpmath.workdps(DIGITS):
        return f(*[pt[s] for s in syms])


def close(a, b) -> bool:
    return abs(a - b) <= TOLERANCE * max(1, abs(b))


def short(v) -> float:
    return float(mpmath.nstr(v, 10))


def _sorted(pt: dict) -> list:
    return sorted(pt.items(), key=lambda kv: str(kv[0]))


def canonical_name(ctx: Context, target: str, l: int, units: tuple) -> str:
    if target == "sigmoid_prime":
        return "sigma'(z)"
    role = {"delta": "delta", "fprime": "a", "dE_dy": "y", "dE_dout": "z", "grad_b": "b", "update_b": "b"}
    if target in ("grad_w", "update_w"):
        return f"{target}({naming.name('w', l, *units)})"
    r = role[target]
    if r == "z" and l == ctx.d.spec.n_layers:
        r = "y"
    return f"{target}({naming.name(r, l, *units)})"


def compare_form(source: Source, form: Form, ctx: Context) -> dict | None:
    """The verdict record of one form, or None when it does not apply to this network."""
    instances = instantiate.build(form, ctx.d, source.functions, factor(source, "delta"))
    if not instances:
        return None
    c = factor(source, form.target)
    free = {s for inst in instances for e in (inst.expr, inst.fixed) if e is not None for s in e.free_symbols}
    free = {s for s in free if s.name.startswith("free_")}
    z = sorted(free, key=str)[0] if free else None
    pts = points(ctx, f"{source.id}:{form.id}:{ctx.d.spec.arch}", free)
    rows = []  # (instance, source side expanded, truth)
    for inst in instances:
        src = None if inst.expr is None else inst.expr.xreplace(ctx.full)
        rows.append((inst, src, truth(ctx, form.target, inst.layer, inst.units, free=z)))

    def matches(expected_for, side=lambda inst, src: src) -> bool:
        for inst, src, tru in rows:
            s = side(inst, src)
            if s is None:
                continue
            exp = expected_for(inst, tru)
            if not all(close(value(ctx, s, pt), value(ctx, exp, pt)) for pt in pts):
                return False
        return any(side(inst, src) is not None for inst, src, _ in rows)

    record = {
        "source": source.id,
        "formula": form.id,
        "citation": form.citation,
        "latex": form.latex,
        "target": form.target,
        "network": f"{ctx.d.spec.arch} ({ctx.label})",
        "verdict": "different",
        "convention": None,
        "mistake": None,
        "explanation": form.note or None,
        "counterexample": None,
        "method": f"compared at {N_POINTS} random points per unit to {DIGITS} digits, {len(rows)} units",
    }
    transposed = any(inst.transposed for inst, _, _ in rows)
    if not transposed and matches(lambda inst, tru: c * tru):
        record["verdict"] = "equal" if c == 1 else "equal_under_convention"
        record["convention"] = None if c == 1 else convention_text(source, form.target)
        return record
    record["counterexample"] = counterexample(ctx, rows, c, pts[0], form.target)
    mistake, why = classify(source, form, ctx, rows, c, matches)
    record["mistake"], record["explanation"] = mistake, why or record["explanation"]
    if c != 1:
        record["convention"] = convention_text(source, form.target)
    return record


def classify(source, form, ctx, rows, c, matches) -> tuple[str | None, str | None]:
    """Name the mistake a differing form makes, if it is one of :data:`MISTAKES`."""
    if any(inst.transposed for inst, _, _ in rows):
        if matches(lambda inst, tru: c * tru, side=lambda inst, src: inst.fixed.xreplace(ctx.full)):
            return "transposed_index", "equal to the derived form once the weight indices are swapped"
        return "transposed_index", "weight indices transposed (and something else differs too)"
    if c != 1 and matches(lambda inst, tru: tru):
        name = {-1: "dropped_sign", 2: "dropped_half", sp.Rational(1, 2): "dropped_half"}.get(c)
        return name, "equals the derived +dE quantity, not the one the source's own convention defines"
    for r, name in ((-1, "dropped_sign"), (2, "dropped_half"), (sp.Rational(1, 2), "dropped_half")):
        if matches(lambda inst, tru, r=r: r * c * tru):
            return name, f"equals {r} times the correct value"
    z = sorted(
        {s for _, src, _ in rows if src is not None for s in src.free_symbols if s.name.startswith("free_")}, key=str
    )
    for name, F, Fz in variants(ctx):
        if (form.target == "sigmoid_prime") != (Fz is not None):
            continue
        if matches(_with_mistake(ctx, form.target, c, chain(ctx, F) if F else None, F or Fz, z[0] if z else None)):
            return name, MISTAKES[name]
    return None, None


def _with_mistake(ctx: Context, target: str, c, deltas, F, z):
    """The expected value of an instance when f' is replaced by a mistake model F."""
    return lambda inst, tru: c * truth(ctx, target, inst.layer, inst.units, deltas, F, z)


def counterexample(ctx: Context, rows, c, pt: dict, target: str) -> dict:
    for inst, src, tru in rows:
        if src is None:
            continue
        s, t = value(ctx, src, pt), value(ctx, tru, pt)
        if not close(s, c * t):
            used = src.free_symbols | tru.free_symbols
            return {
                "at": canonical_name(ctx, target, inst.layer, inst.units),
                "point": {str(k).removeprefix("free_"): short(v) for k, v in _sorted(pt) if k in used},
                "source_value": short(s),
                "derived_value": short(t),
                "expected_under_convention": short(c * t),
            }
    inst = rows[0][0]
    return {
        "at": canonical_name(ctx, target, inst.layer, inst.units),
        "point": None,
        "source_value": None,
        "derived_value": None,
        "note": "the form names a weight that does not exist on this network",
    }
