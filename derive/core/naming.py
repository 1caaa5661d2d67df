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
_NAME_RE = re.compile(r"(x|a|z|y|t|w|b|delta)((?:_[0-9]+)+)")


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
    base = role if role in ("x", "y", "t") else f"{role}_{layer}"
    return sp.IndexedBase(base, real=True)


def index(level: int) -> sp.Symbol:
    """The generic index running over the units of layer ``level`` (0 = inputs)."""
    return sp.Symbol(f"idx{level}", integer=True, positive=True)


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
    m = _NAME_RE.fullmatch(sym.name)
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
