"""Stage 3: prove every parameter's δ form equal to the raw derivative.

For each parameter θ the raw derivative dE/dθ of the fully expanded error
(every a, z, y replaced by its expression in the inputs, weights and biases)
is compared with the δ form after the same expansion. Methods, in order:

``symbolic``
    every function application (exp, log, tanh, Max, Heaviside, ...) in the
    difference is named by a fresh symbol and the resulting rational function
    is cancelled to 0. Because naming is a substitution, a zero after
    cancelling proves the identity. Each exp is named whole first (exp(c s) is
    the c-th power of the named exp(s), for a rational c: few symbols, fast);
    when that does not cancel, exp of a sum is written as the product of the
    named exps of its terms and the difference is cancelled again.
``symbolic-simplify``
    ``sympy.simplify`` of the difference is 0.
``random-points``
    both sides agree to 40 significant digits at several random points. Only
    used when the symbolic methods give up; the record says so.
``directional``
    large nets (``Derivation.per_layer``): the cost above is quadratic in the number
    of parameters, so each layer's parameters are checked at once against a
    forward-mode derivative of E along random directions, at random points,
    with a stated bound on the chance of a false pass (:mod:`derive.prove.directional`).

A difference that is not zero at a random point is a bug in the derivation and
raises :class:`VerificationError`. :func:`derive.prove.verify.verify` chooses the method.
"""

from __future__ import annotations

import random

import mpmath
import sympy as sp

from derive.core import calculus, decay, rules
from derive.core.model import Derivation, Layer, Proof
from derive.progress import Progress
from derive.prove import rational, workers

DIGITS = 50
TOLERANCE = mpmath.mpf(10) ** -40


class VerificationError(AssertionError):
    """A δ form differs from the raw derivative."""


def expansions(d: Derivation, abstract_hidden: bool = False) -> dict[sp.Symbol, sp.Expr]:
    """Every a, z, y and δ symbol as an expression of inputs, targets and parameters.

    With ``abstract_hidden`` the hidden activations stay undefined functions
    h_l (see :func:`lemma_rewrite`); the output layer is always concrete.
    """
    full: dict[sp.Symbol, sp.Expr] = {}
    for layer in d.layers:
        for aj, pre in zip(layer.a, layer.pre):
            full[aj] = pre.xreplace(full)
        if abstract_hidden and not layer.is_output:
            h = hidden_function(layer)
            for out, aj in zip(layer.out, layer.a):
                full[out] = h(full[aj])
        else:
            for out, act in zip(layer.out, layer.act):
                full[out] = act.xreplace(full)
    for layer in reversed(d.layers):
        for dj, form in zip(layer.delta, layer.delta_forms):
            full[dj] = form.xreplace(full)
    return full


def hidden_function(layer: Layer) -> sp.Function:
    """The undefined function standing for a hidden layer's activation."""
    return sp.Function(f"h_{layer.index}")


def lemma_rewrite(expr: sp.Expr, d: Derivation) -> sp.Expr:
    """Replace h_l'(a) by what the core proved it equals: g(h_l(a)), or f'(a) itself.

    The lemma f'(a) = g(f(a)) was checked by SymPy in :mod:`derive.core.calculus`
    when the output form was found; f'(a) is sympy.diff of the definition.
    """
    layers = {hidden_function(layer): layer for layer in d.layers if not layer.is_output}

    def use_lemma(sub: sp.Subs) -> sp.Expr:
        fn, point = sub.expr.expr.func, sub.point[0]
        layer = layers[fn]
        if layer.fprime_out is not None:
            return layer.fprime_out.subs(calculus.Y, fn(point))
        return layer.fprime.subs(calculus.A, point)

    return expr.replace(
        lambda e: isinstance(e, sp.Subs) and isinstance(e.expr, sp.Derivative) and e.expr.expr.func in layers,
        use_lemma,
    )


