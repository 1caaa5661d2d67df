"""Stage 2 for large networks: every layer's rules derived once, with generic indices.

A unit-by-unit derivation (:mod:`derive.symbolic`) builds a SymPy term per
connection; for 784-128-64-10 that is most of the run time and memory. Here
the output layer is still derived unit by unit (its δ needs the loss and the
output Jacobian, and it has few units), but each hidden layer's δ rule
δ_j = h'(a_j) Σ_k w_kj δ_k and each gradient rule ∂E/∂w_ji = δ_j z_i are
derived once by :mod:`derive.generic` with SymPy ``Indexed`` symbols and
sums. Per-unit forms and per-parameter records are instances of those rules,
built when read (:mod:`derive.lazy`).

The rules do not depend on the layer sizes except through the ranges of their
sums. They are checked by deriving a *proxy* network of the same depth,
activations and loss but narrow hidden layers unit by unit, checking the
proxy's rules against each of its units, and comparing the proxy's rules with
this network's after widening the sums.
"""

from __future__ import annotations

import re
from dataclasses import replace

import sympy as sp

from derive import generic, naming, symbolic
from derive.lazy import LazyParameters, RuleForms
from derive.model import Derivation, ParameterGroup
from derive.spec import NetworkSpec

#: Width of the proxy's input and hidden layers (its output layer keeps its size:
#: the loss's scale factor and the softmax sum depend on it).
PROXY_WIDTH = 2

_LEVEL_RE = re.compile(r"idx([0-9]+)p?")


def derive_per_layer(spec: NetworkSpec) -> Derivation:
    """Derive ``spec`` with per-layer generic rules and lazy per-weight objects.

    Args:
        spec: a validated NetworkSpec.
    Returns:
        A Derivation with ``lazy`` set: hidden ``delta_forms``, ``weights``,
        ``pre`` and ``parameters`` are built from the rules on demand.
    Raises:
        AssertionError: a rule differs from the proxy network's rule.
    """
    x, layers = symbolic.build_layers(spec, lazy_weights=True)
    d = symbolic.assemble(spec, x, layers)
    d.lazy = True
    d.equations = generic.equations(d, check_units=False)
    for layer in layers[:-1]:
        rule = d.equation(f"delta-{layer.index}").rhs
        layer.delta_forms = RuleForms(rule, naming.index(layer.index), layer.n_out, spec.n_layers)
    d.rule_check = check_on_proxy(d)
    d.parameter_groups = parameter_groups(d)
    d.parameters = LazyParameters(d.parameter_groups, spec.n_layers)
    return d


def proxy_sizes(sizes: tuple[int, ...]) -> tuple[int, ...]:
    """Narrow input and hidden layers, the same output layer.

    >>> proxy_sizes((784, 128, 64, 10))
    (2, 2, 2, 10)
    """
    return tuple(min(n, PROXY_WIDTH) for n in sizes[:-1]) + (sizes[-1],)


def widen(expr: sp.Expr, sizes: tuple[int, ...]) -> sp.Expr:
    """Set the upper limit of every sum over a unit index of layer ``level`` to ``sizes[level]``."""

    def resized(s: sp.Sum) -> sp.Sum:
        limits = []
        for var, lo, hi in s.limits:
            m = _LEVEL_RE.fullmatch(var.name)
            limits.append((var, lo, sizes[int(m.group(1))] if m else hi))
        return sp.Sum(s.function, *limits)

    return expr.replace(lambda e: isinstance(e, sp.Sum), resized)


def check_on_proxy(d: Derivation) -> str:
    """Compare every generic equation of ``d`` with the proxy net's; return a sentence saying so."""
    spec = d.spec
    small = replace(spec, sizes=proxy_sizes(spec.sizes))
    proxy = symbolic.derive(small, lazy=False)  # checks its rules against each of its units
    mine = {e.id: e for e in d.equations}
    theirs = {e.id: e for e in proxy.equations}
    if set(mine) != set(theirs):
        raise AssertionError(
            f"equations {sorted(set(mine) ^ set(theirs))} exist in only one of {spec.arch}, {small.arch}"
        )
    for eq_id, eq in mine.items():
        other = theirs[eq_id]
        if widen(other.lhs, spec.sizes) != eq.lhs or widen(other.rhs, spec.sizes) != eq.rhs:
            raise AssertionError(f"rule {eq_id} of {spec.arch} differs from the rule of the proxy net {small.arch}")
    return (
        f"the per-layer rules equal those of the proxy net {small.arch} (same activations and loss) "
        "after widening their sums, and each rule of the proxy was checked against its concrete "
        "unit-by-unit derivation at every unit"
    )


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
        kinds = [("weight", "w", "W")] + ([("bias", "b", "b")] if layer.biases else [])
        for kind, role, prefix in kinds:
            eq = d.equation(f"grad-{role}-{l}")
            weight = kind == "weight"
            groups.append(
                ParameterGroup(
                    key=f"{prefix}{l}",
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
