"""Symbol naming: the one place that knows what every symbol is called.

Inside the derivation every symbol has a canonical SymPy name built from a role,
a layer and unit indices (1-based, as in the document):

========  ======================  ==========================================
role      name                    meaning
========  ======================  ==========================================
x         ``x_i``                 input unit i (layer 0)
a         ``a_l_j``               pre-activation of unit j in layer l
z         ``z_l_j``               output of hidden unit j in layer l
y         ``y_k``                 output unit k (layer L)
t         ``t_k``                 target for output k
w         ``w_l_j_i``             weight from unit i of layer l-1 to unit j of layer l
b         ``b_l_j``               bias of unit j in layer l
delta     ``delta_l_j``           dE/da_l_j
========  ======================  ==========================================

The generated trainer uses the same names for its scalar variables, so the
code reads next to the document. How a symbol is *printed* depends on the
notation preset, a rendering choice (:mod:`derive.render.notations`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp

ROLES = ("x", "a", "z", "y", "t", "w", "b", "delta")
#: A canonical symbol name: a role, then its layer and unit numbers (``w_2_1_3``).
NAME_RE = re.compile(r"(x|a|z|y|t|w|b|delta)((?:_[0-9]+)+)")
#: A generic index: ``idx1`` runs over the units of layer 1; ``idx1p`` is a second one (a summation variable).
INDEX_RE = re.compile(r"idx([0-9]+)(p?)")


@dataclass(frozen=True)
class SymbolInfo:
    """What a canonical symbol stands for."""

    role: str
    layer: int  # 0 for inputs, L for outputs/targets
    indices: tuple[int, ...]  # (j,) for units, (j, i) for weights


def name(role: str, layer: int, *indices: int) -> str:
    """Canonical symbol name.

    >>> name("w", 2, 1, 3), name("x", 0, 2), name("y", 2, 1)
    ('w_2_1_3', 'x_2', 'y_1')
    """
    if role not in ROLES:
        raise KeyError(role)
    if role in ("x", "y", "t"):
        return f"{role}_" + "_".join(str(i) for i in indices)
    return f"{role}_{layer}_" + "_".join(str(i) for i in indices)


def symbol(role: str, layer: int, *indices: int) -> sp.Symbol:
    """The SymPy symbol for a role; inputs, weights, biases and targets are real."""
    return sp.Symbol(name(role, layer, *indices), real=True)


def indexed(role: str, layer: int) -> sp.IndexedBase:
    """The indexed family of a role in one layer, for generic per-layer rules.

    >>> indexed("w", 2)[sp.Symbol("k"), sp.Symbol("j")]
    w_2[k, j]
    """
    return sp.IndexedBase(family(role, layer), real=True)


def index(level: int) -> sp.Symbol:
    """The generic index running over the units of layer ``level`` (0 = inputs)."""
    return sp.Symbol(f"idx{level}", integer=True, positive=True)


def summation_index(level: int) -> sp.Symbol:
    """A second index over the units of layer ``level``, for a sum beside :func:`index`."""
    return sp.Symbol(f"idx{level}p", integer=True, positive=True)


def index_level(sym: sp.Basic) -> tuple[int, bool] | None:
    """(layer, is a summation index) of a generic index; None for any other symbol.

    >>> index_level(index(2)), index_level(summation_index(0)), index_level(sp.Symbol("k"))
    ((2, False), (0, True), None)
    """
    m = INDEX_RE.fullmatch(sym.name) if isinstance(sym, sp.Symbol) else None
    return (int(m.group(1)), bool(m.group(2))) if m else None


def family(role: str, layer: int) -> str:
    """The name of a role's values in one layer, as arrays are keyed by numeric code (``w_2``, ``z_1``, ``x``).

    >>> family("w", 2), family("x", 0), family("y", 3)
    ('w_2', 'x', 'y')
    """
    return role if role in ("x", "y", "t") else f"{role}_{layer}"


def parameter_key(role: str, layer: int) -> str:
    """The trainer's key of a layer's weights or biases (``W2``, ``b2``), as in DESIGN's trainer contract.

    >>> parameter_key("w", 2), parameter_key("b", 1)
    ('W2', 'b1')
    """
    if role not in ("w", "b"):
        raise KeyError(role)
    return ("W" if role == "w" else "b") + str(layer)


def parameter_position(sym: sp.Symbol) -> tuple[str, tuple[int, ...]]:
    """The trainer key and 0-based array index of a weight or bias symbol.

    >>> parameter_position(sp.Symbol("w_2_1_3"))
    ('W2', (0, 2))
    """
    meta = info(sym, 0)
    return parameter_key(meta.role, meta.layer), tuple(k - 1 for k in meta.indices)


def indexed_info(base: sp.IndexedBase, n_layers: int) -> tuple[str, int]:
    """(role, layer) of an indexed family made by :func:`indexed`."""
    parts = str(base).split("_")
    if parts[0] == "x":
        return "x", 0
    if parts[0] in ("y", "t"):
        return parts[0], n_layers
    return parts[0], int(parts[1])


def info(sym: sp.Symbol, n_layers: int) -> SymbolInfo:
    """Decode a canonical symbol name (``n_layers`` places outputs and targets).

    >>> info(sp.Symbol("w_2_1_3"), 2)
    SymbolInfo(role='w', layer=2, indices=(1, 3))
    """
    m = NAME_RE.fullmatch(sym.name)
    if not m:
        raise KeyError(sym.name)
    role, nums = m.group(1), tuple(int(p) for p in m.group(2)[1:].split("_"))
    if role == "x":
        return SymbolInfo(role, 0, nums)
    if role in ("y", "t"):
        return SymbolInfo(role, n_layers, nums)
    return SymbolInfo(role, nums[0], nums[1:])


def role(sym: sp.Basic, n_layers: int) -> str | None:
    """The role of a canonical symbol (``"a"`` for ``a_2_1``); None for anything else (η, a free name)."""
    if not isinstance(sym, sp.Symbol):
        return None
    try:
        return info(sym, n_layers).role
    except KeyError:
        return None