class _Namer:
    """Names function applications consistently (the atomisation of the module doc).

    With ``split_exp`` exp of a sum is the product of the named exps of its terms;
    without, exp(c s) is the c-th power of the named exp(s) for the sum s whole.
    """

    def __init__(self, split_exp: bool = True) -> None:
        self.names: dict[sp.Expr, sp.Symbol] = {}
        self.split_exp = split_exp
        self.done: dict[sp.Expr, sp.Expr] = {}  # every subexpression renamed once

    def fresh(self, key: sp.Expr) -> sp.Symbol:
        if key not in self.names:
            self.names[key] = sp.Symbol(f"_u{len(self.names)}")
        return self.names[key]

    def exp(self, arg: sp.Expr) -> sp.Expr:
        if not self.split_exp:
            coeff, rest = sp.expand(self(arg)).as_content_primitive()
            if rest.could_extract_minus_sign():
                coeff, rest = -coeff, -rest
            return self.fresh(sp.exp(rest)) ** coeff
        result = sp.Integer(1)
        for term in sp.Add.make_args(sp.expand(arg)):
            coeff, rest = term.as_coeff_Mul()
            result *= self.fresh(sp.exp(self(rest))) ** coeff
        return result

    def __call__(self, e: sp.Expr) -> sp.Expr:
        if e.is_Atom:
            return e
        if e not in self.done:
            self.done[e] = self._rename(e)
        return self.done[e]

    def _rename(self, e: sp.Expr) -> sp.Expr:
        if isinstance(e, sp.exp):
            return self.exp(e.args[0])
        if isinstance(e, sp.Pow) and not e.exp.is_Number:
            # SymPy writes exp(w*log(X)) as X**w in some places and not in others
            return self.exp(e.exp * sp.log(e.base))
        if isinstance(e, sp.Function):
            return self.fresh(e.func(*[self(a) for a in e.args]))
        if isinstance(e, (sp.Max, sp.Min)):
            # rebuilt unevaluated: Max's evaluation compares its arguments pairwise (seconds per call on a
            # relu layer's sums); an unevaluated Max with renamed arguments is the same function of them
            return e.func(*[self(a) for a in e.args], evaluate=False)
        return e.func(*[self(a) for a in e.args])


Functions = dict[sp.FunctionClass, sp.Lambda]


def prove_symbolic(diff: sp.Expr, functions: Functions | None = None) -> str | None:
    """Return the method that showed ``diff`` is 0, or None.

    ``sympy.simplify`` can take minutes on a difference that is not zero, so it
    is tried only when ``diff`` is zero at a few random points (undefined
    functions evaluated by their definitions in ``functions``).
    """
    for split_exp in (False, True):
        named = _Namer(split_exp)(diff)
        zero = rational.is_zero(named)  # no gcds: decides most differences at a fraction of cancel's cost
        if zero is None:
            zero = sp.cancel(sp.together(named)) == 0
        if zero:
            return "symbolic"
    if nonzero_somewhere(diff, functions):
        return None
    if sp.simplify(diff) == 0:
        return "symbolic-simplify"
    return None


def nonzero_somewhere(expr: sp.Expr, functions: Functions | None = None, seed: int = 0, n_points: int = 4) -> bool:
    """True if ``expr`` is clearly not 0 at one of a few random points (relu units may be off at some)."""
    rng = random.Random(seed)
    for _ in range(n_points):
        try:
            value = _at_random_point(expr, rng, functions)
        except (TypeError, ValueError, ZeroDivisionError):
            return False
        if value is not None and abs(value) > TOLERANCE:
            return True
    return False


def _at_random_point(expr: sp.Expr, rng: random.Random, functions: Functions | None = None) -> mpmath.mpf | None:
    """``expr`` at coordinates in [-2, 2], to DIGITS digits, or None if it has no real value there.

    Substituting Floats lets SymPy evaluate node by node (lambdify would turn
    Heaviside of nested Max into a Piecewise that grows exponentially with
    depth); undefined functions are replaced once their arguments are numbers.
    """
    syms = sorted(expr.free_symbols, key=sp.default_sort_key)
    point = {s: sp.Float(sp.Rational(rng.randint(-2000, 2000), 1000), DIGITS) for s in syms}
    value = expr.xreplace(point)
    for fn, definition in (functions or {}).items():
        value = value.replace(fn, definition)
    value = sp.N(value, DIGITS)
    if not value.is_number or not value.is_real:
        return None
    return mpmath.mpf(str(value)) if value.is_finite else None


