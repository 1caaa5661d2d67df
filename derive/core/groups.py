"""Parameter groups: one record per layer and kind, read off the generic gradient equations.

Both routes of the derivation attach them (:mod:`derive.core.units`,
:mod:`derive.core.perlayer`); ``formulas.json``, the proofs and the trainer read
them instead of one record per weight.
"""

from __future__ import annotations

import sympy as sp

from derive.core import naming
from derive.core.model import Derivation, ParameterGroup


def _pattern(rule: sp.Expr, layer: int, n_layers: int) -> str:
    """The rule as a ``str.format`` template in j and i (``delta_2_{j}*z_1_{i}``)."""
    letters = {naming.index(layer): "{j}", naming.index(layer - 1): "{i}"}
    repl = {}
    for ix in rule.atoms(sp.Indexed):
        role, lev = naming.indexed_info(ix.base, n_layers)
        holders = [letters.get(k, str(k)) for k in ix.indices]  # a sum over one unit leaves an integer
        repl[ix] = sp.Symbol(naming.name(role, lev, *holders), real=True)
    return sp.sstr(rule.xreplace(repl), order="lex")


def chain_tails(d: Derivation) -> dict[int, tuple[str, ...]]:
    """The δs a parameter of layer l reads beyond its own, in the order of ``Parameter.chain``.

    Every unit of a layer reads the same δs (all units of the next layer), so
    the first unit's form stands for the layer.
    """
    reads = {}
    for layer in d.layers:
        form = layer.delta_forms[0]
        reads[layer.index] = sorted(
            (s for s in form.free_symbols if s.name.startswith("delta_")), key=sp.default_sort_key
        )
    tails = {}
    for layer in d.layers:
        chain: list[sp.Symbol] = []
        frontier = list(reads[layer.index])
        while frontier:
            nxt = []
            for s in frontier:
                if s not in chain:
                    chain.append(s)
                    nxt.extend(reads[naming.info(s, d.spec.n_layers).layer])
            frontier = [s for s in dict.fromkeys(nxt) if s not in chain]
        tails[layer.index] = tuple(s.name for s in chain)
    return tails


def parameter_groups(d: Derivation) -> list[ParameterGroup]:
    """One record per layer and kind (weights, biases), from the generic gradient equations."""
    tails = chain_tails(d)
    groups = []
    for layer in d.layers:
        l = layer.index
        kinds = [("weight", "w")] + ([("bias", "b")] if layer.biases else [])
        for kind, role in kinds:
            eq = d.equation(f"grad-{role}-{l}")
            weight = kind == "weight"
            groups.append(
                ParameterGroup(
                    key=naming.parameter_key(role, l),
                    kind=kind,
                    layer=l,
                    shape=(layer.n_out, layer.n_in) if weight else (layer.n_out,),
                    equation=eq.id,
                    rule=eq.rhs,
                    name=naming.name(role, l, "{j}", "{i}") if weight else naming.name(role, l, "{j}"),
                    gradient_pattern=_pattern(eq.rhs, l, d.spec.n_layers),
                    chain=(naming.name("delta", l, "{j}"), *tails[l]),
                )
            )
    return groups
