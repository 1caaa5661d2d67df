"""Stage 3's entry point: prove every parameter of a Derivation and say how, in words a user reads.

Nets derived unit by unit are proved parameter by parameter against ``sympy.diff``
of the fully expanded error (:mod:`derive.prove.symbolic`); nets on the per-layer
route layer by layer by directional derivatives at random points
(:mod:`derive.prove.directional`).
"""

from __future__ import annotations

from derive.core.model import Derivation
from derive.progress import Progress
from derive.prove import directional, general, steps, symbolic
from derive.prove.symbolic import VerificationError

__all__ = ["METHODS", "VerificationError", "summary", "verify"]

#: How each proof method reads in the one-line summary (CLI, formulas.json, the document's appendix).
METHODS = {
    "symbolic": "symbolically",
    "symbolic-lemma": "symbolically with the activation lemma",
    "symbolic-simplify": "symbolically after simplify",
    "random-points": "at random points to 40 digits",
    directional.METHOD: "by directional derivatives at random points",
}


def summary(counts: dict[str, int], per_layer: bool) -> str:
    """The one-line account of a proof, e.g. ``17 parameters proved: 17 symbolically``.

    >>> summary({"symbolic": 12, "random-points": 5}, False)
    '17 parameters proved: 5 at random points to 40 digits, 12 symbolically'
    >>> summary({"directional": 2410}, True)
    '2410 parameters derived per layer and proved: 2410 by directional derivatives at random points'
    """
    total = sum(counts.values())
    how = ", ".join(f"{n} {METHODS[m]}" for m, n in sorted(counts.items()))
    route = " derived per layer and" if per_layer else ""
    return f"{total} parameters{route} proved: {how}"


def verify(d: Derivation, method: str | None = None) -> Derivation:
    """Prove every parameter of ``d`` and record how (mutates and returns ``d``).

    Args:
        d: a derivation from :func:`derive.core.symbolic.derive`.
        method: ``"symbolic"`` (per parameter, nets derived unit by unit) or ``"directional"``
            (per layer, by directional derivatives at random points); by default
            directional exactly when ``d.per_layer``.
    Returns:
        ``d`` with ``proof`` set on every parameter group and parameter
        (``expanded`` too, for the symbolic method), ``proof_summary`` and ``general_proofs`` set.
    Raises:
        VerificationError: a δ form differs from the raw derivative.
        RuleMismatch: a general layer-l rule does not give this network's equations.
    """
    if method is None:
        method = directional.METHOD if d.per_layer else "symbolic"
    if method == directional.METHOD:
        counts = _verify_directional(d)
    elif method == "symbolic":
        if d.per_layer:
            raise ValueError("the symbolic proof needs a unit-by-unit derivation: derive(spec, per_layer=False)")
        counts = symbolic.prove_parameters(d)
    else:
        raise ValueError(f"unknown method {method!r}; valid: symbolic, {directional.METHOD}")
    d.proof_summary = summary(counts, d.per_layer)
    steps.prove(d)  # the derivations the document shows line by line
    return general.prove(d)  # the general layer-l rules against this network's equations


def _verify_directional(d: Derivation) -> dict[str, int]:
    """Check every parameter by random directions, per layer; return the method count."""
    progress = Progress("prove", len(d.parameters) * directional.N_POINTS)
    try:
        seen = directional.check(d, progress)
    except directional.CheckFailed as e:
        raise VerificationError(str(e)) from None
    finally:
        progress.close()
    by_layer = directional.proofs(d, seen)
    for g in d.parameter_groups:
        g.proof = by_layer[g.layer]
    if not d.per_layer:
        for p in d.parameters:
            p.proof = by_layer[p.layer]
    return {directional.METHOD: len(d.parameters)}
