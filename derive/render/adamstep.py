"""Adam's steps on the worked example's numbers, by the Derivation's own update equations.

Kingma and Ba's Algorithm 1 starts from m(0) = v(0) = 0 and takes its first step at t = 1. Nothing of
Adam is written here: each of the five equations of a parameter family (its moments, their
corrections and the change Δθ, :func:`derive.core.update.adam`) is compiled as SymPy gave it, with
∂E/∂θ, θ, the moments of step t − 1 and those the earlier equations of the step computed as arrays,
and η, β1, β2, ε, λ and t as numbers. An equation that holds a symbol the example does not know is a
bug and raises.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from derive.core import decay, update
from derive.core.model import Derivation, Equation

#: the parts of one parameter's step, in the order of its equations: moments, corrections, the change Δθ
PARTS = ("m", "v", "mhat", "vhat", "change")
#: the scalars of a step, in the order :meth:`Rule.step` passes them to the compiled equations
SCALARS = (update.ETA, update.BETA1, update.BETA2, update.EPSILON, decay.LAMBDA, update.STEP)


def key(eq: Equation) -> str:
    """The trainer's array of the parameters an update equation changes (``update-m-w-2`` -> ``W2``)."""
    kind, layer = eq.id.split("-")[-2:]
    return ("W" if kind == "w" else "b") + layer


def family(d: Derivation, change: Equation) -> dict[str, Equation]:
    """The five equations of the parameter family whose change is ``change`` (``update-w-2``), by part."""
    kind = change.id[len("update-") :]
    return {part: d.equation(f"update-{part}-{kind}") for part in PARTS[:-1]} | {"change": change}


def scalars(lr: float, beta1: float, beta2: float, eps: float, lam: float, t: int = 1) -> dict[sp.Symbol, float]:
    """The numbers of a step's scalar symbols: η, β1, β2, ε, λ and the step t."""
    return dict(zip(SCALARS, (lr, beta1, beta2, eps, lam, t)))


class Rule:
    """Adam's equations of every parameter family of ``d``, each compiled once (numpy, elementwise)."""

    def __init__(self, d: Derivation):
        self.families: list[tuple[str, list[tuple[str, sp.Expr, object]]]] = []
        for change in update.changes(d.equations):
            theta = update.parameter(change)
            eqs = family(d, change)
            arrays = [
                sp.Derivative(update.ERROR, theta),
                theta,
                update.FirstMoment(theta, update.STEP - 1),
                update.SecondMoment(theta, update.STEP - 1),
            ] + [eqs[part].lhs for part in PARTS[:-1]]
            slots = {expr: sp.Dummy(f"s{n}") for n, expr in enumerate(arrays)}
            args = [*slots.values(), *SCALARS]
            compiled = []
            for part in PARTS:
                expr = eqs[part].rhs.xreplace(slots)
                if not expr.free_symbols <= set(args):
                    raise AssertionError(
                        f"{eqs[part].id}: {expr.free_symbols - set(args)} has no number in the example"
                    )
                compiled.append((part, sp.lambdify(args, expr, "numpy")))
            self.families.append((key(change), compiled))

    def step(
        self,
        params: dict[str, np.ndarray],
        grads: dict[str, np.ndarray],
        state: dict[str, dict[str, np.ndarray]] | None,
        numbers: dict[sp.Symbol, float],
        rates: dict[str, float],
    ) -> dict[str, dict[str, np.ndarray]]:
        """m, v, m̂, v̂ and Δθ of every array at step ``numbers[t]``, from the moments of the step before.

        ``grads`` is ∂E/∂θ (the equations add λθ, with λ = ``rates[k]``); ``state`` the ``m`` and ``v`` of the
        step before (None: zero, the start); ``numbers`` gives η, β1, β2, ε and t (:func:`scalars`).
        """
        out: dict[str, dict[str, np.ndarray]] = {part: {} for part in PARTS}
        for k, compiled in self.families:
            zeros = np.zeros_like(params[k])
            known = [grads[k], params[k], *((state[p][k] for p in "mv") if state else (zeros, zeros))]
            done = {part: zeros for part in PARTS[:-1]}  # filled in before use, in the equations' order
            for part, f in compiled:
                s = [numbers[sym] if sym is not decay.LAMBDA else rates[k] for sym in SCALARS]
                value = f(*known, *done.values(), *s)
                out[part][k] = done[part] = np.broadcast_to(np.asarray(value, float), params[k].shape).copy()
        return out


#: the Rules of the last few derivations, by identity (a build's example, learning rate and curves share one)
_RECENT: list[tuple[Derivation, list, Rule]] = []
_RECENT_SIZE = 4


def rule(d: Derivation) -> Rule:
    """The compiled :class:`Rule` of ``d``, kept for the next few calls (new equations get a new one)."""
    for known, eqs, compiled in _RECENT:
        if known is d and eqs is d.equations:
            return compiled
    compiled = Rule(d)
    _RECENT.insert(0, (d, d.equations, compiled))
    del _RECENT[_RECENT_SIZE:]
    return compiled


def first_step(
    d: Derivation,
    params: dict[str, np.ndarray],
    grads: dict[str, np.ndarray],
    rates: dict[str, float],
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
) -> dict[str, dict[str, np.ndarray]]:
    """m, v, m̂, v̂ and Δθ of every parameter array at t = 1, from m(0) = v(0) = 0 (:meth:`Rule.step`)."""
    return rule(d).step(params, grads, None, scalars(lr, beta1, beta2, eps, 0.0), rates)


def walker(d: Derivation, rates: dict[str, float], lr: float, beta1: float, beta2: float, eps: float):
    """``update(params, grads) -> params``: Adam's steps t = 1, 2, ... one per call, its moments kept between calls."""
    compiled = rule(d)
    state: dict = {"moments": None, "t": 0}

    def update_(params: dict, grads: dict) -> dict:
        state["t"] += 1
        out = compiled.step(params, grads, state["moments"], scalars(lr, beta1, beta2, eps, 0.0, state["t"]), rates)
        state["moments"] = out
        return {k: params[k] + out["change"][k] for k in params}

    return update_
