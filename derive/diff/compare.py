"""Stage 5: compare textbook forms with the Derivation and name the mistakes.

For every form of a source (see :mod:`derive.diff.catalog.sources`) and every concrete
unit it applies to, the source side is mapped onto canonical symbols
(:mod:`derive.diff.instantiate`) and compared with what the Derivation says the
same quantity is, at random points where every canonical symbol has the value
of its full expansion (:mod:`derive.diff.numbers`); with relu units, at points enough to see
every unit on both sides of its kink (:func:`~derive.diff.numbers.sample`). Verdicts:

``equal``                   the form is the derived quantity;
``equal_under_convention``  it is the derived quantity times the factor the
                            source's own stated conventions imply (δ ≡ −∂E/∂net,
                            ascent on P = −E, ...);
``different``               neither; the record names the mistake when the form
                            equals the correct one with a known mistake applied,
                            and always carries a counterexample.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import mpmath
import sympy as sp

from derive.core import naming, symbolic
from derive.core.model import Derivation
from derive.diff import instantiate
from derive.diff.catalog.sources import Form, Source
from derive.diff.counterexample import counterexample, layer_name
from derive.diff.notation import claim_text, form_text
from derive.diff.numbers import DIGITS, Env, close, evaluate, points, sample, scaled
from derive.diff.truth import ADAM_MISTAKES, DECAY_MISTAKES, MOMENTUM_MISTAKES, chain, truth, variants
from derive.prove.symbolic import expansions, prove_symbolic
from derive.spec import ACTIVATIONS, make_spec

#: Equal verdicts on nets up to this size are also proved symbolically (beyond it: random points only).
SYMBOLIC_MAX_PARAMETERS = 40

#: The mistakes the diff can name (ids are part of the JSON output).
MISTAKES = {
    "sigmoid_derivative_squared": "σ′(a) is written as σ(a)² = 1/(1 + e⁻ᵃ)², but σ′(a) = σ(a)(1 − σ(a)).",
    "derivative_of_preactivation": "f′ in its output form (y(1 − y) for σ, 1 − y² for tanh) is applied to the "
    "pre-activation a instead of the unit's output y = f(a).",
    "canonical_link_outside": "δ = y − t holds only for a matching output and loss (linear with squared error, "
    "sigmoid with cross-entropy, softmax with cross-entropy); here the factor f′ is missing.",
    "missing_derivative": "A hidden unit's δ lacks the factor f′(a) of its own activation: Σₖ wₖⱼ δₖ is ∂E/∂zⱼ, "
    "not δⱼ.",
    "dropped_half": "The result is off by a factor 2: the ½ of the squared error is dropped (or doubled).",
    "dropped_sign": "The result has the wrong sign: a minus sign is dropped.",
    "transposed_index": "The weight's indices are swapped (w_jk where the source's own index order needs w_kj).",
    "updated_weights_in_backward": "A δ is computed from weights that an earlier step has already updated "
    "(w⁽ᵗ⁺¹⁾ instead of w⁽ᵗ⁾).",
    "wrong_layer": "A quantity of one layer stands where the formula needs another layer's (e.g. the hidden "
    "output where the input belongs).",
    "new_weight_for_step": "The form is the new weight w + Δw, but the target update_w means the change Δw; "
    "write the change, or compare w_new − w.",
    **{name: text for name, (_, text) in DECAY_MISTAKES.items()},
    **MOMENTUM_MISTAKES,
    **ADAM_MISTAKES,
}


@dataclass
class ReferenceNet:
    """The derived network every form is compared against: its Derivation, label and shared sample points."""

    d: Derivation
    constrained: bool  # the targets are assumed to sum to one (softmax with cross-entropy)
    label: str
    full: dict[sp.Symbol, sp.Expr] | None = None  # expansions, built on demand for small nets

    _points: list[Env] | None = None
    _envs: list[Env] | None = None

    def sample(self, free: list[sp.Symbol]) -> tuple[list[Env], list[Env]]:
        """The network's random points and their environments (shared by all forms), plus free symbols."""
        if self._points is None:
            self._points, self._envs = sample(self.d, f"{self.d.spec.arch}:{self.label}", self.constrained)
        extra = points(self.d, "free", set(free), self.constrained, len(self._points)) if free else None
        if not extra:
            return self._points, self._envs
        add = [{s: e[s] for s in free} for e in extra]
        return [{**p, **a} for p, a in zip(self._points, add)], [{**e, **a} for e, a in zip(self._envs, add)]

    def expanded(self, expr: sp.Expr) -> sp.Expr:
        if self.full is None:
            self.full = expansions(self.d)
        constraint = {}
        if self.constrained:
            *rest, last = self.d.targets
            constraint = {last: 1 - sp.Add(*rest)}
        return expr.xreplace(self.full).xreplace(constraint)


