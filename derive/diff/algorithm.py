"""Compare a source's training algorithm, written as ordered steps, with the derived update rule.

Some mistakes are not in any single formula but in the order of the steps:
B. Van Veen's slides "The Backpropagation Algorithm for Training Neural
Networks" (2019) update the output weights and then compute the hidden δ with
the new weights v^{t+1}. A source's algorithm is a list of assignments in its own
notation (parsed by :mod:`derive.diff.safeparse`); this module runs them on numbers
exactly as written (a weight assigned in one step is read with its new value by
the later steps) and compares the weights after each step with the rule the
algorithm declares (``optimizer``; :mod:`derive.diff.rule` runs it): one step of
w − η ∂E/∂w for plain descent (∂(E + Ω)/∂w with weight decay), every
gradient from the pre-update weights. When
they differ it runs the same steps once more with every weight read at its
pre-update value; if that agrees, the mistake is named
``updated_weights_in_backward``; otherwise a variant of the rule with one known
mistake applied may name it.

Momentum has state: a symbol of kind ``increment`` is the previous change
Δθ(t−1) of the parameter its indices name; the steps read it and assign the new
change to it, and the runner carries it from one step to the next (starting
from a random change, with a random α), over several steps.

Adam's state is the same kind of thing: symbols of kind ``first_moment`` and
``second_moment`` are the moments m and v of the parameter their indices name, and
one of kind ``step`` is the count t of steps taken (``t = t + 1``, then β1**t);
the runner starts from random moments, t and β1, β2, ε, and carries them on.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import mpmath
import sympy as sp

from derive.core.update import ALPHA
from derive.diff import rule as rules
from derive.diff.builder import Builder
from derive.diff.catalog.sources import Algorithm, Source
from derive.diff.catalog.types import STATE_KINDS
from derive.diff.compare import MISTAKES, ReferenceNet
from derive.diff.layers import NotApplicable, Undefined, layer_number
from derive.diff.notation import SourceNames, form_text
from derive.diff.numbers import DIGITS, Env, close, environment, short
from derive.diff.rule import AdamState, gradient_rule

__all__ = ["compare_algorithm", "gradient_rule"]

#: Unit-steps (one step on one unit or weight) one run of an algorithm may take on a network.
MAX_UNIT_STEPS = 50_000
#: A step whose value grows beyond this is refused before the next step feeds it to exp.
MAX_VALUE = mpmath.mpf(10) ** 50


class _StepBuilder(Builder):
    """Resolves a step's names to numbers: weights and changes from the running state, temporaries by unit."""

    def __init__(self, run: _Run) -> None:
        super().__init__(run.ctx.d, run.alg, run.functions, run.ctx.d.spec.n_layers)
        self.run = run

    def ref(self, name: str, idx: tuple, env: dict) -> sp.Expr:
        if name in self.run.temps:
            key = (name, tuple(env[i][1] if isinstance(i, str) else i for i in idx))
            if key not in self.run.temps[name]:
                raise KeyError(f"{name}{list(key[1])} is read before it is assigned")
            return self.run.temps[name][key]
        kind = self.form.symbols[name].kind
        if kind in STATE_KINDS:
            return sp.Float(self.run.state[kind][self.parameter(name, idx, env)], DIGITS)
        if kind == "step":
            return sp.Float(self.run.t, DIGITS)
        sym = super().ref(name, idx, env)
        return sp.Float(self.run.read(sym), DIGITS)

    def parameter(self, name: str, idx: tuple, env: dict) -> sp.Symbol:
        """The parameter ``name[idx]`` is (a weight or bias), or whose change it is (an increment)."""
        spec = self.form.symbols[name]
        if spec.kind in STATE_KINDS:  # the state of a weight with two indices, of a bias with one
            spec = dataclasses.replace(spec, kind="weight" if len(idx) == 2 else "bias")
        return self.resolve(name, spec, idx, env)


