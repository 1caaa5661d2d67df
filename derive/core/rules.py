"""The per-layer rules in generic index form, and the numbered equation list.

The concrete derivation (:mod:`derive.core.symbolic`) works unit by unit. Here the
same rules are derived once per layer with SymPy ``Indexed`` symbols and sums
(a_j = sum_i w_ji z_i + b_j; δ_j = h'(a_j) sum_k w_kj δ_k), and each generic
rule is checked against every concrete instance before it is recorded. The
equations get stable ids and numbers in document order, so the document and
the generated trainer cite the same numbers.
"""

from __future__ import annotations

import dataclasses
import itertools

import sympy as sp

from derive import progress
from derive.core import activations, decay, general, naming, update
from derive.core.calculus import A, Y
from derive.core.model import Derivation, Equation, Layer


def concretize(expr: sp.Expr, n_layers: int) -> sp.Expr:
    """Replace every Indexed with integer indices by its canonical symbol."""
    repl = {}
    for ix in expr.atoms(sp.Indexed):
        if all(isinstance(k, sp.Integer) for k in ix.indices):
            role, layer = naming.indexed_info(ix.base, n_layers)
            repl[ix] = naming.symbol(role, layer, *(int(k) for k in ix.indices))
    return expr.xreplace(repl)


def in_range(expr: sp.Expr, ranges: dict[sp.Symbol, tuple[int, int]]) -> sp.Expr:
    """Resolve Piecewise conditions that hold on the whole index range.

    Differentiating a sum by one of its terms gives Piecewise((w_kj, j <= n), (0, True));
    a linear condition true at every corner of the index box is true inside it.
    """

    def pick(*pairs):
        for value, cond in pairs:
            if cond is sp.true:
                return value
            syms = sorted(cond.free_symbols, key=str)
            if not set(syms) <= set(ranges):
                break
            corners = itertools.product(*[ranges[s] for s in syms])
            if all(bool(cond.subs(dict(zip(syms, c)))) for c in corners):
                return value
        return sp.Piecewise(*pairs)

    return expr.replace(lambda e: isinstance(e, sp.Piecewise), lambda e: pick(*e.args))


def single_units(expr: sp.Expr, sizes: tuple[int, ...]) -> sp.Expr:
    """Write the index of a one-unit layer as its letter again.

    A sum over a layer of one unit evaluates to its only term, so
    differentiating it leaves ``KroneckerDelta(1, i)`` and ``x[1]`` where the
    rule of a wider layer has ``x[i]``. With i ranging over {1} both are the
    same numbers: the delta is 1 and the integer index is i.
    """
    n_layers = len(sizes) - 1

    def levels(ix: sp.Indexed) -> tuple[int, ...]:
        role, layer = naming.indexed_info(ix.base, n_layers)
        return (layer, layer - 1) if role == "w" else (layer,)

    repl = {}
    for ix in expr.atoms(sp.Indexed):
        indices = [naming.index(lev) if k == 1 and sizes[lev] == 1 else k for k, lev in zip(ix.indices, levels(ix))]
        if indices != list(ix.indices):
            repl[ix] = ix.base[tuple(indices)]
    one_unit = {naming.index(lev) for lev, n in enumerate(sizes) if n == 1}
    for kd in expr.atoms(sp.KroneckerDelta):
        if set(kd.args) & one_unit and sp.S.One in kd.args:
            repl[kd] = sp.S.One
    return expr.xreplace(repl)


