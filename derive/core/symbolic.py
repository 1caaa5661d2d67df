"""Stage 2: the symbolic core's entry point. Derives one network by the route it needs.

Small networks are derived unit by unit (:mod:`derive.core.units`); large ones,
and small ones whose symbolic proof would be slow, per layer with generic
indices (:mod:`derive.core.perlayer`). :mod:`derive.core.route` decides.
"""

from __future__ import annotations

from derive import progress
from derive.core import perlayer, route, units
from derive.core.model import Derivation
from derive.spec import NetworkSpec


def derive(spec: NetworkSpec, lazy: bool | None = None) -> Derivation:
    """Derive every δ and gradient of the network named by ``spec``.

    Args:
        spec: a validated NetworkSpec.
        lazy: derive per layer and build per-weight objects on demand; by
            default as :func:`derive.core.route.per_layer` decides.
    Returns:
        The Derivation (not yet verified; see :func:`derive.prove.symbolic.verify`).
    """
    if lazy is None:
        lazy = route.per_layer(spec)
    with progress.tracking("derive", route.work(spec, lazy)):
        if lazy:
            return perlayer.derive_per_layer(spec)
        return units.derive_units(spec)
