"""The derived update rule on numbers: what an algorithm's steps are compared with.

:mod:`derive.core.update` writes each optimiser's update as equations Δθ = rhs
in the generic indices of a layer (plain descent: Δθ = −η ∂E/∂θ; momentum,
Rumelhart, Hinton and Williams 1986 eq. 9: Δθ(t) = −η ∂E/∂θ(t) + α Δθ(t−1)).
Here each right-hand side becomes a template in the gradient, the previous
change Δθ(t−1) and θ itself, and :func:`run` applies it to every parameter,
step after step: each step's gradients come from the weights of that step,
θ(t+1) = θ(t) + Δθ(t), and Δθ(t) is kept as the next step's Δθ(t−1) (the state
of momentum). With weight decay the gradient is that of E + Ω in every
optimiser, as :mod:`derive.core.update` writes it: the δ form plus the derived
penalty term λθ (:func:`derive.core.rules.penalty_gradient`, the term
:func:`derive.diff.truth.penalty_term` adds to a gradient form). :func:`variants`
applies one known mistake to the rule, so that an algorithm that follows a
wrong rule can be named.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass

import mpmath
import sympy as sp

from derive.core import naming, update
from derive.core.model import Derivation
from derive.core.rules import penalty_gradient
from derive.diff.layers import ETA
from derive.diff.numbers import DIGITS, N_POINTS, Env, environment, evaluate

#: Placeholders of a template: the gradient ∂E/∂θ, the previous change Δθ(t−1), the parameter θ.
GRAD, PREV, THETA = sp.Symbol("grad"), sp.Symbol("prev"), sp.Symbol("theta")
#: Adam's placeholders: its moments m(t−1) and v(t−1) of the parameter; the step t is update.STEP.
M_PREV, V_PREV = sp.Symbol("m_prev"), sp.Symbol("v_prev")
#: Adam's scalars, sampled at each point beside η
ADAM_SCALARS = (update.BETA1, update.BETA2, update.EPSILON)
#: Steps a rule with state is run for (one step cannot tell whether the state is carried on).
STATEFUL_STEPS = 3


@dataclass(frozen=True)
class Rule:
    """One optimiser's Δθ for each (role, layer) of parameter, as a template in GRAD, PREV, THETA, η, α."""

    optimizer: str
    templates: dict[tuple[str, int], sp.Expr]
    keeps: bool = True  # Δθ(t) becomes the next step's Δθ(t−1)
    decay: bool = False  # the gradient is that of E + Ω (weight decay), as the network's spec says
    #: Adam: the new moments (m(t), v(t)) of each (role, layer), templates in GRAD, M_PREV, V_PREV and β1, β2;
    #: the change's template then reads M_PREV, V_PREV and the step t (update.STEP) as well
    moments: dict[tuple[str, int], tuple[sp.Expr, sp.Expr]] | None = None

    @property
    def stateful(self) -> bool:
        return self.moments is not None or any(PREV in t.free_symbols for t in self.templates.values())

    @property
    def steps(self) -> int:
        return STATEFUL_STEPS if self.stateful else 1

    def text(self) -> str:
        """The rule in words, from one of its templates (all layers share the form)."""
        if self.moments is not None:
            gradient = "∂(E + Ω)/∂θ" if self.decay else "∂E/∂θ"
            return (
                f"Adam (Kingma and Ba 2015, Algorithm 1) with g = {gradient}: m(t) = β1 m(t−1) + (1 − β1) g, "
                "v(t) = β2 v(t−1) + (1 − β2) g², Δθ(t) = −η m̂(t)/(√v̂(t) + ε) with m̂ = m/(1 − β1^t), "
                "v̂ = v/(1 − β2^t), θ ← θ + Δθ"
            )
        words = {
            GRAD: sp.Symbol("∂(E + Ω)/∂θ" if self.decay else "∂E/∂θ"),
            PREV: sp.Symbol("Δθ(t−1)"),
            THETA: sp.Symbol("θ"),
            ETA: sp.Symbol("η"),
            update.ALPHA: sp.Symbol("α"),
        }
        template = next(iter(self.templates.values()))
        terms = sorted(sp.Add.make_args(template), key=lambda term: GRAD not in term.free_symbols)  # gradient first
        text = " + ".join(sp.sstr(term.xreplace(words), order="none").replace("*", " ") for term in terms)
        return f"Δθ{'(t)' if self.stateful else ''} = {text.replace('+ -', '− ').replace('-', '−')}, θ ← θ + Δθ"


