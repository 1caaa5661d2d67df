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
notation preset: presets are data tables in :mod:`derive.notations`, one
:class:`Notation` each in :data:`NOTATIONS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sympy as sp

from derive import notations

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


# --------------------------------------------------------------------------
# Notation presets. Each is a table of %-format patterns with the fields
#   l (layer), j (unit), i (source unit), ji (both indices in the order the
#   notation writes them), L (number of weight layers)
# plus plain strings for the error, learning rate and derivative of f.
# The presets themselves are data, in derive/notations.py.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Notation:
    """One notation preset: how each role is written in LaTeX."""

    key: str
    title: str
    patterns: dict[str, str]
    error: str = "E"
    rate: str = r"\eta"
    activation: str = "h"  # name of the activation function in generic formulas
    weight_order: str = "ji"  # "ji": w_{to,from} (Bishop); "ij": w_{from,to}
    index_letters: str = "ijkmnpqr"  # generic indices, input layer first; no l, which names layers
    citation: str = ""
    #: patterns that replace ``patterns`` in the output layer (seed 003 calls those weights v)
    top: dict[str, str] = field(default_factory=dict)
    #: vectors and matrices of one layer (``w`` is the weight matrix), with the fields l, L, sup
    vectors: dict[str, str] = field(default_factory=dict)
    #: how the source's conventions differ from this document's (sign of δ, update rule)
    note: str = ""

    def pattern(self, role: str, layer: int, n_layers: int, vector: bool = False) -> str:
        """The pattern of a role in one layer (the output layer may have its own)."""
        key = f"vec:{role}" if vector else role
        if layer == n_layers and key in self.top:
            return self.top[key]
        return (self.vectors if vector else self.patterns)[role]

    def latex(self, sym: sp.Symbol, n_layers: int) -> str:
        """LaTeX for one canonical symbol."""
        meta = info(sym, n_layers)
        fields = layer_fields(meta.layer, n_layers)
        idx = [str(k) for k in meta.indices]
        sep = "," if any(len(k) > 1 for k in idx) else ""
        fields["j"] = idx[0]
        if len(idx) == 2:
            fields["i"] = idx[1]
            pair = idx if self.weight_order == "ji" else idx[::-1]
            fields["ji"] = sep.join(pair)
        return self.pattern(meta.role, meta.layer, n_layers) % fields


def layer_fields(layer: int, n_layers: int) -> dict[str, str]:
    """The layer fields of a pattern; ``sup`` is a layer superscript only when there are several hidden layers."""
    sup = "^{(%d)}" % layer if n_layers > 2 else ""
    return {"l": str(layer), "L": str(n_layers), "sup": sup}


#: All presets by key; each is one table (the data is in :mod:`derive.notations`).
NOTATIONS: dict[str, Notation] = {fields["key"]: Notation(**fields) for fields in notations.PRESETS}


def latex_names(symbols: list[sp.Symbol], n_layers: int, notation: str = "bishop") -> dict[sp.Symbol, str]:
    """Map every canonical symbol to its LaTeX in a notation (for ``symbol_names=``)."""
    table = NOTATIONS[notation]
    return {s: table.latex(s, n_layers) for s in symbols}
