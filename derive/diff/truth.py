"""The truth side of the textbook diff: what each target is in the Derivation, and mistake models.

:func:`truth` gives, in canonical symbols, the quantity a form claims to be
(a δ, a gradient, a weight step, f'). :func:`variants` lists the f' mistake
models the diff can name; :func:`chain` recomputes every δ at a point under
one of them, so that a form can be tested against "the correct value with this
mistake made".
:data:`DECAY_MISTAKES` and :data:`MOMENTUM_MISTAKES` are the weight-decay and
momentum mistakes with their texts, :data:`ADAM_MISTAKES` Adam's.
"""

from __future__ import annotations

import sympy as sp

from derive.core import activations, calculus, naming, rules
from derive.core.decay import LAMBDA
from derive.diff.layers import ETA
from derive.diff.numbers import Env, evaluate

# --------------------------------------------------------------------------
# The truth side: the Derivation's quantities, and the same with a mistake in f'
# --------------------------------------------------------------------------


def _fprime(ctx, l: int, j: int) -> sp.Expr:
    layer = ctx.d.layers[l - 1]
    return calculus.elementwise(layer.activation).fprime.subs(calculus.A, layer.a[j - 1])


def chain(ctx, F, env: Env) -> Env:
    """``env`` with every δ recomputed when f'(a_lj) is replaced by F(l, j) (a mistake model)."""
    d, out = ctx.d, dict(env)
    for layer in reversed(d.layers):
        for j, dj in enumerate(layer.delta, 1):
            if layer.is_output:
                out[dj] = evaluate(d.dE_dy[j - 1] * F(layer.index, j), out)
            else:
                nxt = d.layers[layer.index]
                back = sp.Add(*[nxt.weights[k][j - 1] * nxt.delta[k] for k in range(nxt.n_out)])
                out[dj] = evaluate(F(layer.index, j) * back, out)
    return out


#: The weight-decay mistakes the diff names: (factor of the derived penalty term, whether an undecayed
#: bias gets the term its square would give) and what the mistake is.
DECAY_MISTAKES = {
    "decay_sign_flipped": (
        (-1, False),
        "The weight-decay term has the wrong sign: descent on E + (λ/2) Σ w² subtracts ηλw from each weight, "
        "and this form adds it, so the weights grow.",
    ),
    "decay_halved": (
        (sp.Rational(1, 2), False),
        "The weight-decay term is (λ/2) w: the ½ of the penalty (λ/2) w² is left in, but the derivative of "
        "(λ/2) w² is λw (the 2 of the square cancels it).",
    ),
    "decay_missing": (
        (0, False),
        "The weight-decay term λw is missing: this is the gradient of E alone, not of E + (λ/2) Σ w².",
    ),
    "decayed_biases": (
        (1, True),
        "The bias is decayed too (its step has a term λb), but the penalty (λ/2) Σ w² here holds the weights "
        "only, as is usual; a bias only shifts a unit's operating point.",
    ),
}

#: The mistakes in an update with momentum that the algorithm diff names (:mod:`derive.diff.rule` applies
#: each to the derived rule) and what each is; a sign error there is ``dropped_sign``, whose text is general.
MOMENTUM_MISTAKES = {
    "momentum_on_gradient": "Momentum: α multiplies the gradient ∂E/∂w where the previous change Δw(t−1) "
    "belongs (Δw(t) = −η ∂E/∂w(t) + α Δw(t−1)).",
    "momentum_on_weight": "Momentum: α multiplies the old weight w(t) where the previous change Δw(t−1) belongs.",
    "increment_not_kept": "Momentum: the change Δw(t) of a step is not stored, so the next step adds α times "
    "an older change instead of Δw(t).",
}


#: The mistakes in Adam that the algorithm diff names (:mod:`derive.diff.rule` applies each to the derived
#: rule) and what each is.
ADAM_MISTAKES = {
    "adam_no_bias_correction": "Adam: the moments are used without the bias correction m̂ = m/(1 − β1^t), "
    "v̂ = v/(1 − β2^t), so the first steps, from m = v = 0, come out too short.",
    "adam_epsilon_inside_root": "Adam: ε is added under the square root, √(v̂ + ε), where Algorithm 1 adds it "
    "to the root, √v̂ + ε.",
    "adam_moments_not_kept": "Adam: the moments m(t) and v(t) of a step are not stored, so the next step "
    "averages into older moments.",
}