class _Builder:
    def __init__(self, d: Derivation):
        self.d = d
        self.L = d.spec.n_layers
        self.eqs: list[Equation] = []

    def add(self, eq_id: str, title: str, lhs: sp.Expr, rhs: sp.Expr | None) -> None:
        if rhs is not None:
            rhs = single_units(rhs, self.d.spec.sizes)
            self.eqs.append(Equation(eq_id, len(self.eqs) + 1, title, lhs, rhs))

    def family(self, layer: Layer, which: str) -> sp.IndexedBase:
        l = layer.index
        if which == "out":
            return naming.indexed("y" if layer.is_output else "z", l)
        if which == "in":
            return naming.indexed("x", 0) if l == 1 else naming.indexed("z", l - 1)
        return naming.indexed(which, l)

    def pre(self, layer: Layer, j: sp.Symbol, display: bool = False) -> sp.Expr:
        """a_j as a sum; ``display`` sums over the layer's own index letter instead of a dummy."""
        i = naming.index(layer.index - 1) if display else naming.summation_index(layer.index - 1)
        w, z = self.family(layer, "w"), self.family(layer, "in")
        body = sp.Sum(w[j, i] * z[i], (i, 1, layer.n_in))
        return body + (self.family(layer, "b")[j] if layer.biases else 0)

    def ranges(self, *levels: int) -> dict[sp.Symbol, tuple[int, int]]:
        out = {}
        for lev in levels:
            n = self.d.spec.sizes[lev]
            out[naming.index(lev)] = out[naming.summation_index(lev)] = (1, n)
        return out

    def fprime(self, layer: Layer, j: sp.Symbol) -> sp.Expr:
        """dz_j/da_j of an elementwise layer, in the output where the core found a rewrite."""
        if layer.fprime_out is not None:
            return layer.fprime_out.subs(Y, self.family(layer, "out")[j])
        return layer.fprime.subs(A, self.family(layer, "a")[j])

    def generalize(self, concrete: list[sp.Expr], layer: Layer, j: sp.Symbol) -> sp.Expr | None:
        """Turn unit 1's form into an indexed one; keep it only if it gives every unit's form."""
        roles = {"a": layer.a, "out": layer.out, "delta": layer.delta}
        if layer.is_output:
            roles["t"] = self.d.targets
        repl = {}
        for role, syms in roles.items():
            fam = naming.indexed("t", layer.index) if role == "t" else self.family(layer, role)
            repl[syms[0]] = fam[j]
        generic = concrete[0].xreplace(repl)
        for m, form in enumerate(concrete, start=1):
            progress.tick(layer.index)
            inst = concretize(generic.xreplace({j: m}), self.L)
            if sp.expand(inst - form) != 0:
                return None
        return generic


def equations(d: Derivation, check_units: bool = True) -> list[Equation]:
    """The numbered equations, in the order the document presents them.

    With ``check_units`` every hidden layer's generic δ rule is instantiated at
    every unit and compared with the concrete per-unit derivation. A large
    derivation has no concrete hidden forms of its own (they are instances of
    this rule); :mod:`derive.core.perlayer` checks its rules on a proxy net instead.
    """
    b = _Builder(d)
    for layer in d.layers:
        l, j = layer.index, naming.index(layer.index)
        a, out = b.family(layer, "a"), b.family(layer, "out")
        b.add(f"forward-a-{l}", f"pre-activation, layer {l}", a[j], b.pre(layer, j, display=True))
        if layer.activation == "softmax":
            p = naming.summation_index(l)
            act = sp.exp(a[j]) / sp.Sum(sp.exp(a[p]), (p, 1, layer.n_out))
        else:
            act = activations.ELEMENTWISE[layer.activation](a[j])
        b.add(f"forward-z-{l}", f"activation, layer {l}", out[j], act)
    out_layer = d.layers[-1]
    k = naming.index(d.spec.n_layers)
    y, t = naming.indexed("y", b.L), naming.indexed("t", b.L)
    scale = activations.loss_scale(d.spec.loss, out_layer.n_out)
    term = activations.loss_term(d.spec.loss, y[k], t[k])
    # a textbook writes the cross-entropies as -sum t log y: the sign in front of the sum
    sign = -1 if term.could_extract_minus_sign() else 1
    err = sign * scale * sp.Sum(sign * term, (k, 1, out_layer.n_out))
    b.add("error", "error of one sample", sp.Symbol("E"), err)
    dEdy = b.generalize(d.dE_dy, out_layer, k)
    b.add("dE-dy", "derivative of the error by an output", sp.Derivative(sp.Symbol("E"), y[k]), dEdy)
    for layer in reversed(d.layers):
        l, j, i = layer.index, naming.index(layer.index), naming.index(layer.index - 1)
        a, out, delta = b.family(layer, "a"), b.family(layer, "out"), b.family(layer, "delta")
        if layer.activation != "softmax":
            b.add(f"fprime-{l}", f"activation derivative, layer {l}", sp.Derivative(out[j], a[j]), b.fprime(layer, j))
        if layer.is_output:
            rhs = b.generalize(layer.delta_forms, layer, j)
        else:
            upper = d.layers[l]
            kk = naming.index(l + 1)
            inner = sp.diff(b.pre(upper, kk), out[j]).doit()
            inner = in_range(inner, b.ranges(l, l + 1))
            rhs = b.fprime(layer, j) * sp.Sum(b.family(upper, "delta")[kk] * inner, (kk, 1, upper.n_out))
            if check_units and not _instances_match(rhs, layer, j, b.L):
                raise AssertionError(f"generic hidden delta of layer {l} does not match its units")
        b.add(f"delta-{l}", f"delta, layer {l}", delta[j], rhs)
        w = b.family(layer, "w")
        grad_w = delta[j] * in_range(sp.diff(b.pre(layer, j), w[j, i]).doit(), b.ranges(l - 1, l))
        b.add(f"grad-w-{l}", f"weight gradient, layer {l}", sp.Derivative(sp.Symbol("E"), w[j, i]), grad_w)
        if layer.biases:
            grad_b = delta[j] * sp.diff(b.pre(layer, j), b.family(layer, "b")[j]).doit()
            b.add(
                f"grad-b-{l}",
                f"bias gradient, layer {l}",
                sp.Derivative(sp.Symbol("E"), b.family(layer, "b")[j]),
                grad_b,
            )
    eqs = in_reading_order(b.eqs)
    eqs += general.equations(d.spec.bias, d.layers[-1].activation == "softmax", first=len(eqs) + 1)
    eqs += penalty_equations(d, first=len(eqs) + 1)
    penalties = {e.lhs.variables[0]: e.rhs for e in eqs if e.id.startswith("grad-penalty-")}
    return eqs + update.equations(d.spec, first=len(eqs) + 1, penalties=penalties)


