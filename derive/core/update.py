"""The update equations: how one step of the optimiser changes every weight and bias.

Plain gradient descent moves each parameter against its gradient,
Δw_ji = −η ∂E/∂w_ji, one equation per layer for the weights and one for the
biases, in the generic indices of :mod:`derive.core.rules`. The document
prints whatever update equations the Derivation carries (its algorithm
section is not written for one optimiser), and the generated trainer cites
their numbers on its update lines. Another optimiser adds its own equations
here, as a function of the spec returning :class:`~derive.core.model.Equation`.

With weight decay every optimiser descends on J = E + Ω instead of E: the
gradient ∂E/∂θ in its equations becomes ∂E/∂θ + ∂Ω/∂θ, with ∂Ω/∂θ the term
:func:`derive.core.rules.penalty_equations` derived (λθ), so
Δw = −η (∂E/∂w + λ w) (Goodfellow et al. 2016, eq. 7.5) and momentum adds
α Δw(t−1) to that.
"""

from __future__ import annotations

import sympy as sp

from derive.core import naming
from derive.core.model import Equation
from derive.spec import NetworkSpec

#: the learning rate η (printed as each notation's own letter)
ETA = sp.Symbol("eta", positive=True)
#: the error E of one sample (or of the batch, as the document defines it)
ERROR = sp.Symbol("E")
#: the momentum α: the fraction of the previous change that the next one keeps
ALPHA = sp.Symbol("alpha", nonnegative=True)
#: the step counter t of an iterative update
STEP = sp.Symbol("t", integer=True)


class Increment(sp.Function):
    """Δθ: the change one step makes to a parameter θ (θ_new = θ + Δθ); Δθ(t) with a step argument."""

    nargs = (1, 2)


Penalties = dict[sp.Expr, sp.Expr]


def objective_gradient(theta: sp.Expr, penalties: Penalties | None = None) -> sp.Expr:
    """∂E/∂θ, plus the derived penalty gradient ∂Ω/∂θ when θ's layer and kind are decayed."""
    return sp.Derivative(ERROR, theta) + (penalties or {}).get(theta, 0)


def gradient_descent(spec: NetworkSpec, first: int = 1, penalties: Penalties | None = None) -> list[Equation]:
    """The update equations of plain gradient descent, numbered from ``first``.

    For each weight layer l (from the output down, the order the document
    lists the gradients in): Δw^(l)_ji = −η ∂E/∂w^(l)_ji and, with biases,
    Δb^(l)_j = −η ∂E/∂b^(l)_j. ``penalties`` maps a generic parameter to its derived ∂Ω/∂θ
    (weight decay), which joins ∂E/∂θ inside the bracket.

    >>> from derive.spec import make_spec
    >>> [e.id for e in gradient_descent(make_spec("2-3-2"), first=10)]
    ['update-w-2', 'update-b-2', 'update-w-1', 'update-b-1']
    >>> e = gradient_descent(make_spec("2-3-2"))[0]
    >>> e.number, e.lhs, e.rhs
    (1, Increment(w_2[idx2, idx1]), -eta*Derivative(E, w_2[idx2, idx1]))
    """
    found: list[tuple[str, str, sp.Expr, sp.Expr]] = []
    for l in range(spec.n_layers, 0, -1):
        j, i = naming.index(l), naming.index(l - 1)
        w = naming.indexed("w", l)[j, i]
        grad = objective_gradient(w, penalties)
        found.append((f"update-w-{l}", f"weight update, layer {l}", Increment(w), -ETA * grad))
        if spec.bias:
            b = naming.indexed("b", l)[j]
            grad = objective_gradient(b, penalties)
            found.append((f"update-b-{l}", f"bias update, layer {l}", Increment(b), -ETA * grad))
    return [Equation(eq_id, first + n, title, lhs, rhs) for n, (eq_id, title, lhs, rhs) in enumerate(found)]


def momentum(spec: NetworkSpec, first: int = 1, penalties: Penalties | None = None) -> list[Equation]:
    """Gradient descent with momentum, Rumelhart, Hinton and Williams (1986), eq. 9, numbered from ``first``.

    Δw(t) = −η ∂E/∂w(t) + α Δw(t−1): each step is the gradient step plus the
    fraction α of the previous step. It is plain gradient descent with one
    more term, so the equations are those of :func:`gradient_descent` with Δθ
    taken at step t and α Δθ(t−1) added.

    >>> from derive.spec import make_spec
    >>> e = momentum(make_spec("2-3-2", optimizer="momentum"))[0]
    >>> e.lhs, e.rhs
    (Increment(w_2[idx2, idx1], t), alpha*Increment(w_2[idx2, idx1], t - 1) - eta*Derivative(E, w_2[idx2, idx1]))
    """
    found = []
    for eq in gradient_descent(spec, first, penalties):
        theta = parameter(eq)
        lhs = Increment(theta, STEP)
        found.append(Equation(eq.id, eq.number, eq.title, lhs, eq.rhs + ALPHA * Increment(theta, STEP - 1)))
    return found


#: the update equations of each optimiser of :data:`derive.spec.OPTIMIZERS`
RULES = {"sgd": gradient_descent, "momentum": momentum}


def equations(spec: NetworkSpec, first: int = 1, penalties: Penalties | None = None) -> list[Equation]:
    """The update equations of the spec's optimiser, numbered from ``first`` (``penalties``: weight decay)."""
    return RULES[spec.optimizer](spec, first, penalties)


def parameter(eq: Equation) -> sp.Expr:
    """The parameter an update equation changes (the argument of its Δ)."""
    return eq.lhs.args[0]
