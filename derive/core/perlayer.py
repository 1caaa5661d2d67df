"""Stage 2 for large networks: every layer's rules derived once, with generic indices.

A unit-by-unit derivation (:mod:`derive.core.symbolic`) builds a SymPy term per
connection; for 784-128-64-10 that is most of the run time and memory. Here
the output layer is still derived unit by unit (its δ needs the loss and the
output Jacobian, and it has few units), but each hidden layer's δ rule
δ_j = h'(a_j) Σ_k w_kj δ_k and each gradient rule ∂E/∂w_ji = δ_j z_i are
derived once by :mod:`derive.core.rules` with SymPy ``Indexed`` symbols and
sums. Per-unit forms and per-parameter records are instances of those rules,
built when read (:mod:`derive.core.lazy`).

The rules do not depend on the layer sizes except through the ranges of their
sums. They are checked by deriving a *proxy* network of the same depth,
activations and loss but narrow hidden layers unit by unit, checking the
proxy's rules against each of its units, and comparing the proxy's rules with
this network's after widening the sums.
"""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from derive.core import groups, naming, route, rules, units
from derive.core.lazy import LazyParameters, RuleForms
from derive.core.model import Derivation
from derive.spec import NetworkSpec


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
    x, layers = units.build_layers(spec, lazy_weights=True)
    d = units.assemble(spec, x, layers)
    d.per_layer = True
    d.equations = rules.equations(d, check_units=False)
    for layer in layers[:-1]:
        rule = d.equation(f"delta-{layer.index}").rhs
        layer.delta_forms = RuleForms(rule, naming.index(layer.index), layer.n_out, spec.n_layers)
    d.rule_check = check_on_proxy(d)
    d.parameter_groups = groups.parameter_groups(d)
    d.parameters = LazyParameters(d.parameter_groups, spec.n_layers)
    return d


def widen(expr: sp.Expr, sizes: tuple[int, ...]) -> sp.Expr:
    """Set the upper limit of every sum over a unit index of layer ``level`` to ``sizes[level]``."""

    def resized(s: sp.Sum) -> sp.Sum:
        limits = []
        for var, lo, hi in s.limits:
            found = naming.index_level(var)
            limits.append((var, lo, sizes[found[0]] if found else hi))
        return sp.Sum(s.function, *limits)

    return expr.replace(lambda e: isinstance(e, sp.Sum), resized)


def check_on_proxy(d: Derivation) -> str:
    """Compare every generic equation of ``d`` with the proxy net's; return a sentence saying so."""
    spec = d.spec
    small = replace(spec, sizes=route.proxy_sizes(spec.sizes))
    proxy = units.derive_units(small)  # checks its rules against each of its units
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