class _Run:
    """One run of the steps from one state: parameters, the previous changes, forward values."""

    def __init__(self, source: Source, alg: Algorithm, ctx: ReferenceNet, state: tuple, frozen: bool) -> None:
        pt, env, prev = state
        self.alg, self.ctx, self.pt, self.frozen = alg, ctx, pt, frozen
        self.functions = source.functions
        d = ctx.d
        self.params = {sym: pt[sym] for sym, _, _ in gradient_rule(d)}
        adam = isinstance(prev, AdamState)
        self.state = {  # the state of each parameter by kind: its previous change, or Adam's moments
            "increment": {} if adam else dict(prev),
            "first_moment": dict(prev.m) if adam else {},
            "second_moment": dict(prev.v) if adam else {},
        }
        self.t = prev.t if adam else 0
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

    def work(self) -> int:
        return sum(math.prod(len(r) for r in self._ranges(target[2])) for target, _ in self.alg.steps)

    def execute(self) -> dict[sp.Symbol, mpmath.mpf]:
        for target, rhs in self.alg.steps:
            name, idx = target[1], target[2]
            ranges = self._ranges(idx)
            spec = self.alg.symbols.get(name)
            kind = spec.kind if spec is not None and spec.kind in ("weight", "bias", "step", *STATE_KINDS) else None
            if kind is None:
                self.temps.setdefault(name, {})
            new = {}
            for combo in itertools.product(*ranges):
                env = dict(combo)
                builder = _StepBuilder(self)
                result = self._value(builder, rhs, env)
                if kind == "step":
                    new[name] = result
                elif kind is not None:
                    new[builder.parameter(name, idx, env)] = result
                else:
                    units = tuple(env[i][1] if isinstance(i, str) else i for i in idx)
                    new[(name, units)] = sp.Float(result, DIGITS)
            if kind == "step":  # t = t + 1: a count, one value
                self.t = next(iter(new.values()))
                continue
            # every unit of one step reads the state from before the step (a vector assignment)
            store = self.state[kind] if kind in STATE_KINDS else self.params if kind else self.temps[name]
            store.update(new)
        return self.params


def _run(source: Source, alg: Algorithm, ctx: ReferenceNet, state: tuple, steps: int, frozen: bool) -> list[Env]:
    """The parameters after each of ``steps`` runs of the algorithm, each from the state the last one left."""
    pt, env, prev = state
    after = []
    for step in range(steps):
        if step:
            env = environment(ctx.d, pt)
        run = _Run(source, alg, ctx, (pt, env, prev), frozen)
        if run.work() * steps > MAX_UNIT_STEPS:
            raise ValueError(
                f"the steps run on {run.work() * steps} units or weights of {ctx.d.spec.arch}; "
                f"the limit is {MAX_UNIT_STEPS}"
            )
        params = run.execute()
        after.append(params)
        state = run.state
        adam = isinstance(prev, AdamState)
        pt = {**pt, **params}
        prev = AdamState(state["first_moment"], state["second_moment"], run.t) if adam else state["increment"]
    return after


def _agrees(got: list[Env], right: list[Env]) -> tuple | None:
    """None when every parameter agrees after every step, else (step, symbol, got, right) of the first miss."""
    for step, (g, r) in enumerate(zip(got, right)):
        for sym in r:
            if not close(g[sym], r[sym]):
                return step, sym, g[sym], r[sym]
    return None