def penalty_equations(d: Derivation, first: int) -> list[Equation]:
    """With weight decay: Ω (:func:`derive.core.decay.penalty`), and ∂Ω/∂θ of each decayed layer by ``sympy.diff``.

    The penalty is a sum over summation indices; differentiating it by w_ji leaves a Piecewise
    on the index range, which :func:`in_range` resolves, and the Kronecker deltas of a one-unit
    layer, which :func:`single_units` writes back as the index letter. Nothing is assumed about
    the result: whatever SymPy gives is the rule the trainer prints and the proof checks.
    """
    spec = d.spec
    if not spec.weight_decay:
        return []
    b = _Builder(d)
    b.add("penalty", "weight-decay penalty", decay.OMEGA, decay.penalty(spec, display=True))
    omega = decay.penalty(spec)
    for layer in reversed(d.layers):
        l, j, i = layer.index, naming.index(layer.index), naming.index(layer.index - 1)
        for kind, theta in (("weight", b.family(layer, "w")[j, i]), ("bias", b.family(layer, "b")[j])):
            if decay.decays(spec, kind):
                rhs = in_range(sp.diff(omega, theta).doit(), b.ranges(l - 1, l))
                what = f"penalty gradient, {kind}s of layer {l}"
                b.add(f"grad-penalty-{kind[0]}-{l}", what, sp.Derivative(decay.OMEGA, theta), rhs)
    return [dataclasses.replace(e, number=first + n) for n, e in enumerate(b.eqs)]


def penalty_gradient(d: Derivation, symbol: sp.Symbol) -> sp.Expr:
    """∂Ω/∂θ of one concrete parameter: its layer's derived penalty rule at its units (0 when not decayed)."""
    info = naming.info(symbol, d.spec.n_layers)
    try:
        rule = d.equation(f"grad-penalty-{info.role}-{info.layer}").rhs
    except KeyError:
        return sp.Integer(0)
    units = dict(zip((naming.index(info.layer), naming.index(info.layer - 1)), info.indices))
    return concretize(rule.xreplace(units), d.spec.n_layers)


def in_reading_order(eqs: list[Equation]) -> list[Equation]:
    """The equations renumbered in the order the document prints them.

    The document derives the weight gradients layer by layer and the bias
    gradients together in a section after them, so the bias equations move
    behind every weight equation (keeping their own order).
    """
    ordered = [e for e in eqs if not e.id.startswith("grad-b-")] + [e for e in eqs if e.id.startswith("grad-b-")]
    return [dataclasses.replace(e, number=n) for n, e in enumerate(ordered, start=1)]


def _instances_match(generic: sp.Expr, layer: Layer, j: sp.Symbol, n_layers: int) -> bool:
    for m, form in enumerate(layer.delta_forms, start=1):
        inst = concretize(generic.xreplace({j: m}).doit(), n_layers)
        if sp.expand(inst - form) != 0:
            return False
    return True
