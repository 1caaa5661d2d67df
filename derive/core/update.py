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

Adam (Kingma and Ba 2015, Algorithm 1) keeps two moving averages per parameter, of the
gradient g and of its square, corrects both for their start at zero and divides:
m(t) = β1 m(t−1) + (1−β1) g, v(t) = β2 v(t−1) + (1−β2) g², m̂(t) = m(t)/(1−β1^t),
v̂(t) = v(t)/(1−β2^t), Δθ(t) = −η m̂(t)/(√v̂(t) + ε). With weight decay g is the gradient of
E + Ω, so the penalty goes through the moments (L2 in the loss, not the decoupled AdamW).
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


#: Adam's decay rates of the first and second moment estimates and its constant added to √v̂
BETA1 = sp.Symbol("beta_1", positive=True)
BETA2 = sp.Symbol("beta_2", positive=True)
EPSILON = sp.Symbol("epsilon", positive=True)
#: Adam's scalars, by the key a notation names their letters with (``Notation.adam_letter``)
ADAM_SCALARS = {BETA1: "beta1", BETA2: "beta2", EPSILON: "epsilon"}


class Increment(sp.Function):
    """Δθ: the change one step makes to a parameter θ (θ_new = θ + Δθ); Δθ(t) with a step argument."""

    nargs = (1, 2)


class MomentBase(sp.Function):
    """An estimate Adam keeps for a parameter θ at step t: MomentBase(θ, t); subclasses name which."""

    nargs = 2
    #: the key of the letter in ``Notation.adam_letter``, and whether it is bias-corrected (a hat)
    letter = "m"
    corrected = False


class FirstMoment(MomentBase):
    """m_θ(t): the moving average of the gradient of θ."""


class SecondMoment(MomentBase):
    """v_θ(t): the moving average of the squared gradient of θ."""

    letter = "v"


class FirstMomentHat(MomentBase):
    """m̂_θ(t): the first moment corrected for its start at zero."""

    corrected = True


class SecondMomentHat(MomentBase):
    """v̂_θ(t): the second moment corrected for its start at zero."""

    letter = "v"
    corrected = True


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


#: Adam's equations of one parameter, in the order the document numbers them: (id part, title words)
ADAM_PARTS = (
    ("m", "first moment"),
    ("v", "second moment"),
    ("mhat", "corrected first moment"),
    ("vhat", "corrected second moment"),
)


def adam(spec: NetworkSpec, first: int = 1, penalties: Penalties | None = None) -> list[Equation]:
    """Adam, Kingma and Ba (2015), Algorithm 1, numbered from ``first``: five equations per parameter.

    For each parameter of :func:`gradient_descent` (weights and biases of each layer, from the
    output down) with g its gradient (plus λθ with weight decay): the moments m(t) and v(t), their
    bias corrections m̂(t) and v̂(t), and the change Δθ(t) = −η m̂(t)/(√v̂(t) + ε), whose id is
    the same ``update-w-l`` as in the other rules; the others are ``update-m-w-l`` and so on.

    >>> from derive.spec import make_spec
    >>> [e.id for e in adam(make_spec("2-2", optimizer="adam"))][:5]
    ['update-m-w-1', 'update-v-w-1', 'update-mhat-w-1', 'update-vhat-w-1', 'update-w-1']
    >>> adam(make_spec("2-2", optimizer="adam"))[4].rhs
    -eta*FirstMomentHat(w_1[idx1, idx0], t)/(epsilon + sqrt(SecondMomentHat(w_1[idx1, idx0], t)))
    """
    found = []
    for eq in gradient_descent(spec, 1, penalties):
        theta = parameter(eq)
        g = objective_gradient(theta, penalties)
        m, v = FirstMoment(theta, STEP), SecondMoment(theta, STEP)
        m_hat, v_hat = FirstMomentHat(theta, STEP), SecondMomentHat(theta, STEP)
        rhs = {
            "m": BETA1 * FirstMoment(theta, STEP - 1) + (1 - BETA1) * g,
            "v": BETA2 * SecondMoment(theta, STEP - 1) + (1 - BETA2) * g**2,
            "mhat": m / (1 - BETA1**STEP),
            "vhat": v / (1 - BETA2**STEP),
        }
        lhs = {"m": m, "v": v, "mhat": m_hat, "vhat": v_hat}
        kind = eq.id[len("update-") :]  # w-2, b-2
        gradient = eq.title.replace(" update,", " gradient,")  # weight gradient, layer 2
        for part, words in ADAM_PARTS:
            found.append((f"update-{part}-{kind}", f"{words} of the {gradient}", lhs[part], rhs[part]))
        change = -ETA * m_hat / (sp.sqrt(v_hat) + EPSILON)
        found.append((eq.id, eq.title, Increment(theta, STEP), change))
    return [Equation(eq_id, first + n, title, lhs, rhs) for n, (eq_id, title, lhs, rhs) in enumerate(found)]


#: the update equations of each optimiser of :data:`derive.spec.OPTIMIZERS`
RULES = {"sgd": gradient_descent, "momentum": momentum, "adam": adam}


def equations(spec: NetworkSpec, first: int = 1, penalties: Penalties | None = None) -> list[Equation]:
    """The update equations of the spec's optimiser, numbered from ``first`` (``penalties``: weight decay)."""
    return RULES[spec.optimizer](spec, first, penalties)


def parameter(eq: Equation) -> sp.Expr:
    """The parameter an update equation changes (the argument of its Δ, or of Adam's moment)."""
    return eq.lhs.args[0]


def adam_groups(eqs: list[Equation]) -> dict[str, list[str]]:
    """The ids of Adam's equations among ``eqs`` by part (m, v, mhat, vhat, and change for Δθ), in order."""
    groups: dict[str, list[str]] = {part: [] for part, _ in ADAM_PARTS} | {"change": []}
    for e in eqs:
        if isinstance(e.lhs, Increment):
            groups["change"].append(e.id)
        elif isinstance(e.lhs, MomentBase):
            groups[e.id.split("-")[1]].append(e.id)
    return groups


def changes(eqs: list[Equation]) -> list[Equation]:
    """The equations among ``eqs`` that give a parameter's change Δθ (not Adam's moments)."""
    return [e for e in eqs if isinstance(e.lhs, Increment)]
