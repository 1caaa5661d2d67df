"""The four rules for a general layer l, for any printer: which symbols, rules and instances are shown.

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
