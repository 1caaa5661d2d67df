"""L2 weight decay: the penalty Ω = (λ/2) Σ w² that ``--weight-decay`` adds to the error.

The objective of one step becomes J = E + Ω, where E is the error of the step
(the sum, or with ``--mean`` the mean, of the sample errors of a batch) and Ω
is added once per step, not once per sample nor divided by the batch size.
Only the weights are penalised unless ``--decay-biases`` asks for the biases
too: a bias moves one unit's operating point and does not grow with the
input, so penalising it mainly pulls units towards zero output
(Goodfellow et al., Deep Learning, section 7.1).

This module only writes Ω down, in the generic index form of
:mod:`derive.core.rules`; its gradient ∂Ω/∂θ is found there by ``sympy.diff``
of this sum, and the update equations of :mod:`derive.core.update` add it to
∂E/∂θ. The proof (:mod:`derive.prove`) compares the δ form plus that term
with ``sympy.diff`` of the fully expanded E + Ω.
"""

from __future__ import annotations

import sympy as sp

from derive.core import naming
from derive.spec import NetworkSpec

#: the decay coefficient λ (the trainer's ``weight_decay``)
LAMBDA = sp.Symbol("lambda", nonnegative=True)
#: the penalty Ω added to the error
OMEGA = sp.Symbol("Omega")


def decays(spec: NetworkSpec, kind: str) -> bool:
    """Whether the penalty includes the parameters of ``kind`` ("weight" or "bias")."""
    return spec.weight_decay and (kind == "weight" or (kind == "bias" and spec.bias and spec.decay_biases))


def penalty(spec: NetworkSpec, display: bool = False) -> sp.Expr:
    """Ω = (λ/2) Σ_l (Σ_j Σ_i (w^(l)_ji)² [+ Σ_j (b^(l)_j)²]), from the output layer down.

    ``display`` sums over each layer's own index letters (for the document); otherwise over
    summation indices distinct from them, so that the sum may be differentiated by w_ji.

    >>> from derive.spec import make_spec
    >>> penalty(make_spec("2-1", weight_decay=True))
    lambda*Sum(w_1[idx1p, idx0p]**2, (idx1p, 1, 1), (idx0p, 1, 2))/2
    """
    terms = []
    for l in range(spec.n_layers, 0, -1):
        pick = naming.index if display else naming.summation_index
        j, i = pick(l), pick(l - 1)
        if decays(spec, "weight"):
            terms.append(sp.Sum(naming.indexed("w", l)[j, i] ** 2, (j, 1, spec.sizes[l]), (i, 1, spec.sizes[l - 1])))
        if decays(spec, "bias"):
            terms.append(sp.Sum(naming.indexed("b", l)[j] ** 2, (j, 1, spec.sizes[l])))
    return LAMBDA / 2 * sp.Add(*terms)


def concrete_penalty(spec: NetworkSpec, parameters) -> sp.Expr:
    """Ω over concrete parameter symbols: (λ/2) times the sum of the squares of the decayed ones."""
    return LAMBDA / 2 * sp.Add(*[p.symbol**2 for p in parameters if decays(spec, p.kind)])