@cache
def reference_net(
    arch: str, act: str, loss: str, bias: bool, weight_decay: bool = False, decay_biases: bool = False
) -> ReferenceNet:
    """The Derivation a source is compared against (cached per network)."""
    spec = make_spec(arch, act, loss, bias=bias, mean=False, weight_decay=weight_decay, decay_biases=decay_biases)
    d = symbolic.derive(spec)
    decay = (", weight decay on weights and biases" if decay_biases else ", weight decay") if weight_decay else ""
    label = f"{'/'.join(spec.activations)}, {loss}{'' if bias else ', no bias'}{decay}"
    return ReferenceNet(d, bool(d.assumptions), label)


def source_act(source: Source, arch: str, act: str | None) -> str:
    """The activation option for a source: the user's, else the source's (hidden,output) pair."""
    if act:
        return act
    parts = [p.strip() for p in source.act.split(",")]
    if len(parts) == 1 or any(p not in ACTIVATIONS for p in parts):
        return source.act
    n_layers = len(arch.split("-")) - 1
    return ",".join([parts[0]] * (n_layers - 1) + [parts[-1]])


def factor(source: Source, target: str) -> sp.Rational:
    """What the source's conventions multiply the derived quantity by."""
    conv = source.conventions
    scale = sp.Rational(str(conv.get("error_scale", 1)))  # a number, checked by the loader
    if target == "delta":
        return int(conv.get("delta_sign", 1)) * scale
    if target in ("dE_dy", "dE_dout", "grad_w", "grad_b"):
        return scale
    if target in ("update_w", "update_b"):
        return (1 if conv.get("update", "descent") == "descent" else -1) * scale
    return sp.Integer(1)


def convention_text(source: Source, target: str) -> str:
    conv = source.conventions
    keys = ("delta", "error") if target == "delta" else ("update_note", "error") if "update" in target else ("error",)
    return "; ".join(str(conv[k]) for k in keys if k in conv)


# --------------------------------------------------------------------------
# Verdicts
# --------------------------------------------------------------------------


@dataclass
class _Rows:
    """The instances of one form with their points and environments."""

    ctx: ReferenceNet
    insts: list[instantiate.Instance]
    truths: list[sp.Expr]
    pts: list[Env]
    envs: list[Env]
    target: str
    z: sp.Symbol | None

    def matches(self, c, F=None, Fz=None, side_name="expr", decay=None) -> bool:
        """Every defined instance equals c times the truth (under a mistake model F, or ``decay``
        of :data:`~derive.diff.truth.DECAY_MISTAKES`) at every point."""
        seen = False
        for inst, tru in zip(self.insts, self.truths):
            side = side_name(inst) if callable(side_name) else getattr(inst, side_name)
            if side is None:
                continue
            seen = True
            if F is not None or Fz is not None or decay is not None:
                tru = truth(self.ctx, self.target, inst.layer, inst.units, F or Fz, self.z, decay)
            for env in self.envs:
                want_env = chain(self.ctx, F, env) if F is not None else env
                if not close(evaluate(side, env), scaled(c, evaluate(tru, want_env))):
                    return False
        return seen

    def ratio(self, c) -> mpmath.mpf | None:
        """The constant source/expected ratio over every unit and point, if there is one."""
        found = None
        for inst, tru in zip(self.insts, self.truths):
            for env in self.envs if inst.expr is not None else ():
                want = scaled(c, evaluate(tru, env))
                if abs(want) < 1e-12:
                    continue
                with mpmath.workdps(DIGITS):
                    r = evaluate(inst.expr, env) / want
                if found is not None and not close(r, found):
                    return None
                found = r
        return found


