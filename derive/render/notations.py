"""The notation presets of the document, as data.

Each preset is the keyword arguments of a :class:`Notation`.
Its LaTeX patterns use the fields ``l`` (layer), ``j`` (unit), ``i`` (source
unit), ``ji`` (both indices in the order the notation writes them), ``L``
(number of weight layers) and ``sup`` (a layer superscript only when there are
several hidden layers); see :func:`layer_fields`.

Most presets write every role the same way: a letter, a layer superscript on
the roles that have a layer, the unit as subscript, and the vector as the
letter in a bold font. :func:`preset` fills those tables from a preset's
letters, so a preset states only its letters and what does not follow the rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sympy as sp

from derive.core import naming

#: The letter of every role (the keys are :data:`derive.core.naming.ROLES`, in that order).
LETTERS = {"x": "x", "a": "a", "z": "z", "y": "y", "t": "t", "w": "w", "b": "b", "delta": r"\delta"}
#: The roles that carry a layer superscript.
LAYERED = ("a", "z", "w", "b", "delta")
#: The layer superscript most presets write: a^{(l)}.
PAREN = "^{(%(l)s)}"

_GREEK = re.compile(r"\\[a-z]+")


def preset(
    key: str,
    title: str,
    letters: dict[str, str] | None = None,
    sup: str = PAREN,
    font: str = r"\mathbf",
    patterns: dict[str, str] | None = None,
    vectors: dict[str, str] | None = None,
    **options: object,
) -> dict[str, object]:
    r"""The fields of one notation, its tables filled from its letters.

    Role r is written ``letter + sup + _{j}`` (a weight ``_{ji}``), its vector
    ``font{letter} + sup``, with ``sup`` only on the roles in :data:`LAYERED`;
    the weight matrix takes the capital letter, and a Greek letter is bold in
    ``\boldsymbol`` (``\mathbf`` cannot bold it). ``patterns`` and ``vectors``
    replace the entries that do not follow this rule; ``options`` are the
    other fields of the notation, unchanged.
    """
    names = {**LETTERS, **(letters or {})}
    table, vecs = {}, {}
    for role, letter in names.items():
        s = sup if role in LAYERED else ""
        table[role] = letter + s + ("_{%(ji)s}" if role == "w" else "_{%(j)s}")
        v = letter.upper() if role == "w" else letter
        bold = r"\boldsymbol" if font == r"\mathbf" and _GREEK.fullmatch(v) else font
        vecs[role] = (f"{bold}{{{v}}}" if bold else v) + s
    return {
        "key": key,
        "title": title,
        "letters": names,
        "patterns": {**table, **(patterns or {})},
        "vectors": {**vecs, **(vectors or {})},
        **options,
    }


BISHOP = preset(
    "bishop",
    "Bishop, Pattern Recognition and Machine Learning, section 5.3",
    citation="C. M. Bishop (2006), section 5.3",
)

NIELSEN = preset(
    "nielsen",
    "Nielsen, Neural Networks and Deep Learning, chapter 2",
    letters={"a": "z", "z": "a", "y": "a", "t": "y"},
    sup="^{%(l)s}",
    font="",
    patterns={"y": "a^{%(L)s}_{%(j)s}"},
    vectors={"y": "a^{%(L)s}", "w": "w^{%(l)s}"},
    error="C",
    activation=r"\sigma",
    index_letters="kjmnpqrs",
    generic_letters="kjk",
    # his input layer is layer 1, so his first weights are w^2; his w^l_{jk} runs from unit k of layer l-1 to unit j
    layer_offset=1,
    relative_indices=True,
    citation="M. Nielsen (2015), chapter 2",
    signal="Nielsen's error of the unit",
    note=r"Nielsen's cost $C$ is averaged over a mini-batch of $m$ samples, so his update divides by $m$.",
)

GOODFELLOW = preset(
    "goodfellow",
    "Goodfellow, Bengio and Courville, Deep Learning, algorithms 6.3 and 6.4",
    letters={"z": "h", "y": r"\hat{y}", "t": "y", "w": "W", "delta": "g"},
    font=r"\boldsymbol",
    vectors={"y": r"\hat{\boldsymbol{y}}"},
    error="L",
    rate=r"\epsilon",
    activation="f",
    citation="I. Goodfellow, Y. Bengio, A. Courville (2016), section 6.5",
    signal="in Goodfellow et al., the gradient on the unit's pre-activation",
    note=r"Goodfellow's $\boldsymbol{a}$ is the pre-activation (Nielsen's $a$ is the activation); "
    r"$g^{(k)}_j$ here is $\partial L/\partial a^{(k)}_j$, the running gradient $\boldsymbol{g}$ of algorithm 6.4 "
    r"just after it has been multiplied by $f'(\boldsymbol{a}^{(k)})$.",
)

SEED000 = preset(
    "seed000",
    "seed 000, Derivation of Backpropagation (net, a, w_kj, w_ji)",
    source="the lecture notes “Derivation of Backpropagation”",
    letters={"a": r"\mathrm{net}", "z": "a", "y": "a"},
    patterns={"y": "a^{(%(L)s)}_{%(j)s}"},
    vectors={"a": r"\mathbf{net}^{(%(l)s)}", "y": r"\mathbf{a}^{(%(L)s)}"},
    rate=r"\varepsilon",
    activation="f",
    note=r"These notes write their output error as $(t - a)$, so their $\delta$ is $-\partial E/\partial \mathrm{net}$ "
    r"and their update $\Delta w = \varepsilon\,\delta\,a$ adds; here $\delta = +\partial E/\partial \mathrm{net}$ "
    r"and the update subtracts. The notes tell layers apart by the index letter alone; here a layer superscript does.",
)

SEED003 = preset(
    "seed003",
    "seed 003, Van Veen's slides (x, h, d-hat, w, v)",
    source="the lecture slides “The Backpropagation Algorithm for Training Neural Networks”",
    # the seed names no pre-activation: s hidden, r output
    letters={"a": "s", "z": "h", "y": r"\hat{d}", "t": "d", "delta": r"\gamma"},
    sup="%(sup)s",
    patterns={"w": "w%(sup)s_{%(j)s,%(i)s}"},
    vectors={"y": r"\hat{\mathbf{d}}"},
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
    note=r"The slides have no symbol for a pre-activation ($s$ and $r$ here) and no biases ($b$, $c$ here); "
    r"their hidden $\gamma$ is written with the already-updated weights $v^{t+1}$, which is wrong (section on the "
    r"algorithm), and their $\sigma'(z) = 1/(1+e^{-z})^2$ is wrong: $\sigma'(z) = e^{-z}/(1+e^{-z})^2$.",
)

SEED004 = preset(
    "seed004",
    "seed 004, A Peek into the Mathematics of Optimization (row vectors, w_ij, u_ij)",
    source="the lecture slides “Backpropagation: A Peek into the Mathematics of Optimization”",
    letters={"z": "h"},
    # the hidden activations and weights carry a superscript only when there are several hidden layers
    patterns={"z": "h%(sup)s_{%(j)s}", "w": "w%(sup)s_{%(ji)s}"},
    vectors={"z": r"\mathbf{h}%(sup)s", "w": r"\mathbf{W}%(sup)s"},
    top={"w": "u_{%(ji)s}", "vec:w": r"\mathbf{U}"},
    error="L",
    activation=r"\sigma",
    weight_order="ij",
    note=r"The slides index a weight from its source: $w_{ij}$ runs from unit $i$ to unit $j$, and write "
    r"layers as row vectors, $a^{(1)} = x w + b^{(1)}$. Their matrix is the transpose of the one used here.",
)

#: Every preset, in the order the document lists them.
PRESETS = (BISHOP, NIELSEN, GOODFELLOW, SEED000, SEED003, SEED004)


# --------------------------------------------------------------------------
# Notation presets. Each is a table of %-format patterns with the fields
#   l (layer), j (unit), i (source unit), ji (both indices in the order the
#   notation writes them), L (number of weight layers)
# plus plain strings for the error, learning rate and derivative of f.
# The presets themselves are the data above.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Notation:
    """One notation preset: how each role is written in LaTeX."""

    key: str
    title: str
    patterns: dict[str, str]
    #: the bare letter of each role, for sentences ("solving a = σ(z)"); keys as in :data:`LETTERS`
    letters: dict[str, str] = field(default_factory=lambda: dict(LETTERS))
    error: str = "E"
    rate: str = r"\eta"
    activation: str = "h"  # name of the activation function in generic formulas
    weight_order: str = "ji"  # "ji": w_{to,from} (Bishop); "ij": w_{from,to}
    index_letters: str = "ijkmnpqr"  # generic indices, input layer first; no l, which names layers
    #: the unit indices of layers l-1, l and l+1 in the rules for a general layer l
    generic_letters: str = "ijk"
    #: the number the source gives the input layer (Nielsen counts it as layer 1, so his first weights are w^2)
    layer_offset: int = 0
    #: unit indices named by their place relative to the layer a formula is about (the letters of
    #: ``generic_letters``: Nielsen's w^l_{jk} for every layer), not by the layer they run over
    relative_indices: bool = False
    citation: str = ""
    #: the source as a reader would cite it (the title when empty)
    source: str = ""
    #: patterns that replace ``patterns`` in the output layer (seed 003 calls those weights v)
    top: dict[str, str] = field(default_factory=dict)
    #: vectors and matrices of one layer (``w`` is the weight matrix), with the fields l, L, sup
    vectors: dict[str, str] = field(default_factory=dict)
    #: how the source's conventions differ from this document's (sign of δ, update rule)
    note: str = ""
    #: what the source calls the error signal, plain text (said where the document defines it)
    signal: str = ""

    @property
    def cited(self) -> str:
        """The source's name in a sentence."""
        return self.source or self.title

    def layer_name(self, layer: int) -> int:
        """The number the source gives a layer the derivation numbers ``layer`` (the inputs are 0 there)."""
        return layer + self.layer_offset

    def layer_fields(self, layer: int, n_layers: int) -> dict[str, str]:
        """The layer fields of a pattern, in the source's numbering."""
        return layer_fields(self.layer_name(layer), n_layers, self.layer_offset)

    def index_letter(self, level: int, summation: bool = False, focus: int | None = None) -> str:
        """The letter of the index over the units of layer ``level`` in a formula about layer ``focus``.

        >>> n = NOTATIONS["nielsen"]
        >>> n.index_letter(1, focus=2), n.index_letter(2, focus=2), n.index_letter(3, focus=2)
        ('k', 'j', 'k')
        >>> NOTATIONS["bishop"].index_letter(1, focus=2), NOTATIONS["bishop"].index_letter(2, True)
        ('j', "k'")
        """
        place = None if focus is None else level - focus + 1
        if self.relative_indices and place is not None and 0 <= place < len(self.generic_letters):
            letter = self.generic_letters[place]
        else:
            letter = self.index_letters[level % len(self.index_letters)]
        return letter + ("'" if summation else "")

    def pattern(self, role: str, layer: int, n_layers: int, vector: bool = False) -> str:
        """The pattern of a role in one layer (the output layer may have its own)."""
        key = f"vec:{role}" if vector else role
        if layer == n_layers and key in self.top:
            return self.top[key]
        return (self.vectors if vector else self.patterns)[role]

    def latex(self, sym: sp.Symbol, n_layers: int) -> str:
        """LaTeX for one canonical symbol."""
        meta = naming.info(sym, n_layers)
        fields = self.layer_fields(meta.layer, n_layers)
        idx = [str(k) for k in meta.indices]
        sep = "," if any(len(k) > 1 for k in idx) else ""
        fields["j"] = idx[0]
        if len(idx) == 2:
            fields["i"] = idx[1]
            pair = idx if self.weight_order == "ji" else idx[::-1]
            fields["ji"] = sep.join(pair)
        return self.pattern(meta.role, meta.layer, n_layers) % fields


