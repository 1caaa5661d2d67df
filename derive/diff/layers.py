"""Where a textbook form lives: layer specs, the layers a form's target runs over, and the errors.

A form names layers relative to the layer ``l`` it is checked on (``"l+1"``,
``"L-1"``, ``0`` for the inputs); :func:`layer_number` reads such a spec and
:func:`target_layers` lists the layers a form applies to. The exceptions say
why a form cannot be put on a network's units. :data:`ETA` is the learning
rate every source's step size stands for.
"""

from __future__ import annotations

import re

import sympy as sp

from derive.diff.catalog.sources import Form

ETA = sp.Symbol("eta", positive=True)
_LAYER_RE = re.compile(r"\s*(l|L|[0-9]+)\s*(?:([+-])\s*([0-9]+))?\s*")


class NotApplicable(Exception):
    """The form does not exist on this architecture (e.g. names unit 3 of a 2-unit layer)."""


class Undefined(Exception):
    """A literal reading names a weight that does not exist (transposed indices)."""


class FormError(ValueError):
    """The form is inconsistent with its own declarations."""


def layer_number(spec: str | int, l: int, L: int, what: str = "layer") -> int:
    """A layer spec (``"l+1"``, ``"L"``, ``0``) as a number.

    >>> layer_number("l-1", 2, 2), layer_number("L", 1, 3), layer_number(0, 1, 2)
    (1, 3, 0)
    """
    if isinstance(spec, int):
        return spec
    m = _LAYER_RE.fullmatch(str(spec))
    if not m:
        raise FormError(f"{what}: bad layer {spec!r}; write l, l-1, l+1, L, L-1 or a layer number (0 = inputs)")
    base = {"l": l, "L": L}.get(m.group(1))
    n = int(m.group(1)) if base is None else base
    if m.group(2):
        n = n + int(m.group(3)) if m.group(2) == "+" else n - int(m.group(3))
    return n


def target_layers(form: Form, L: int) -> list[int]:
    """The layers l a form's target runs over on a net with L weight layers."""
    if form.layer == "output":
        return [L]
    if form.layer == "hidden":
        return list(range(1, L))
    if form.layer == "all":
        return list(range(1, L + 1))
    n = layer_number(form.layer, L, L)
    return [n] if 1 <= n <= L else []