def compare_algorithm(source: Source, alg: Algorithm, ctx: ReferenceNet) -> dict | None:
    """The verdict record of one algorithm, or None when it does not apply to this network."""
    if alg.n_layers is not None and alg.n_layers != ctx.d.spec.n_layers:
        return None
    pts, envs = ctx.sample([])
    derived = rules.rule(ctx.d, alg.optimizer)
    n = derived.steps
    states = []
    seed = f"{ctx.d.spec.arch}:{ctx.label}"
    if alg.optimizer == "adam":
        for pt, env, (scalars, state) in zip(pts, envs, rules.adam_starts(ctx.d, seed, len(pts))):
            states.append(({**pt, **scalars}, {**env, **scalars}, state))
    else:
        for pt, env, (alpha, prev) in zip(pts, envs, rules.starts(ctx.d, seed, len(pts))):
            states.append(({**pt, ALPHA: alpha}, {**env, ALPHA: alpha}, prev))
    record = {
        "source": source.id,
        "formula": alg.id,
        "citation": alg.citation,
        "latex": alg.latex,
        "form": "; ".join(f"{form_text(t)} ← {form_text(r)}" for t, r in alg.steps),
        "title": source.title,
        "target": f"{alg.optimizer}_step",
        "network": f"{ctx.d.spec.arch} ({ctx.label})",
        "verdict": "equal",
        "convention": None,
        "mistake": None,
        "explanation": None,
        "counterexample": None,
        "method": _method(derived, len(pts)),
    }

    def reference(r: rules.Rule) -> list[list[Env]]:
        runner = rules.run_adam if r.moments is not None else rules.run
        return [runner(r, ctx.d, *state) for state in states]

    bad, rights = None, reference(derived)
    for state, right in zip(states, rights):
        try:
            got = _run(source, alg, ctx, state, n, frozen=False)
        except NotApplicable:
            return None
        except Undefined as e:
            record["verdict"] = "different"
            record["explanation"] = f"the steps name something this network does not have: {e}"
            record["counterexample"] = {"at": alg.id, "point": None, "source_value": None, "derived_value": None}
            record["counterexample"]["note"] = str(e)
            return record
        bad = _agrees(got, right)
        if bad:
            bad = (state, *bad)
            break
    if bad is None:
        return record
    record["verdict"] = "different"
    record["counterexample"] = _counterexample(alg, ctx, *bad)

    def follows(wrong: list[list[Env]], frozen: bool = False) -> bool:
        return all(_agrees(_run(source, alg, ctx, s, n, frozen), w) is None for s, w in zip(states, wrong))

    if follows(rights, frozen=True):
        record["mistake"] = "updated_weights_in_backward"
        record["explanation"] = (
            "a later step reads weights that an earlier step already updated; "
            "with every weight read at its pre-update value the step is correct"
            + (f" ({alg.note})" if alg.note else "")
        )
        return record
    for mistake, wrong in rules.variants(derived):
        if follows(reference(wrong)):
            record["mistake"] = mistake
            record["explanation"] = MISTAKES[mistake] + (f" ({alg.note})" if alg.note else "")
            return record
    record["explanation"] = alg.note or f"the weights after the step differ from {derived.text()}"
    return record


def _method(derived: rules.Rule, n_points: int) -> str:
    if derived.moments is not None:
        return (
            f"{derived.steps} steps run on numbers at {n_points} random points to {DIGITS} digits, from random "
            f"moments m and v, step count t (0 to 3 steps taken) and β1, β2, ε, compared with {derived.text()} "
            "(each step's gradients from its own weights)"
        )
    if not derived.stateful:
        gradient = "∂(E + Ω)/∂w" if derived.decay else "∂E/∂w"
        return (
            f"one SGD step run on numbers at {n_points} random points to {DIGITS} digits, "
            f"compared with w − η {gradient} (all gradients from the pre-update weights)"
        )
    return (
        f"{derived.steps} steps run on numbers at {n_points} random points to {DIGITS} digits, from a random "
        f"previous change Δθ(t−1) and α, compared with {derived.text()} (each step's gradients from its own weights)"
    )


def _counterexample(alg: Algorithm, ctx: ReferenceNet, state: tuple, step: int, sym, got_v, right_v) -> dict:
    pt, _, prev = state
    L = ctx.d.spec.n_layers
    names = SourceNames(alg.symbols, L, L, lambda spec: layer_number(spec.layer, L, L))
    names.mark(list(pt))
    point = {names.text(k): short(v) for k, v in pt.items() if k != ALPHA or alg.optimizer != "sgd"}
    if isinstance(prev, AdamState):
        point |= {f"m({names.text(k)})": short(v) for k, v in prev.m.items()}
        point |= {f"v({names.text(k)})": short(v) for k, v in prev.v.items()}
        point["t"] = str(prev.t)
    elif alg.optimizer != "sgd":
        point |= {f"Δ{names.text(k)}(t−1)": short(v) for k, v in prev.items()}
    return {
        "at": f"{names.text(sym)} after {'one step' if step == 0 else f'{step + 1} steps'}",
        "point": dict(sorted(point.items())),
        "source_value": short(got_v),
        "derived_value": short(right_v),
    }