def rule(d: Derivation, optimizer: str) -> Rule:
    """The update rule ``optimizer`` as :mod:`derive.core.update` derives it for ``d``'s network."""
    spec = dataclasses.replace(d.spec, optimizer=optimizer)
    if optimizer == "adam":
        return _adam(d, spec)
    templates = {}
    for eq in update.equations(spec):
        theta = update.parameter(eq)
        role, layer = naming.indexed_info(theta.base, spec.n_layers)
        rhs = eq.rhs.xreplace(
            {sp.Derivative(update.ERROR, theta): GRAD, update.Increment(theta, update.STEP - 1): PREV}
        ).xreplace({theta: THETA})
        unknown = rhs.free_symbols - {GRAD, PREV, THETA, ETA, update.ALPHA}
        if unknown or rhs.has(sp.Derivative, update.Increment):
            raise ValueError(f"the {optimizer} rule of {eq.id} has terms the diff cannot run on numbers: {rhs}")
        templates[(role, layer)] = rhs
    return Rule(optimizer, templates, decay=d.spec.weight_decay)


def _adam(d: Derivation, spec) -> Rule:
    """Adam's rule: its five equations per parameter substituted into the new moments and the change."""
    t = update.STEP
    by_theta: dict[sp.Expr, dict] = {}
    for eq in update.equations(spec):
        by_theta.setdefault(update.parameter(eq), {})[type(eq.lhs)] = eq.rhs
    templates, moments = {}, {}
    for theta, rhs in by_theta.items():
        role, layer = naming.indexed_info(theta.base, spec.n_layers)
        names = {
            sp.Derivative(update.ERROR, theta): GRAD,
            update.FirstMoment(theta, t - 1): M_PREV,
            update.SecondMoment(theta, t - 1): V_PREV,
        }
        m = rhs[update.FirstMoment].xreplace(names)
        v = rhs[update.SecondMoment].xreplace(names)
        m_hat = rhs[update.FirstMomentHat].xreplace({update.FirstMoment(theta, t): m})
        v_hat = rhs[update.SecondMomentHat].xreplace({update.SecondMoment(theta, t): v})
        change = rhs[update.Increment].xreplace(
            {update.FirstMomentHat(theta, t): m_hat, update.SecondMomentHat(theta, t): v_hat}
        )
        known = {GRAD, M_PREV, V_PREV, THETA, ETA, t, *ADAM_SCALARS}
        for expr in (m, v, change):
            if expr.free_symbols - known or expr.has(sp.Derivative, update.Increment, update.MomentBase):
                raise ValueError(f"the adam rule of {theta} has terms the diff cannot run on numbers: {expr}")
        templates[(role, layer)] = change
        moments[(role, layer)] = (m, v)
    return Rule("adam", templates, decay=d.spec.weight_decay, moments=moments)


#: Mistakes in an update rule (ids of compare.MISTAKES, texts in truth.MOMENTUM_MISTAKES): each applied to a template.
MISTAKES = {
    "dropped_sign": lambda t: t.xreplace({ETA: -ETA}),  # a step up the gradient
    "momentum_on_gradient": lambda t: t.xreplace({PREV: GRAD}),
    "momentum_on_weight": lambda t: t.xreplace({PREV: THETA}),
}
#: The mistake of a rule with state whose steps never store the change they made.
NOT_KEPT = "increment_not_kept"


