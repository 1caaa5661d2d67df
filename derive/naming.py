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
notation preset: presets are data tables in :data:`NOTATIONS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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


# --------------------------------------------------------------------------
# Notation presets. Each is a table of %-format patterns with the fields
#   l (layer), j (unit), i (source unit), ji (both indices in the order the
#   notation writes them), L (number of weight layers)
# plus plain strings for the error, learning rate and derivative of f.
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


BISHOP = Notation(
    key="bishop",
    title="Bishop, Pattern Recognition and Machine Learning, section 5.3",
    patterns={
        "x": "x_{%(j)s}",
        "a": "a^{(%(l)s)}_{%(j)s}",
        "z": "z^{(%(l)s)}_{%(j)s}",
        "y": "y_{%(j)s}",
        "t": "t_{%(j)s}",
        "w": "w^{(%(l)s)}_{%(ji)s}",
        "b": "b^{(%(l)s)}_{%(j)s}",
        "delta": r"\delta^{(%(l)s)}_{%(j)s}",
    },
    citation="C. M. Bishop (2006), section 5.3",
    vectors={
        "x": r"\mathbf{x}",
        "a": r"\mathbf{a}^{(%(l)s)}",
        "z": r"\mathbf{z}^{(%(l)s)}",
        "y": r"\mathbf{y}",
        "t": r"\mathbf{t}",
        "w": r"\mathbf{W}^{(%(l)s)}",
        "b": r"\mathbf{b}^{(%(l)s)}",
        "delta": r"\boldsymbol{\delta}^{(%(l)s)}",
    },
)

NIELSEN = Notation(
    key="nielsen",
    title="Nielsen, Neural Networks and Deep Learning, chapter 2",
    patterns={
        "x": "x_{%(j)s}",
        "a": "z^{%(l)s}_{%(j)s}",
        "z": "a^{%(l)s}_{%(j)s}",
        "y": "a^{%(L)s}_{%(j)s}",
        "t": "y_{%(j)s}",
        "w": "w^{%(l)s}_{%(ji)s}",
        "b": "b^{%(l)s}_{%(j)s}",
        "delta": r"\delta^{%(l)s}_{%(j)s}",
    },
    error="C",
    activation=r"\sigma",
    index_letters="kjmnpqrs",
    citation="M. Nielsen (2015), chapter 2",
    vectors={
        "x": "x",
        "a": "z^{%(l)s}",
        "z": "a^{%(l)s}",
        "y": "a^{%(L)s}",
        "t": "y",
        "w": "w^{%(l)s}",
        "b": "b^{%(l)s}",
        "delta": r"\delta^{%(l)s}",
    },
    note=r"Nielsen's cost $C$ is averaged over a mini-batch of $m$ samples, so his update divides by $m$.",
)

GOODFELLOW = Notation(
    key="goodfellow",
    title="Goodfellow, Bengio and Courville, Deep Learning, algorithms 6.3 and 6.4",
    patterns={
        "x": "x_{%(j)s}",
        "a": "a^{(%(l)s)}_{%(j)s}",
        "z": "h^{(%(l)s)}_{%(j)s}",
        "y": r"\hat{y}_{%(j)s}",
        "t": "y_{%(j)s}",
        "w": "W^{(%(l)s)}_{%(ji)s}",
        "b": "b^{(%(l)s)}_{%(j)s}",
        "delta": "g^{(%(l)s)}_{%(j)s}",
    },
    error="L",
    rate=r"\epsilon",
    activation="f",
    citation="I. Goodfellow, Y. Bengio, A. Courville (2016), section 6.5",
    vectors={
        "x": r"\boldsymbol{x}",
        "a": r"\boldsymbol{a}^{(%(l)s)}",
        "z": r"\boldsymbol{h}^{(%(l)s)}",
        "y": r"\hat{\boldsymbol{y}}",
        "t": r"\boldsymbol{y}",
        "w": r"\boldsymbol{W}^{(%(l)s)}",
        "b": r"\boldsymbol{b}^{(%(l)s)}",
        "delta": r"\boldsymbol{g}^{(%(l)s)}",
    },
    note=r"Goodfellow's $\boldsymbol{a}$ is the pre-activation (Nielsen's $a$ is the activation); "
    r"the running gradient $\boldsymbol{g}$ of algorithm 6.4 is this document's $\delta$ once it has been "
    r"multiplied by $f'$.",
)

SEED000 = Notation(
    key="seed000",
    title="seed 000, Derivation of Backpropagation (net, a, w_kj, w_ji)",
    patterns={
        "x": "x_{%(j)s}",
        "a": r"\mathrm{net}^{(%(l)s)}_{%(j)s}",
        "z": "a^{(%(l)s)}_{%(j)s}",
        "y": "a^{(%(L)s)}_{%(j)s}",
        "t": "t_{%(j)s}",
        "w": "w^{(%(l)s)}_{%(ji)s}",
        "b": "b^{(%(l)s)}_{%(j)s}",
        "delta": r"\delta^{(%(l)s)}_{%(j)s}",
    },
    rate=r"\varepsilon",
    activation="f",
    index_letters="ijkmnpqr",
    vectors={
        "x": r"\mathbf{x}",
        "a": r"\mathbf{net}^{(%(l)s)}",
        "z": r"\mathbf{a}^{(%(l)s)}",
        "y": r"\mathbf{a}^{(%(L)s)}",
        "t": r"\mathbf{t}",
        "w": r"\mathbf{W}^{(%(l)s)}",
        "b": r"\mathbf{b}^{(%(l)s)}",
        "delta": r"\boldsymbol{\delta}^{(%(l)s)}",
    },
    note=r"Seed 000 writes its output error as $(t - a)$, so its $\delta$ is $-\partial E/\partial \mathrm{net}$ "
    r"and its update $\Delta w = \varepsilon\,\delta\,a$ adds; here $\delta = +\partial E/\partial \mathrm{net}$ "
    r"and the update subtracts. The seed tells layers apart by the index letter alone; here a layer superscript does.",
)

SEED003 = Notation(
    key="seed003",
    title="seed 003, Van Veen's slides (x, h, d-hat, w, v)",
    patterns={
        "x": "x_{%(j)s}",
        "a": "s%(sup)s_{%(j)s}",  # the seed names no pre-activation; s hidden, r output
        "z": "h%(sup)s_{%(j)s}",
        "y": r"\hat{d}_{%(j)s}",
        "t": "d_{%(j)s}",
        "w": "w%(sup)s_{%(j)s,%(i)s}",
        "b": "b%(sup)s_{%(j)s}",
        "delta": r"\gamma%(sup)s_{%(j)s}",
    },
    top={
        "a": "r_{%(j)s}",
        "w": "v_{%(j)s,%(i)s}",
        "b": "c_{%(j)s}",
        "delta": r"\delta_{%(j)s}",
        "vec:w": r"\mathbf{V}",
        "vec:b": r"\mathbf{c}",
        "vec:delta": r"\boldsymbol{\delta}",
        "vec:a": r"\mathbf{r}",
    },
    error="f",
    rate=r"\alpha",
    activation=r"\sigma",
    index_letters="jmkpqrsu",
    vectors={
        "x": r"\mathbf{x}",
        "a": r"\mathbf{s}%(sup)s",
        "z": r"\mathbf{h}%(sup)s",
        "y": r"\hat{\mathbf{d}}",
        "t": r"\mathbf{d}",
        "w": r"\mathbf{W}%(sup)s",
        "b": r"\mathbf{b}%(sup)s",
        "delta": r"\boldsymbol{\gamma}%(sup)s",
    },
    note=r"Seed 003 has no symbol for a pre-activation ($s$ and $r$ here) and no biases ($b$, $c$ here); "
    r"its hidden $\gamma$ is written with the already-updated weights $v^{t+1}$, which is wrong (section on the "
    r"algorithm), and its $\sigma'(z) = 1/(1+e^{-z})^2$ is wrong: $\sigma'(z) = e^{-z}/(1+e^{-z})^2$.",
)

SEED004 = Notation(
    key="seed004",
    title="seed 004, A Peek into the Mathematics of Optimization (row vectors, w_ij, u_ij)",
    patterns={
        "x": "x_{%(j)s}",
        "a": "a^{(%(l)s)}_{%(j)s}",
        "z": "h%(sup)s_{%(j)s}",
        "y": "y_{%(j)s}",
        "t": "t_{%(j)s}",
        "w": "w%(sup)s_{%(ji)s}",
        "b": "b^{(%(l)s)}_{%(j)s}",
        "delta": r"\delta^{(%(l)s)}_{%(j)s}",
    },
    top={"w": "u_{%(ji)s}", "vec:w": r"\mathbf{U}"},
    error="L",
    activation=r"\sigma",
    weight_order="ij",
    vectors={
        "x": r"\mathbf{x}",
        "a": r"\mathbf{a}^{(%(l)s)}",
        "z": r"\mathbf{h}%(sup)s",
        "y": r"\mathbf{y}",
        "t": r"\mathbf{t}",
        "w": r"\mathbf{W}%(sup)s",
        "b": r"\mathbf{b}^{(%(l)s)}",
        "delta": r"\boldsymbol{\delta}^{(%(l)s)}",
    },
    note=r"Seed 004 indexes a weight from its source: $w_{ij}$ runs from unit $i$ to unit $j$, and writes "
    r"layers as row vectors, $a^{(1)} = x w + b^{(1)}$. Its matrix is the transpose of the one used here.",
)

#: All presets by key; each is one table.
NOTATIONS: dict[str, Notation] = {n.key: n for n in (BISHOP, NIELSEN, GOODFELLOW, SEED000, SEED003, SEED004)}


def latex_names(symbols: list[sp.Symbol], n_layers: int, notation: str = "bishop") -> dict[sp.Symbol, str]:
    """Map every canonical symbol to its LaTeX in a notation (for ``symbol_names=``)."""
    table = NOTATIONS[notation]
    return {s: table.latex(s, n_layers) for s in symbols}
