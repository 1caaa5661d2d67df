"""The rules for a general layer l, for any printer: which symbols, rules and instances are shown.

The rules themselves are the Derivation's equations (``rule-*``, from :mod:`derive.core.general`)
and ``d.general_proofs`` says which equation of this network each one gave. ``c`` is the
format's printing object; ``c.tex`` prints one expression in it.
"""

from __future__ import annotations

import sympy as sp

from derive.core import general, naming
from derive.core.model import Derivation, Layer
from derive.prove import general as proof
from derive.render.chain import layer_vector

#: the index rules the section may state, in its order: the δ at the output, the δ one layer down, bias, weight
INDEX_RULES = ("rule-1", "rule-2", "rule-3", "rule-4")
#: how the section counts its rules and the lines of its summary box
COUNT_WORDS = {1: "one", 2: "two", 3: "three", 4: "four"}


def stated(d: Derivation) -> list[str]:
    """The index rules stated for this network: no δ rule at a softmax output, no bias rule without biases."""
    ids = {e.id for e in d.equations}
    return [r for r in INDEX_RULES if r in ids]


def box_lines(d: Derivation) -> int:
    """The lines of the section's box: where the δ starts (a rule or the output's own equation), then the rules."""
    ids = {e.id for e in d.equations}
    start = "rule-1-matrix" in ids or f"delta-{d.spec.n_layers}" in ids
    return int(start) + sum(1 for r in INDEX_RULES[1:] if f"{r}-matrix" in ids)


def title(d: Derivation) -> str:
    """The section's title, counting the rules it states ("The three rules for any layer")."""
    return f"The {COUNT_WORDS[len(stated(d))]} rules for any layer"


def section(d: Derivation, c) -> dict:
    """The printed symbols of the general section, its matrix rules with their shapes, and what each rule gave."""
    l, L = general.LAYER, general.TOP
    i, j, k = (general.index(o) for o in (-1, 0, 1))
    ids = {e.id for e in d.equations}
    matrix = []
    for e in d.equations:
        if e.id.startswith("rule-") and e.id.endswith("-matrix"):
            rows, cols = e.lhs.shape
            matrix.append({"id": e.id, "rows": c.tex(rows), "cols": c.tex(cols)})
    instances = [
        {"rule": rule, "ids": sorted(gave, key=lambda g: d.equation(g).number)}  # in reading order
        for rule, gave, _ in d.general_proofs
        if not rule.endswith("-matrix") and all(g in ids for g in gave)
    ]
    return {
        "n_l": c.tex(general.Width(l)),
        "n_below": c.tex(general.Width(l - 1)),
        "z0": c.tex(general.family("z")[0, i]),
        "x": c.tex(naming.indexed("x", 0)[i]),
        "yj": c.tex(general.family("y")[L, j]),
        "i": c.tex(i),
        "j": c.tex(j),
        "k": c.tex(k),
        "W": c.tex(general.matrix("w", l)),
        "wji": c.tex(general.family("w")[l, j, i]),
        "a_vec": c.tex(general.matrix("a", l)),
        "z_vec": c.tex(general.matrix("z", l)),
        "zprev_vec": c.tex(general.matrix("z", l - 1)),
        "zL_vec": c.tex(general.matrix("z", L)),
        "b_vec": c.tex(general.matrix("b", l)),
        "delta_vec": c.tex(general.matrix("delta", l)),
        "matrix": matrix,
        "instances": instances,
        "title": title(d),
        "rules_word": COUNT_WORDS[len(stated(d))],
        "lines_word": COUNT_WORDS[box_lines(d)],
        "proofs": [
            {
                "rule": rule,
                "ids": sorted(gave, key=lambda g: d.equation(g).number),  # in reading order
                "layers": ", ".join(str(c.nota.layer_name(n)) for n in lay),
                "entrywise": rule.endswith("-matrix"),
            }
            for rule, gave, lay in d.general_proofs
            if all(g in ids for g in gave)
        ],
        "matrix_limit": proof.MATRIX_ENTRIES,
        "unchecked_matrix": any(a * b > proof.MATRIX_ENTRIES for a, b in zip(d.spec.sizes[1:], d.spec.sizes)),
    }


def backward_matrix(d: Derivation, layer: Layer) -> sp.Expr:
    """The right side of the backward rule in matrix form for hidden ``layer``: h′(a) ⊙ Wᵀ δ of the layer above."""
    l = layer.index
    return sp.HadamardProduct(
        layer_vector(d, "fprime", l), sp.Transpose(layer_vector(d, "w", l + 1)) * layer_vector(d, "delta", l + 1)
    )
