"""The gcd-free zero test agrees with sympy.cancel and never passes a wrong δ form."""

from __future__ import annotations

import random

import pytest
import sympy as sp

from derive import derive, make_spec
from derive.prove import rational
from derive.prove.symbolic import VerificationError, _Namer, prove_symbolic
from derive.prove.verify import verify

X, Y, Z = sp.symbols("x y z")
F = sp.Function("f")


def _random_rational(rng: random.Random, depth: int) -> sp.Expr:
    """A random expression built from sums, products and integer powers of x, y, z and f(x).

    f is undefined, so f(x) is independent of x, y, z, as a named function application is in a proof.
    """
    if depth == 0:
        return rng.choice([X, Y, Z, F(X), sp.Integer(rng.randint(-3, 3)), sp.Rational(rng.randint(1, 4), 3)])
    a, b = _random_rational(rng, depth - 1), _random_rational(rng, depth - 1)
    op = rng.choice(["add", "mul", "div", "pow"])
    if op == "add":
        return a + b
    if op == "mul":
        return a * b
    if op == "div":
        return a / b if b != 0 else a
    return a ** rng.randint(-2, 3) if a != 0 else b


@pytest.mark.parametrize("seed", range(40))
def test_agrees_with_cancel_on_random_rational_functions(seed):
    rng = random.Random(seed)
    e = _random_rational(rng, 3)
    # every other case is a difference that is zero by construction, written differently
    if seed % 2:
        e = sp.expand(sp.together(e)) - sp.factor(e) if e.is_Add or e.is_Mul or e.is_Pow else e - e
    expected = sp.simplify(e) == 0  # (cancel can leave a sum like -16/9 + 16/9 unevaluated)
    assert rational.is_zero(e) in (expected, None)
    if e.is_Add or e.is_Mul:
        assert rational.is_zero(e) is not None


def test_zero_only_by_a_common_denominator():
    # 1/(x+y) - x/(x^2 + x y): the denominators differ, the difference is 0
    assert rational.is_zero(1 / (X + Y) - X / (X**2 + X * Y)) is True
    assert rational.is_zero(1 / (X + Y) - 1 / X) is False
    assert rational.is_zero((X + 1) ** 2 / (X + 1) - X - 1) is True
    assert rational.is_zero(sp.exp(X) ** 2 - sp.exp(X) * sp.exp(X)) is True


@pytest.mark.parametrize(
    "expr",
    [sp.sqrt(X) - X, sp.Float(0.5) * X - Y, X ** sp.Rational(1, 3)],
    ids=["sqrt", "float", "cube-root"],
)
def test_undecided_outside_rational_functions(expr):
    assert rational.is_zero(expr) is None


def test_the_term_cap_gives_up_instead_of_growing():
    big = (X + Y + Z + 1) ** 8 - sp.expand((X + Y + Z + 1) ** 8)  # 165 terms
    assert rational.is_zero(big, max_terms=50) is None
    assert rational.is_zero(big) is True


NETS = [
    ("2-3-2", "sigmoid", "sse"),
    ("3-4-3", "relu,softmax", "ce"),
    ("2-2-1", "sigmoid", "bce"),
    ("2-3-2", "softplus", "mse"),
]


@pytest.mark.parametrize("arch,act,loss", NETS, ids=["-".join(n) for n in NETS])
def test_true_delta_forms_are_proved_symbolically(arch, act, loss):
    d = verify(derive(make_spec(arch, act, loss)))
    assert all(p.proof.method == "symbolic" for p in d.parameters)


#: wrong δ forms of the first hidden unit, each a mistake real derivations make
MUTATIONS = {
    "doubled": lambda form, layer: 2 * form,
    "sign": lambda form, layer: -form,
    "extra term": lambda form, layer: form + layer.out[0],
    "f' dropped": lambda form, layer: form / layer.out[0],
    "f' squared": lambda form, layer: form * layer.out[0],
    "other unit's output": lambda form, layer: form.xreplace({layer.out[0]: layer.out[-1]}),
}


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_a_wrong_delta_form_is_never_proved(mutation):
    spec = make_spec("2-3-2", "sigmoid", "sse")
    d = derive(spec, per_layer=False)
    hidden = d.layers[0]
    hidden.delta_forms[0] = MUTATIONS[mutation](hidden.delta_forms[0], hidden)
    with pytest.raises(VerificationError):
        verify(d, "symbolic")


def test_named_differences_of_a_wrong_form_are_nonzero_for_the_fast_test():
    # the fast test says False (not None) for a wrong form, so the proof moves on without cancel
    d = derive(make_spec("2-3-2", "sigmoid", "sse"), per_layer=False)
    p = d.parameters[0]
    from derive.prove.symbolic import expansions

    full = expansions(d)
    E = d.loss.xreplace(full)
    wrong = sp.diff(E, p.symbol) - 2 * p.gradient.xreplace(full)
    assert rational.is_zero(_Namer(False)(wrong)) is False
    assert prove_symbolic(sp.diff(E, p.symbol) - p.gradient.xreplace(full)) == "symbolic"
