"""Numbers for the textbook diff: random points and the value of every canonical symbol there.

Expanding every quantity into inputs and weights grows exponentially with the
depth of the net, so the diff never does it. A point fixes the inputs,
parameters, targets and learning rate; :func:`environment` then runs the
forward pass and the Derivation's δ forms layer by layer (each a small local
expression) and returns the value of every a, z, y and δ symbol. A source form
in canonical symbols is evaluated in that environment; its value is the value
of the fully expanded form, at linear cost.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import mpmath
import sympy as sp

from derive.core import calculus
from derive.core.decay import LAMBDA
from derive.core.model import Derivation
from derive.diff.layers import ETA

DIGITS = 30
N_POINTS = 3
#: A net with kinked activations (relu) is compared at this many points or more (see :func:`sample`).
KINKED_POINTS = 8
MAX_POINTS = 32
TOLERANCE = mpmath.mpf(10) ** -20

Env = dict[sp.Symbol, mpmath.mpf]


def points(d: Derivation, seed: str, extra: set[sp.Symbol], constrained: bool, n: int = N_POINTS) -> list[Env]:
    """``n`` deterministic random points: inputs, parameters and free symbols in [-1.5, 1.5], targets in (0, 1).

    The first points of a seed do not depend on ``n``."""
    draw = _draws(d, seed, extra, constrained)
    return [next(draw) for _ in range(n)]


def _draws(d: Derivation, seed: str, extra: set[sp.Symbol], constrained: bool) -> Iterator[Env]:
    rng = random.Random(seed)
    params = [s for layer in d.layers for row in layer.weights for s in row]
    params += [b for layer in d.layers for b in (layer.biases or [])]
    while True:
        with mpmath.workdps(DIGITS):
            pt = {s: mpmath.mpf(rng.randint(-1500, 1500)) / 1000 for s in list(d.inputs) + params}
            for t in d.targets:
                pt[t] = mpmath.mpf(rng.randint(50, 950)) / 1000
            if constrained:  # the derivation assumes the targets sum to one
                pt[d.targets[-1]] = 1 - sum(pt[t] for t in d.targets[:-1])
            pt[ETA] = mpmath.mpf(rng.randint(100, 900)) / 1000
            if d.spec.weight_decay:  # the decay coefficient λ
                pt[LAMBDA] = mpmath.mpf(rng.randint(100, 900)) / 1000
            for s in sorted(extra, key=str):
                pt[s] = mpmath.mpf(rng.randint(-1500, 1500)) / 1000
        yield pt


def kinks(d: Derivation) -> list[sp.Expr]:
    """Where the net's activations are not analytic, one expression per unit that changes sign there.

    A relu unit is a polynomial in its inputs on either side of a = 0 and a different one across it: points on
    one side only cannot tell a form that drops f' = H(a) from the right one. These are the arguments of
    Heaviside and the differences of Max in f and f', at each unit's pre-activation.
    """
    out = []
    for layer in d.layers:
        if layer.activation == "softmax":
            continue
        calc = calculus.elementwise(layer.activation)
        atoms = (calc.f + calc.fprime).atoms(sp.Heaviside, sp.Max)
        where = {a.args[0] if isinstance(a, sp.Heaviside) else a.args[0] - a.args[1] for a in atoms}
        where = sorted({-w if w.could_extract_minus_sign() else w for w in where}, key=str)  # H(a), Max(0, a): one
        out += [w.subs(calculus.A, a) for w in where for a in layer.a]
    return out


def sample(d: Derivation, seed: str, constrained: bool) -> tuple[list[Env], list[Env]]:
    """The points a net's forms are compared at, and their environments.

    :data:`N_POINTS` points on a net of analytic activations. With kinks (:func:`kinks`) at least
    :data:`KINKED_POINTS`, and more, up to :data:`MAX_POINTS`, until every kink has been seen on both sides.
    """
    where = kinks(d)
    if not where:
        pts = points(d, seed, set(), constrained)
        return pts, [environment(d, pt) for pt in pts]
    draw = _draws(d, seed, set(), constrained)
    pts, envs, signs = [], [], {w: set() for w in where}
    while len(pts) < MAX_POINTS and (len(pts) < KINKED_POINTS or any(len(v) < 2 for v in signs.values())):
        pts.append(next(draw))
        envs.append(environment(d, pts[-1]))
        for w in where:
            signs[w].add(evaluate(w, envs[-1]) > 0)
    return pts, envs


def environment(d: Derivation, pt: Env) -> Env:
    """The value of every canonical symbol at ``pt`` (forward pass, then the δ forms backwards)."""
    env = dict(pt)
    for layer in d.layers:
        for aj, pre in zip(layer.a, layer.pre):
            env[aj] = evaluate(pre, env)
        for out, act in zip(layer.out, layer.act):
            env[out] = evaluate(act, env)
    for layer in reversed(d.layers):
        for dj, form in zip(layer.delta, layer.delta_forms):
            env[dj] = evaluate(form, env)
    return env


_FUNCS = {sp.exp: mpmath.exp, sp.log: mpmath.log, sp.tanh: mpmath.tanh}


def evaluate(expr: sp.Expr, env: Env) -> mpmath.mpf:
    """``expr`` at ``env`` to :data:`DIGITS` digits, by walking the expression tree."""
    memo: dict[sp.Expr, mpmath.mpf] = {}

    def ev(e: sp.Expr) -> mpmath.mpf:
        if e in memo:
            return memo[e]
        if e.is_Symbol:
            v = env[e]
        elif e.is_Rational:
            v = mpmath.mpf(e.p) / e.q
        elif e.is_Float:
            v = mpmath.mpf(str(e))
        elif e.is_Add:
            v = mpmath.fsum(ev(a) for a in e.args)
        elif e.is_Mul:
            v = mpmath.fprod(ev(a) for a in e.args)
        elif e.is_Pow:
            v = ev(e.base) ** ev(e.exp)
        elif e.func in _FUNCS:
            v = _FUNCS[e.func](ev(e.args[0]))
        elif isinstance(e, sp.Max):
            v = max(ev(a) for a in e.args)
        elif isinstance(e, sp.Heaviside):
            x = ev(e.args[0])
            v = mpmath.mpf(1) if x > 0 else mpmath.mpf(0) if x < 0 else mpmath.mpf(1) / 2
        elif e in (sp.pi, sp.E):
            v = mpmath.mpf(sp.N(e, DIGITS + 5))
        else:
            raise ValueError(f"cannot evaluate {e.func.__name__}")
        memo[e] = v
        return v

    try:
        with mpmath.workdps(DIGITS):
            result = ev(sp.sympify(expr))
    except (OverflowError, ZeroDivisionError):
        raise ValueError("the form has no finite real value at a test point") from None
    if not isinstance(result, mpmath.mpf) or not mpmath.isfinite(result):
        raise ValueError("the form has no finite real value at a test point")
    return result


def close(a: mpmath.mpf, b: mpmath.mpf) -> bool:
    with mpmath.workdps(DIGITS):
        return abs(a - b) <= TOLERANCE * max(1, abs(b))


def scaled(c: sp.Rational, v: mpmath.mpf) -> mpmath.mpf:
    """c * v for an exact rational c, at full precision."""
    c = sp.Rational(c)
    with mpmath.workdps(DIGITS):
        return mpmath.mpf(c.p) / c.q * v


def short(v: mpmath.mpf) -> float:
    return float(mpmath.nstr(v, 10))
