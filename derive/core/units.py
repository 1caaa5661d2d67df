"""Stage 2, unit by unit: the Derivation of one network with a term per connection.

For every layer SymPy computes, from local expressions only: the pre-activation
a_j = sum_i w_ji z_i + b_j, the Jacobian of the activation rewritten in the
outputs (:mod:`derive.core.calculus`), dE/dy from the loss, the output δ
(sum over the Jacobian), the hidden δ (chain rule through the next layer's
pre-activations) and each parameter's gradient δ_j · da_j/dθ.

Everything is per unit and per connection, so the cost is linear in the number
of parameters; proving the forms against the raw derivative is
:mod:`derive.prove.symbolic`'s job. The per-layer derivation of large nets
(:mod:`derive.core.perlayer`) reuses the layer construction and the output
layer from here.
"""

from __future__ import annotations

from collections.abc import Iterable

import sympy as sp

from derive import progress
from derive.core import activations, calculus, groups, naming, rules, symmetry
from derive.core.lazy import PreActivations, WeightRows
from derive.core.model import Derivation, Layer, Parameter
from derive.core.patterns import Patterns
from derive.spec import NetworkSpec

#: Loss domains that the derivation may use when simplifying.
TARGET_ASSUMPTIONS = {"ce": "the targets of a sample sum to one (one-hot or a probability vector)"}

#: A coupled (softmax) layer wider than this is derived for its first unit and carried to the
#: others when it is symmetric in its units (:mod:`derive.core.symmetry`); narrower ones unit by unit.
CARRY_ABOVE = 16


def build_layers(spec: NetworkSpec, lazy_weights: bool = False) -> tuple[list[sp.Symbol], list[Layer]]:
    """Symbols and local forward expressions of every layer (no derivatives yet).

    With ``lazy_weights`` the weight symbols and the a_j sums are built when read.
    """
    L = spec.n_layers
    x = [naming.symbol("x", 0, i) for i in range(1, spec.sizes[0] + 1)]
    prev = x
    layers = []
    for l in range(1, L + 1):
        n = spec.sizes[l]
        role = "y" if l == L else "z"
        a = [naming.symbol("a", l, j) for j in range(1, n + 1)]
        out = [naming.symbol(role, l, j) for j in range(1, n + 1)]
        B = [naming.symbol("b", l, j) for j in range(1, n + 1)] if spec.bias else None
        if lazy_weights:
            W = WeightRows(l, n, len(prev))
            pre = PreActivations(W, prev, B)
        else:
            W = [[naming.symbol("w", l, j, i) for i in range(1, len(prev) + 1)] for j in range(1, n + 1)]
            pre = [sp.Add(*[w * z for w, z in zip(W[j], prev)]) + (B[j] if B else 0) for j in range(n)]
        name = spec.activations[l - 1]
        act = activations.apply(name, a)
        jac, how = _jacobian(act, a, out, name)
        progress.tick(l, n)
        calc = calculus.elementwise(name) if name != "softmax" else None
        layers.append(
            Layer(
                index=l,
                n_in=len(prev),
                n_out=n,
                activation=name,
                is_output=l == L,
                a=a,
                out=out,
                inputs=prev,
                weights=W,
                biases=B,
                pre=pre,
                act=act,
                fprime=calc.fprime if calc else sp.nan,
                fprime_out=calc.fprime_out if calc else None,
                fprime_how=how,
                jacobian=jac,
                delta=[naming.symbol("delta", l, j) for j in range(1, n + 1)],
                delta_forms=[],
            )
        )
        prev = out
    return x, layers