def layer_fields(layer: int, n_layers: int, offset: int = 0) -> dict[str, str]:
    """The layer fields of a pattern; ``sup`` is a layer superscript only when there are several hidden layers.

    ``layer`` is already in the source's numbering; ``offset`` is the number of its input layer, so the
    top layer ``L`` is ``n_layers + offset``.
    """
    sup = "^{(%d)}" % layer if n_layers > 2 else ""
    return {"l": str(layer), "L": str(n_layers + offset), "sup": sup}


def equation_focus(lhs: sp.Basic, rhs: sp.Basic) -> int | None:
    """The layer an equation is about: its left side's (its right side's when the left has no unit index)."""
    found = focus_of(lhs)
    return focus_of(rhs) if found is None else found


def focus_of(expr: sp.Basic) -> int | None:
    """The layer a formula is about: the layer of the first unit index of its first indexed symbol.

    In ``δ_j = h'(a_j) Σ_k w_kj δ_k`` (a δ on the left) that is the δ's layer; a formula whose
    indices all belong to a sum over one layer is about that layer.
    """
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Indexed):
            for k in node.indices:
                found = naming.index_level(k)
                if found:
                    return found[0]
    return None


#: All presets by key; each is one table of the data above.
NOTATIONS: dict[str, Notation] = {fields["key"]: Notation(**fields) for fields in PRESETS}