def hidden_definitions(d: Derivation) -> Functions:
    """Each undefined hidden activation h_l with its definition, for numeric evaluation."""
    return {
        hidden_function(layer): sp.Lambda(calculus.A, calculus.elementwise(layer.activation).f)
        for layer in d.layers
        if not layer.is_output
    }


def random_points(diff: sp.Expr, seed: int, n_points: int = 4, functions: Functions | None = None) -> str:
    """Check ``diff`` is 0 at random points to 40 digits; raise VerificationError if not."""
    rng = random.Random(seed)
    for _ in range(n_points):
        value = _at_random_point(diff, rng, functions)
        if value is None or abs(value) > TOLERANCE:
            shown = "no real value" if value is None else f"difference {mpmath.nstr(value, 5)}"
            raise VerificationError(f"{shown} at a random point")
    return f"zero to 40 digits at {n_points} random points (seed {seed}, coordinates in [-2, 2])"


#: Nets up to this many weight layers are proved with every activation concrete.
CONCRETE_MAX_LAYERS = 2

_DETAILS = {
    # no letters: the documents print these in whichever notation they use
    "symbolic": "sympy.diff of the fully expanded error minus the backpropagated form cancels to 0 "
    "(exp/log/tanh/Max/Heaviside applications named as symbols)",
    "symbolic-lemma": "sympy.diff of the expanded error with each hidden activation an undefined "
    "function, its derivative replaced by the proved lemma that writes it in the activation's own value, "
    "minus the backpropagated form cancels to 0",
    "symbolic-simplify": "sympy.simplify of (sympy.diff of the expanded error minus the backpropagated form) is 0",
}


#: what a proof with weight decay compared, added to its detail
DECAY_DETAIL = (
    "with weight decay the expanded error includes the penalty Ω = (λ/2) Σ θ² over the decayed parameters' symbols, "
    "and the backpropagated form carries the penalty gradient derived from the generic Ω"
)


def prove_parameters(d: Derivation) -> dict[str, int]:
    """Prove every parameter of a unit-by-unit derivation; set ``proof`` and ``expanded``; count the methods."""
    abstract = d.spec.n_layers > CONCRETE_MAX_LAYERS
    full = expansions(d, abstract_hidden=abstract)
    # with weight decay the objective is J = E + Ω: its raw derivative is compared with the δ form plus
    # the penalty gradient the core derived from the generic Ω (here Ω is summed over the concrete symbols)
    E_full = d.loss.xreplace(full) + decay.concrete_penalty(d.spec, d.parameters)
    constraint: dict[sp.Symbol, sp.Expr] = {}
    if d.assumptions:  # the targets sum to one: eliminate the last target
        *rest, last = d.targets
        constraint = {last: 1 - sp.Add(*rest)}
    counts: dict[str, int] = {}
    functions = hidden_definitions(d) if abstract else None

    def prove_one(n: int) -> tuple[sp.Expr, str, str]:
        p = d.parameters[n]
        raw = sp.diff(E_full, p.symbol)
        if abstract:
            raw = lemma_rewrite(raw, d)
        diff = (raw - (p.gradient + rules.penalty_gradient(d, p.symbol)).xreplace(full)).xreplace(constraint)
        method = prove_symbolic(diff, functions)
        if method == "symbolic" and abstract:
            method = "symbolic-lemma"
        if method is None:
            return raw, "random-points", random_points(diff, seed=n, functions=functions)
        return raw, method, _DETAILS[method]

    progress = Progress("prove", len(d.parameters))
    # each parameter's proof reads only d: they run side by side, the results come back in order
    for p, (raw, method, detail) in zip(d.parameters, workers.ordered(prove_one, len(d.parameters))):
        p.expanded = raw
        if d.spec.weight_decay:
            detail += f"; {DECAY_DETAIL}"
        p.proof = Proof(method, detail, tuple(d.assumptions))
        counts[method] = counts.get(method, 0) + 1
        progress.update(p.layer, 1)
    progress.close()
    for g in d.parameter_groups:
        mine = [p.proof for p in d.parameters if p.key == g.key]
        methods = sorted({q.method for q in mine})
        if len(methods) == 1 and len({q.detail for q in mine}) == 1:
            g.proof = mine[0]
        else:
            g.proof = Proof(
                "+".join(methods), "each parameter proved separately; see its own record", mine[0].assumptions
            )
    return counts
