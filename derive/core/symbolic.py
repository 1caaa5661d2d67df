"""Stage 2: the symbolic core's entry point. Derives one network by the route it needs.

Small networks are derived unit by unit (:mod:`derive.core.units`); large ones,
and small ones whose symbolic proof would be slow, per layer with generic
indices (:mod:`derive.core.perlayer`). :mod:`derive.core.route` decides.
"""

from __future__ import annotations

from derive import progress
from derive.core import perlayer, route, steps, units
from derive.core.model import Derivation
from derive.spec import NetworkSpec


def derive(spec: NetworkSpec, per_layer: bool | None = None) -> Derivation:
    """Derive every δ and gradient of the network named by ``spec``.

    Args:
        spec: a validated NetworkSpec.
        per_layer: take the per-layer route (generic rules, per-weight objects built on demand); by
            default as :func:`derive.core.route.per_layer` decides.
    Returns:
        The Derivation (not yet verified; see :func:`derive.prove.symbolic.verify`).
    """
    if per_layer is None:
        per_layer = route.per_layer(spec)
    with progress.tracking("derive", route.work(spec, per_layer)):
        d = perlayer.derive_per_layer(spec) if per_layer else units.derive_units(spec)
    d.steps = steps.derive_steps(d)
    return d
