"""Compare a source's training algorithm, written as ordered steps, with one correct SGD step.

Some mistakes are not in any single formula but in the order of the steps:
seed 003 updates the output weights and then computes the hidden δ with the
new weights v^{t+1}. A source's algorithm is a list of assignments in its own
notation (parsed by :mod:`derive.diff.safeparse`); this module runs them on numbers
exactly as written (a weight assigned in one step is read with its new value by
the later steps) and compares the weights after one step with the correct SGD
step, every gradient from the pre-update weights: w - η ∂E/∂w. When they
differ it runs the same steps once more with every weight read at its
pre-update value; if that agrees, the mistake is named
``updated_weights_in_backward``.
"""

from __future__ import annotations

import itertools
import math

import mpmath
import sympy as sp

from derive.core import naming
from derive.core.model import Derivation
from derive.diff.catalog.sources import Algorithm, Source
from derive.diff.compare import ReferenceNet
from derive.diff.instantiate import ETA, NotApplicable, Undefined, _Builder, layer_number
from derive.diff.notation import SourceNames, form_text
from derive.diff.numbers import DIGITS, close, evaluate, short
from derive.diff.truth import penalty_term

#: Unit-steps (one step on one unit or weight) one run of an algorithm may take on a network.
MAX_UNIT_STEPS = 50_000
#: A step whose value grows beyond this is refused before the next step feeds it to exp.
MAX_VALUE = mpmath.mpf(10) ** 50


class _StepBuilder(_Builder):
    """Resolves a step's names to numbers: weights from the running state, temporaries by unit."""

    def __init__(self, run: _Run) -> None:
        super().__init__(run.ctx.d, run.alg, run.functions, run.ctx.d.spec.n_layers)
        self.run = run

    def ref(self, name: str, idx: tuple, env: dict) -> sp.Expr:
        if name in self.run.temps:
            key = (name, tuple(env[i][1] if isinstance(i, str) else i for i in idx))
            if key not in self.run.temps[name]:
                raise KeyError(f"{name}{list(key[1])} is read before it is assigned")
            return self.run.temps[name][key]
        sym = super().ref(name, idx, env)
        return sp.Float(self.run.read(sym), DIGITS)


class _Run:
    def __init__(self, source: Source, alg: Algorithm, ctx: ReferenceNet, pt: dict, env: dict, frozen: bool) -> None:
        self.alg, self.ctx, self.pt, self.frozen = alg, ctx, pt, frozen
        self.functions = source.functions
        d = ctx.d
        self.params = {sym: pt[sym] for sym, _, _ in gradient_rule(d)}
        self.forward = {s: env[s] for layer in d.layers for s in layer.a + layer.out}
        self.temps: dict[str, dict] = {}

    def read(self, sym: sp.Symbol) -> mpmath.mpf:
        if sym in self.params:
            return self.pt[sym] if self.frozen else self.params[sym]
        if sym in self.forward:
            return self.forward[sym]
        return self.pt[sym]

    def _ranges(self, idx: tuple) -> list[list]:
        L = self.ctx.d.spec.n_layers
        ranges = []
        for letter in [i for i in idx if isinstance(i, str)]:
            layer = layer_number(self.alg.indices[letter], L, L)
            ranges.append([(letter, (layer, u)) for u in range(1, self.ctx.d.spec.sizes[layer] + 1)])
        return ranges

    def _value(self, builder: _StepBuilder, rhs, env: dict) -> mpmath.mpf:
        """One step on one unit, refused when it overflows (exp of exp of ...) instead of running out of memory."""
        try:
            with mpmath.workdps(DIGITS):
                result = mpmath.mpf(str(sp.N(builder(rhs, env), DIGITS)))
        except (OverflowError, MemoryError, RecursionError) as e:
            raise ValueError(f"a step overflows ({type(e).__name__})") from None
        if not mpmath.isfinite(result) or abs(result) > MAX_VALUE:
            raise ValueError("a step's value overflows (beyond 1e50); the steps cannot be run on numbers")
        return result

    def execute(self) -> dict[sp.Symbol, mpmath.mpf]:
        work = sum(math.prod(len(r) for r in self._ranges(target[2])) for target, _ in self.alg.steps)
        if work > MAX_UNIT_STEPS:
            raise ValueError(
                f"the steps run on {work} units or weights of {self.ctx.d.spec.arch}; the limit is {MAX_UNIT_STEPS}"
            )
        for target, rhs in self.alg.steps:
            name, idx = target[1], target[2]
            ranges = self._ranges(idx)
            is_param = name in self.alg.symbols and self.alg.symbols[name].kind in ("weight", "bias")
            if not is_param:
                self.temps.setdefault(name, {})
            new = {}
            for combo in itertools.product(*ranges):
                env = dict(combo)
                builder = _StepBuilder(self)
                result = self._value(builder, rhs, env)
                if is_param:
                    new[_Builder.ref(builder, name, idx, env)] = result
                else:
                    units = tuple(env[i][1] if isinstance(i, str) else i for i in idx)
                    new[(name, units)] = sp.Float(result, DIGITS)
            # every unit of one step reads the state from before the step (a vector assignment)
            (self.params if is_param else self.temps[name]).update(new)
        return self.params