def penalty_term(ctx, target: str, l: int, units: tuple) -> sp.Expr:
    """∂Ω/∂θ of the parameter a gradient or update form is about: the derived λθ, or 0 without decay."""
    theta = naming.symbol("w" if target.endswith("_w") else "b", l, *units)
    return rules.penalty_gradient(ctx.d, theta)


def truth(ctx, target: str, l: int, units: tuple, F=None, free=None, decay=None) -> sp.Expr:
    """The quantity a form claims to be, at layer l and units ``units``, in canonical symbols.

    With weight decay a gradient is that of E + Ω, and an update descends on it. ``decay`` is a
    mistake model of :data:`DECAY_MISTAKES`: (factor of the penalty's term, whether an undecayed
    bias gets the term its square in the penalty would give).
    """
    d = ctx.d
    layer = d.layers[l - 1]
    j = units[0] if units else None
    if target == "sigmoid_prime":
        return (F or (lambda z: calculus.elementwise("sigmoid").fprime.subs(calculus.A, z)))(free)
    if target == "fprime":
        return (F or (lambda l_, j_: _fprime(ctx, l_, j_)))(l, j)
    if target == "dE_dy" or (target == "dE_dout" and layer.is_output):
        return d.dE_dy[j - 1]
    if target == "dE_dout":
        nxt = d.layers[l]
        return sp.Add(*[nxt.weights[k][j - 1] * nxt.delta[k] for k in range(nxt.n_out)])
    if target == "delta":
        return layer.delta[j - 1]
    grad = layer.delta[j - 1] * (layer.inputs[units[1] - 1] if target in ("grad_w", "update_w") else 1)
    scale, bias_decay = decay or (1, False)
    term = penalty_term(ctx, target, l, units)
    grad += scale * term
    if bias_decay and target.endswith("_b") and term == 0:
        b = naming.symbol("b", l, *units)
        grad += sp.diff(LAMBDA / 2 * b**2, b)
    return -ETA * grad if target.startswith("update") else grad


def variants(ctx):
    """(mistake id, F for units or None, F for a free z or None) for every f' mistake model."""
    d = ctx.d
    L = d.spec.n_layers
    yield "sigmoid_derivative_squared", None, lambda z: activations.ELEMENTWISE["sigmoid"](z) ** 2
    yield "derivative_of_preactivation", None, lambda z: z * (1 - z)
    if any(layer.activation == "softmax" for layer in d.layers):
        return
    scopes = {"output": {L}, "hidden": set(range(1, L)), "all": set(range(1, L + 1))}

    def model(kind: str, layers: set[int]):
        def F(l: int, j: int) -> sp.Expr:
            layer = d.layers[l - 1]
            a, out = layer.a[j - 1], layer.out[j - 1]
            if l in layers and kind == "sigmoid_derivative_squared" and layer.activation == "sigmoid":
                return out**2
            if l in layers and kind == "derivative_of_preactivation" and layer.fprime_out is not None:
                return layer.fprime_out.subs(calculus.Y, a)
            if l in layers and kind == "canonical_link_outside":
                return sp.Integer(1)
            return _fprime(ctx, l, j)

        return F

    yield "canonical_link_outside", model("canonical_link_outside", {L}), None
    if L > 1:  # f' left out of the hidden deltas (the same model, on the hidden layers)
        yield "missing_derivative", model("canonical_link_outside", scopes["hidden"]), None
    for kind in ("sigmoid_derivative_squared", "derivative_of_preactivation"):
        for scope in ("output", "hidden", "all"):
            if scopes[scope]:
                yield kind, model(kind, scopes[scope]), None


def canonical_name(ctx, target: str, l: int, units: tuple) -> str:
    if target == "sigmoid_prime":
        return "sigma'(z)"
    if target in ("grad_w", "update_w"):
        return f"{target}({naming.name('w', l, *units)})"
    role = {"delta": "delta", "fprime": "a", "dE_dy": "y", "dE_dout": "z", "grad_b": "b", "update_b": "b"}[target]
    role = "y" if role == "z" and l == ctx.d.spec.n_layers else role
    return f"{target}({naming.name(role, l, *units)})"