def _jacobian(act: list[sp.Expr], a: list[sp.Symbol], out: list[sp.Symbol], name: str):
    """The layer's Jacobian; of a wide coupled layer whose units are interchangeable, the first column only."""
    coupled = len(act[0].free_symbols & set(a)) > 1  # output 1 depends on more than its own a
    if coupled and len(a) > CARRY_ABOVE and symmetry.is_symmetric(act, [], [a]):
        column, how = calculus.jacobian_to_outputs(act, a, out, name, columns=[0])
        how += "; the first column only, the others by swapping units (the layer is symmetric in its units)"
        return symmetry.CarriedJacobian({m: e for (m, _), e in column.items()}, [a, out]), how
    return calculus.jacobian_to_outputs(act, a, out, name)


def output_deltas(
    layer: Layer, dE_dy: list[sp.Expr], targets: list[sp.Symbol], loss: str, error: sp.Expr
) -> list[sp.Expr]:
    """δ_k = sum_m dE/dy_m · dy_m/da_k, simplified (under the loss's target domain).

    ``loss`` names the loss, ``error`` is the error E. When the Jacobian was carried from its first
    column and E, too, is unchanged by swapping output units, δ_1 is derived
    and carried to the other units the same way.
    """
    families = [layer.a, layer.out, targets]
    jac = layer.jacobian
    if isinstance(jac, symmetry.CarriedJacobian) and symmetry.is_symmetric([], [error], families):
        column = (((m, 0), e) for m, e in jac.column.items())  # not the n² carried entries
        (first,) = _output_deltas(layer, column, dE_dy, targets, loss, columns=[0])
        progress.tick(layer.index, layer.n_out - 1)
        return [symmetry.carry(first, families, k) for k in range(layer.n_out)]
    return _output_deltas(layer, jac.items(), dE_dy, targets, loss, columns=range(layer.n_out))


def _output_deltas(
    layer: Layer,
    entries: Iterable[tuple[tuple[int, int], sp.Expr]],
    dE_dy: list[sp.Expr],
    targets: list[sp.Symbol],
    loss: str,
    columns: Iterable[int],
) -> list[sp.Expr]:
    """The δs of the units in ``columns`` from the Jacobian ``entries`` ((m, k), dy_m/da_k)."""
    by_column: dict[int, list[sp.Expr]] = {k: [] for k in columns}
    for (m, k), entry in entries:
        if k in by_column:
            by_column[k].append(dE_dy[m] * entry)
    simplify = Patterns(_simplify_output_delta)  # units of an elementwise layer share one pattern
    uses_sum = loss in TARGET_ASSUMPTIONS
    outs = {y: position for position, y in enumerate(layer.out)}
    targets_set, n = frozenset(targets), len(targets)
    forms = []
    for k in columns:
        progress.tick(layer.index)
        forms.append(simplify(sp.Add(*by_column[k]), outs, targets_set, n, uses_sum))
    return forms


def _simplify_output_delta(
    delta: sp.Expr, outs: tuple[sp.Symbol, ...], targets: frozenset[sp.Symbol], n_targets: int, uses_sum: bool
) -> sp.Expr:
    """Expand, use sum_k t_k = 1 where the loss assumes it, factor, orient (``outs``: the outputs in ``delta``)."""
    delta = sp.expand(delta)
    if uses_sum and len(targets) == n_targets:
        # collect on the outputs so that a sum of all targets shows up as a
        # coefficient, then use the stated assumption sum_k t_k = 1
        delta = sp.collect(delta, list(outs)).xreplace({sp.Add(*targets): sp.Integer(1)})
    return calculus.tidy(sp.factor(delta), set(outs))


def hidden_deltas(layer: Layer, upper: Layer) -> list[sp.Expr]:
    """δ_j = sum_k δ_k · da_k/da_j, with da_k/da_j = sum_m da_k/dz_m · dz_m/da_j."""
    rows: dict[int, list[tuple[int, sp.Expr]]] = {}
    for (m, j), entry in layer.jacobian.items():
        rows.setdefault(j, []).append((m, entry))
    forms = []
    for j in range(layer.n_out):
        terms = []
        for m, entry in rows.get(j, []):
            for k, dk in enumerate(upper.delta):
                terms.append(dk * sp.diff(upper.pre[k], layer.out[m]) * entry)
        forms.append(calculus.tidy(sp.factor_terms(sp.Add(*terms)), set(layer.out)))
    return forms


