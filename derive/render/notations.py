"""The notation presets of the document, as data.

Each preset is the keyword arguments of a :class:`Notation`.
Its LaTeX patterns use the fields ``l`` (layer), ``j`` (unit), ``i`` (source
unit), ``ji`` (both indices in the order the notation writes them), ``L``
(number of weight layers) and ``sup`` (a layer superscript only when there are
several hidden layers); see :func:`layer_fields`.

The presets themselves are data, in :mod:`derive.render.presets`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import sympy as sp

from derive.core import naming
from derive.render.presets import LETTERS, PRESETS

# --------------------------------------------------------------------------
# Notation presets. Each is a table of %-format patterns with the fields
#   l (layer), j (unit), i (source unit), ji (both indices in the order the
#   notation writes them), L (number of weight layers)
# plus plain strings for the error, learning rate and derivative of f.
# The presets themselves are the data of derive.render.presets.
# --------------------------------------------------------------------------


#: The name of each loss function in the prose of a notation that has none of its own.
LOSS_NAMES = {
    "sse": "sum-of-squares error",
    "mse": "mean squared error",
    "ce": "cross-entropy error",
    "bce": "binary cross-entropy error",
}


#: Adam's letters in Kingma and Ba (2015): the two moments, their decay rates and the constant below the step
ADAM_LETTERS = {"m": "m", "v": "v", "beta1": r"\beta_{1}", "beta2": r"\beta_{2}", "epsilon": r"\epsilon"}


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
    #: the name of δ in this notation's prose: singular, plural, and with its article
    term: str = "error signal"
    terms: str = "error signals"
    a_term: str = "an error signal"
    #: the source's word for the error function E (Nielsen's cost, Goodfellow's loss), in the prose
    cost: str = "error"
    #: the source's word for a unit's pre-activation (Nielsen's weighted input)
    pre: str = "pre-activation"
    #: the source's name of each loss function, where it has its own (keys: derive.spec's loss names)
    loss_names: dict[str, str] = field(default_factory=dict)
    #: the source's name in a table's column head (the key when empty)
    short: str = ""
    #: Adam's letters where the source has its own or the usual ones clash with its letters (keys as in
    #: :data:`ADAM_LETTERS`)
    adam: dict[str, str] = field(default_factory=dict)

    def adam_letter(self, key: str) -> str:
        """The letter of one of Adam's quantities (m, v, β1, β2, ε): the source's own, else Kingma and Ba's.

        ε is written ε̄ where the learning rate is already an ε.

        >>> NOTATIONS["bishop"].adam_letter("v"), NOTATIONS["goodfellow"].adam_letter("beta1")
        ('v', '\\\\rho_{1}')
        >>> NOTATIONS["seed000"].rate, NOTATIONS["seed000"].adam_letter("epsilon")
        ('\\\\varepsilon', '\\\\bar{\\\\epsilon}')
        """
        if key in self.adam:
            return self.adam[key]
        if key == "epsilon" and "epsilon" in self.rate:
            return r"\bar{\epsilon}"
        return ADAM_LETTERS[key]

    @property
    def name(self) -> str:
        """The source's name in a table's column head."""
        return self.short or self.key

    @property
    def cited(self) -> str:
        """The source's name in a sentence."""
        return self.source or self.title

    def layer_name(self, layer: int) -> int:
        """The number the source gives a layer the derivation numbers ``layer`` (the inputs are 0 there)."""
        return layer + self.layer_offset

    def loss_name(self, loss: str) -> str:
        """The name of a loss function in this notation's prose.

        >>> NOTATIONS["nielsen"].loss_name("sse"), NOTATIONS["bishop"].loss_name("sse")
        ('quadratic cost', 'sum-of-squares error')
        """
        return self.loss_names.get(loss, LOSS_NAMES[loss])

    def words(self, text: str) -> str:
        """A phrase of the core (an equation's title) in this notation: its names of δ and E, its layer numbers.

        >>> NOTATIONS["goodfellow"].words("hidden error signals"), NOTATIONS["nielsen"].words("delta, layer 1")
        ('hidden pre-activation gradients', 'error, layer 2')
        >>> NOTATIONS["nielsen"].words("error of one sample"), NOTATIONS["goodfellow"].words("the error")
        ('cost of one sample', 'the loss')
        """
        names = {
            "delta": self.term,
            "error signal": self.term,
            "error signals": self.terms,
            "error": self.cost,
            "pre-activation": self.pre,
        }
        text = re.sub(r"\b(?:delta|error signals?|error|pre-activation)\b", lambda m: names[m.group(0)], text)
        return re.sub(r"\blayer (\d+)\b", lambda m: f"layer {self.layer_name(int(m.group(1)))}", text)

    def signal_letters(self, n_layers: int) -> list[str]:
        r"""The letters of δ, output layer first, each once (seed 003 writes δ at the output, γ below it).

        >>> NOTATIONS["seed003"].signal_letters(2), NOTATIONS["goodfellow"].signal_letters(2)
        (['\\delta', '\\gamma'], ['g'])
        >>> NOTATIONS["seed003"].signal_letters(1)
        ['\\delta']
        """
        top = self.top.get("delta")
        letters = [re.sub(r"[_^].*$", "", top) if top else self.letters["delta"]]
        if n_layers > 1 and self.letters["delta"] not in letters:
            letters.append(self.letters["delta"])
        return letters

    def top_letters(self) -> list[dict[str, object]]:
        r"""The letters the output layer has where they differ from the hidden layers' (seed 003's v for w).

        Each entry has the hidden layers' letter, the output layer's, and whether rule 1 (the one rule
        about layer L: its pre-activation, δ and output) is written in it.

        >>> [(t["hidden"], t["top"], t["in_rule_1"]) for t in NOTATIONS["seed003"].top_letters()]
        [('s', 'r', True), ('w', 'v', False), ('b', 'c', False), ('\\gamma', '\\delta', True)]
        >>> NOTATIONS["nielsen"].top_letters()
        []
        """
        out: list[dict[str, object]] = []
        for role, pattern in self.top.items():
            if ":" in role:
                continue
            letter = re.sub(r"[_^].*$", "", pattern)
            if letter != self.letters[role]:
                out.append({"hidden": self.letters[role], "top": letter, "in_rule_1": role in ("a", "delta", "y")})
        return out

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
    indices all belong to a sum over one layer is about that layer. "First" is in preorder; each
    subexpression's answer is remembered, so a large expanded gradient is walked once.
    """
    try:
        return _focus(expr)
    except TypeError:  # unhashable (a mutable matrix): walk it without remembering
        return _focus.__wrapped__(expr)


@lru_cache(maxsize=1 << 16)
def _focus(expr: sp.Basic) -> int | None:
    if isinstance(expr, sp.Indexed):
        for k in expr.indices:
            found = naming.index_level(k)
            if found:
                return found[0]
    for arg in expr.args:
        if isinstance(arg, sp.Basic):
            found_below = _focus(arg)
            if found_below is not None:
                return found_below
    return None


#: All presets by key; each is one table of the data above.
NOTATIONS: dict[str, Notation] = {fields["key"]: Notation(**fields) for fields in PRESETS}