def variants(r: Rule) -> list[tuple[str, Rule]]:
    """(mistake id, the rule with that mistake) for every mistake that changes ``r``."""
    out = []
    if r.moments is not None:
        return _adam_variants(r)
    for mistake, apply in MISTAKES.items():
        templates = {k: apply(t) for k, t in r.templates.items()}
        if templates != r.templates:
            out.append((mistake, dataclasses.replace(r, templates=templates)))
    if r.stateful:
        out.append((NOT_KEPT, dataclasses.replace(r, keeps=False)))
    return out


#: Mistakes in Adam's rule (texts in truth.ADAM_MISTAKES): each applied to the change's template.
ADAM_MISTAKES = {
    # m/(√v + ε) with the raw moments: the first steps, from m = v = 0, come out too short
    "adam_no_bias_correction": lambda t: t.xreplace({update.BETA1**update.STEP: 0, update.BETA2**update.STEP: 0}),
    # −η m̂/√(v̂ + ε): ε added under the root instead of to it
    "adam_epsilon_inside_root": lambda t: t.replace(
        lambda e: e.is_Add and update.EPSILON in e.args and any(a.is_Pow and a.exp == sp.S.Half for a in e.args),
        lambda e: sp.sqrt(sum((a.base if a.is_Pow and a.exp == sp.S.Half else a) for a in e.args)),
    ),
}


def _adam_variants(r: Rule) -> list[tuple[str, Rule]]:
    out = []
    for mistake, apply in {"dropped_sign": MISTAKES["dropped_sign"], **ADAM_MISTAKES}.items():
        templates = {k: apply(t) for k, t in r.templates.items()}
        if templates != r.templates:
            out.append((mistake, dataclasses.replace(r, templates=templates)))
    out.append((NOT_KEPT_MOMENTS, dataclasses.replace(r, keeps=False)))
    return out


#: The mistake of an Adam whose steps never store the moments they computed.
NOT_KEPT_MOMENTS = "adam_moments_not_kept"


def gradient_rule(d: Derivation):
    """(parameter, δ symbol, input symbol or None) for every weight and bias.

    The gradient of a parameter is δ_j · input_i (``Parameter.gradient``); it is
    read from the layers so that a large, lazily built Derivation is not expanded.
    """
    for layer in d.layers:
        for j, row in enumerate(layer.weights):
            for i, w in enumerate(row):
                yield w, layer.delta[j], layer.inputs[i]
        for j, b in enumerate(layer.biases or []):
            yield b, layer.delta[j], None


@dataclass
class AdamState:
    """Adam's state between steps: the moments m and v of every parameter, and the steps taken."""

    m: Env
    v: Env
    t: int


def adam_starts(d: Derivation, seed: str, n: int = N_POINTS) -> list[tuple[Env, AdamState]]:
    """(β1, β2, ε by symbol; a state) for ``n`` points: β in (0, 1), ε in (0, 0.1), m in [-0.5, 0.5],
    v in [0, 0.5], t from 0 to 3 steps taken (t = 0 with zero moments is the real start, drawn once in four)."""
    rng = random.Random(f"{seed}:adam")
    out = []
    with mpmath.workdps(DIGITS):
        for _ in range(n):
            scalars = {
                update.BETA1: mpmath.mpf(rng.randint(100, 950)) / 1000,
                update.BETA2: mpmath.mpf(rng.randint(100, 999)) / 1000,
                update.EPSILON: mpmath.mpf(rng.randint(1, 100)) / 1000,
            }
            steps = rng.randint(0, 3)
            syms = [sym for sym, _, _ in gradient_rule(d)]
            m = {sym: mpmath.mpf(rng.randint(-500, 500)) / 1000 if steps else mpmath.mpf(0) for sym in syms}
            v = {sym: mpmath.mpf(rng.randint(0, 500)) / 1000 if steps else mpmath.mpf(0) for sym in syms}
            out.append((scalars, AdamState(m, v, steps)))
    return out