def parameters_of(layer: Layer) -> list[Parameter]:
    """Each parameter's gradient δ_j · da_j/dθ, for the unit(s) whose a_j contains θ."""
    params = []
    l = layer.index
    diff = Patterns(sp.diff)  # every unit's pre-activation is one pattern
    users: dict[sp.Symbol, list[int]] = {}  # which pre-activations each parameter enters
    for m, pre in enumerate(layer.pre):
        for s in pre.free_symbols:
            users.setdefault(s, []).append(m)
    for j in range(layer.n_out):
        progress.tick(l)
        thetas = [(w, "weight", i) for i, w in enumerate(layer.weights[j])]
        if layer.biases:
            thetas.append((layer.biases[j], "bias", None))
        for theta, kind, i in thetas:
            grad = sp.Add(*[layer.delta[m] * diff(layer.pre[m], theta) for m in users[theta]])
            params.append(
                Parameter(
                    symbol=theta,
                    kind=kind,
                    layer=l,
                    unit=j + 1,
                    source=None if i is None else i + 1,
                    key=naming.parameter_key("w" if kind == "weight" else "b", l),
                    index=(j,) if i is None else (j, i),
                    delta=layer.delta[j],
                    gradient=grad,
                    chain=(layer.delta[j],),
                )
            )
    return params


def derive_units(spec: NetworkSpec) -> Derivation:
    """The unit-by-unit derivation: a term per connection, every δ and gradient concrete."""
    x, layers = build_layers(spec)
    d = assemble(spec, x, layers)
    for lower, upper in zip(reversed(layers[:-1]), reversed(layers[1:])):
        lower.delta_forms = hidden_deltas(lower, upper)
    params = [p for layer in layers for p in parameters_of(layer)]
    _attach_chains(params, layers)
    d.parameters = params
    d.equations = rules.equations(d)
    d.parameter_groups = groups.parameter_groups(d)
    return d


def assemble(spec: NetworkSpec, x: list[sp.Symbol], layers: list[Layer]) -> Derivation:
    """The Derivation with its loss, dE/dy and output δs; hidden δs and parameters still empty."""
    out = layers[-1]
    t = [naming.symbol("t", spec.n_layers, k) for k in range(1, out.n_out + 1)]
    loss = activations.loss_expression(spec.loss, out.out, t)
    tidy = Patterns(lambda g, prefer: calculus.tidy(sp.factor(g), set(prefer)))
    outputs = frozenset(out.out)
    dE_dy = [tidy(g, outputs) for g in calculus.gradient(loss, out.out)]
    out.delta_forms = output_deltas(out, dE_dy, t, spec.loss, loss)
    assumptions = [TARGET_ASSUMPTIONS[spec.loss]] if spec.loss in TARGET_ASSUMPTIONS else []
    return Derivation(
        spec=spec,
        inputs=x,
        targets=t,
        layers=layers,
        loss=loss,
        dE_dy=dE_dy,
        reduction="mean" if spec.mean else "sum",
        assumptions=assumptions,
        parameters=[],
    )


def _attach_chains(params: list[Parameter], layers: list[Layer]) -> None:
    """The δ chain of a parameter: its own δ, then every δ that one reads, layer by layer."""
    reads = {}
    for layer in layers:
        for dsym, form in zip(layer.delta, layer.delta_forms):
            reads[dsym] = sorted((s for s in form.free_symbols if s.name.startswith("delta_")), key=sp.default_sort_key)
    for p in params:
        chain, frontier = [p.delta], [p.delta]
        while frontier:
            nxt = []
            for dsym in frontier:
                for s in reads.get(dsym, []):
                    if s not in chain:
                        chain.append(s)
                        nxt.append(s)
            frontier = nxt
        p.chain = tuple(chain)