def compare_form(source: Source, form: Form, ctx: ReferenceNet, explain: bool = True) -> dict | None:
    """The verdict record of one form, or None when it does not apply to this network.

    With ``explain=False`` only the verdict is computed (no symbolic proof of an equal
    form, no counterexample or named mistake for a different one): what a bulk check needs.
    """
    insts = instantiate.build(form, ctx.d, source.functions, factor(source, "delta"))
    if form.target == "fprime":  # softmax has a Jacobian, not an elementwise f'
        insts = [i for i in insts if ctx.d.layers[i.layer - 1].activation != "softmax"]
    if not insts:
        return None
    c = factor(source, form.target)
    free = {s for i in insts for e in (i.expr, i.fixed) if e is not None for s in e.free_symbols}
    free = sorted((s for s in free if s.name.startswith("free_")), key=str)
    if form.target == "sigmoid_prime" and not free:  # a constant claimed to be sigma'(z): z is still the variable
        names = [n for n, spec in form.symbols.items() if spec.kind == "free"]
        if not names:
            raise instantiate.FormError('a sigmoid_prime form needs a symbol of kind "free" for its variable')
        free = [sp.Symbol(f"free_{names[0]}", real=True)]
    pts, envs = ctx.sample(free)
    z = free[0] if free else None
    truths = [truth(ctx, form.target, i.layer, i.units, free=z) for i in insts]
    rows = _Rows(ctx, insts, truths, pts, envs, form.target, z)
    record = {
        "source": source.id,
        "formula": form.id,
        "citation": form.citation,
        "latex": form.latex,
        "form": f"{claim_text(form)} = {form_text(form.tree)}",
        "title": source.title,
        "target": form.target,
        "network": f"{ctx.d.spec.arch} ({ctx.label})",
        "verdict": "different",
        "convention": None,
        "mistake": None,
        "explanation": form.note or None,
        "counterexample": None,
        "method": f"values of the fully expanded forms at {len(pts)} random points to {DIGITS} digits, "
        f"on {len(insts)} unit(s)",
    }
    transposed = any(i.transposed or i.missing for i in insts)
    if not transposed and rows.matches(c):
        if explain and ctx.d.spec.n_parameters <= SYMBOLIC_MAX_PARAMETERS and ctx.d.spec.n_layers <= 2:
            proved = all(prove_symbolic(ctx.expanded(i.expr - c * t)) for i, t in zip(insts, truths))
            if proved:
                record["method"] = (
                    f"symbolic: source minus derived, fully expanded, cancels to 0 on {len(insts)} unit(s)"
                )
        record["verdict"] = "equal" if c == 1 else "equal_under_convention"
        record["convention"] = None if c == 1 else convention_text(source, form.target)
        return record
    if not explain:
        return record
    record["counterexample"] = counterexample(rows, c, form, factor(source, "delta"))
    mistake, why = classify(form, rows, c)
    record["mistake"], record["explanation"] = mistake, why or record["explanation"]
    if c != 1:
        record["convention"] = convention_text(source, form.target)
    return record


def classify(form: Form, rows: _Rows, c) -> tuple[str | None, str | None]:
    """Name the mistake a differing form makes, if it is one of :data:`MISTAKES`."""
    conflicts = [x for i in rows.insts for x in i.conflicts]
    if conflicts and rows.matches(c, side_name="relettered"):
        written, declared, wanted = conflicts[0]
        L = rows.ctx.d.spec.n_layers
        return "wrong_layer", (
            f"{written} is a quantity of {layer_name(declared, L)} (as declared), but the correct formula has "
            f"{layer_name(wanted, L)}'s quantity there, the layer its index letter runs over."
        )
    if form.target in ("update_w", "update_b"):
        role = "w" if form.target == "update_w" else "b"

        def step(inst):
            return None if inst.expr is None else inst.expr - naming.symbol(role, inst.layer, *inst.units)

        if rows.matches(c, side_name=step):
            return "new_weight_for_step", MISTAKES["new_weight_for_step"]
    if any(i.transposed for i in rows.insts):
        if rows.matches(c, side_name="fixed"):
            return "transposed_index", "The form equals the derived one once the weight's two indices are swapped."
        return "transposed_index", "The weight's indices are swapped (and something else differs too)."
    if rows.ctx.d.spec.weight_decay and form.target in ("grad_w", "grad_b", "update_w", "update_b"):
        for name, (model, text) in DECAY_MISTAKES.items():
            if rows.matches(c, decay=model):
                return name, text
    if c != 1 and rows.matches(sp.Integer(1)):
        name = {-1: "dropped_sign", 2: "dropped_half", sp.Rational(1, 2): "dropped_half"}.get(c)
        return name, "The form equals the derived +∂E quantity, not the one the source's own convention defines."
    for r, name in ((-1, "dropped_sign"), (2, "dropped_half"), (sp.Rational(1, 2), "dropped_half")):
        if rows.matches(r * c):
            return name, f"The form equals {r} times the correct value."
    ratio = rows.ratio(c)
    if ratio is not None:
        return None, f"The form is off by the constant factor {mpmath.nstr(ratio, 8)}."
    for name, F, Fz in variants(rows.ctx):
        if (form.target == "sigmoid_prime") != (Fz is not None):
            continue
        if rows.matches(c, F=F, Fz=Fz):
            hidden = all(i.layer < rows.ctx.d.spec.n_layers for i in rows.insts)
            if name == "canonical_link_outside" and hidden:  # seen from a hidden unit: what is sent back
                return name, (
                    "The error sent back to this layer is the output error y − t without the output units' f′; "
                    "δ = y − t holds only for a matching output and loss (linear with squared error, "
                    "sigmoid or softmax with cross-entropy)."
                )
            return name, MISTAKES[name]
    return None, None