def compare_algorithm(source: Source, alg: Algorithm, ctx: ReferenceNet) -> dict | None:
    """The verdict record of one algorithm, or None when it does not apply to this network."""
    if alg.n_layers is not None and alg.n_layers != ctx.d.spec.n_layers:
        return None
    pts, envs = ctx.sample([])
    record = {
        "source": source.id,
        "formula": alg.id,
        "citation": alg.citation,
        "latex": alg.latex,
        "form": "; ".join(f"{form_text(t)} ← {form_text(r)}" for t, r in alg.steps),
        "title": source.title,
        "target": "sgd_step",
        "network": f"{ctx.d.spec.arch} ({ctx.label})",
        "verdict": "equal",
        "convention": None,
        "mistake": None,
        "explanation": None,
        "counterexample": None,
        "method": f"one SGD step run on numbers at {len(pts)} random points to {DIGITS} digits, "
        "compared with w − η ∂E/∂w (all gradients from the pre-update weights)",
    }
    bad, rights = None, [correct_step(ctx, pt, env) for pt, env in zip(pts, envs)]
    for pt, env, right in zip(pts, envs, rights):
        try:
            got = _Run(source, alg, ctx, pt, env, frozen=False).execute()
        except NotApplicable:
            return None
        except Undefined as e:
            record["verdict"] = "different"
            record["explanation"] = f"the steps name something this network does not have: {e}"
            record["counterexample"] = {"at": alg.id, "point": None, "source_value": None, "derived_value": None}
            record["counterexample"]["note"] = str(e)
            return record
        for sym in right:
            if not close(got[sym], right[sym]):
                bad = (pt, sym, got[sym], right[sym])
                break
        if bad:
            break
    if bad is None:
        return record
    pt, sym, got_v, right_v = bad
    record["verdict"] = "different"
    L = ctx.d.spec.n_layers
    names = SourceNames(alg.symbols, L, L, lambda spec: layer_number(spec.layer, L, L))
    names.mark(list(pt))
    record["counterexample"] = {
        "at": f"{names.text(sym)} after one step",
        "point": {names.text(k): short(v) for k, v in sorted(pt.items(), key=lambda kv: names.text(kv[0]))},
        "source_value": short(got_v),
        "derived_value": short(right_v),
    }
    frozen_ok = all(
        all(close(a, right[s]) for s, a in _Run(source, alg, ctx, p, e, frozen=True).execute().items())
        for p, e, right in zip(pts, envs, rights)
    )
    if frozen_ok:
        record["mistake"] = "updated_weights_in_backward"
        record["explanation"] = (
            "a later step reads weights that an earlier step already updated; "
            "with every weight read at its pre-update value the step is correct"
            + (f" ({alg.note})" if alg.note else "")
        )
    else:
        record["explanation"] = alg.note or "the weights after one step differ from w − η ∂E/∂w"
    return record


def gradient_rule(d: Derivation):
    """(parameter, δ symbol, input symbol or None) for every weight and bias.

    The gradient of a parameter is δ_j · input_i (``Parameter.gradient``); it is
    read from the layers so that a large, lazily built Derivation is not expanded.
    """
    for layer in d.layers:
        for j, row in enumerate(layer.weights):
            for i, w in enumerate(row):
                yield w, layer.delta[j], layer.inputs[i]
        for j, b in enumerate(layer.biases or []):
            yield b, layer.delta[j], None


def correct_step(ctx: ReferenceNet, pt: dict, env: dict) -> dict[sp.Symbol, mpmath.mpf]:
    """w - η ∂E/∂w for every parameter, all from the pre-update weights (the Derivation's δ forms);
    with weight decay ∂E/∂w is that of E + Ω, the δ form plus the derived penalty term λw."""
    out = {}
    with mpmath.workdps(DIGITS):
        for sym, delta, source in gradient_rule(ctx.d):
            g = env[delta] * (1 if source is None else env[source])
            if ctx.d.spec.weight_decay:
                info = naming.info(sym, ctx.d.spec.n_layers)
                term = penalty_term(ctx, f"grad_{info.role}", info.layer, info.indices)
                g += evaluate(term, pt) if term != 0 else 0
            out[sym] = pt[sym] - pt[ETA] * g
    return out