def starts(d: Derivation, seed: str, n: int = N_POINTS) -> list[tuple[mpmath.mpf, Env]]:
    """(α, Δθ(t−1) of every parameter) for ``n`` sample points: α in (0, 1), changes in [-0.5, 0.5]."""
    rng = random.Random(f"{seed}:momentum")
    out = []
    with mpmath.workdps(DIGITS):
        for _ in range(n):
            alpha = mpmath.mpf(rng.randint(100, 900)) / 1000
            prev = {sym: mpmath.mpf(rng.randint(-500, 500)) / 1000 for sym, _, _ in gradient_rule(d)}
            out.append((alpha, prev))
    return out


def _step_gradients(d: Derivation, env: Env, now: Env, penalty: dict):
    """Each parameter of one step, with the (role, layer) key of its rule and its gradient g: its δ times
    its input (a bias: times 1), plus the penalty's derived λθ at the step's own weights under weight decay."""
    for sym, delta, source in gradient_rule(d):
        info = naming.info(sym, d.spec.n_layers)
        term = penalty.get(sym, 0)
        with mpmath.workdps(DIGITS):
            grad = env[delta] * (1 if source is None else env[source])
            grad += evaluate(term, now) if term != 0 else 0
        yield sym, (info.role, info.layer), grad


def _walk(r: Rule, d: Derivation, pt: Env, env: Env, changes) -> list[Env]:
    """The parameters after each of ``r.steps`` steps from ``pt`` (``env``: its forward and δ values).

    ``changes(params, gradients)`` gives one step's change of every parameter from the step's
    :func:`_step_gradients`, carrying whatever state its rule keeps from step to step.
    """
    params = {sym: pt[sym] for sym, _, _ in gradient_rule(d)}
    penalty = {sym: penalty_gradient(d, sym) for sym in params} if d.spec.weight_decay else {}
    after = []
    for step in range(r.steps):
        now = {**pt, **params}
        if step:
            env = environment(d, now)
        change = changes(params, _step_gradients(d, env, now, penalty))
        with mpmath.workdps(DIGITS):
            params = {sym: params[sym] + change[sym] for sym in params}
        after.append(params)
    return after


def run_adam(r: Rule, d: Derivation, pt: Env, env: Env, state: AdamState) -> list[Env]:
    """The parameters after each of ``r.steps`` Adam steps from ``pt`` and ``state`` (``env``: pt's forward and δ
    values; β1, β2 and ε are in ``pt``). Each step's gradient is taken at its own weights, with the penalty's λθ
    under weight decay, as in :func:`run`."""

    def changes(params: Env, gradients) -> Env:
        nonlocal state
        t = state.t + 1
        change, m, v = {}, {}, {}
        for sym, key, grad in gradients:
            values = {GRAD: grad, THETA: params[sym], ETA: pt[ETA], M_PREV: state.m[sym], V_PREV: state.v[sym]}
            values |= {s: pt[s] for s in ADAM_SCALARS} | {update.STEP: mpmath.mpf(t)}
            change[sym] = evaluate(r.templates[key], values)
            m[sym], v[sym] = (evaluate(moment, values) for moment in r.moments[key])
        state = AdamState(m, v, t) if r.keeps else AdamState(state.m, state.v, t)
        return change

    return _walk(r, d, pt, env, changes)


def run(r: Rule, d: Derivation, pt: Env, env: Env, prev: Env) -> list[Env]:
    """The parameters after each of ``r.steps`` steps from ``pt`` (``env``: its forward and δ values).

    With weight decay (``d.spec.weight_decay``) each gradient is that of E + Ω at the step's own
    weights: the δ form plus the derived penalty term λθ (zero for a parameter Ω leaves out).
    """

    def changes(params: Env, gradients) -> Env:
        nonlocal prev
        change = {}
        for sym, key, grad in gradients:
            values = {GRAD: grad, THETA: params[sym], ETA: pt[ETA]}
            if sym in prev:  # a rule with state reads these; without them evaluate() names what is missing
                values[PREV] = prev[sym]
            if update.ALPHA in pt:
                values[update.ALPHA] = pt[update.ALPHA]
            change[sym] = evaluate(r.templates[key], values)
        prev = change if r.keeps else prev
        return change

    return _walk(r, d, pt, env, changes)
