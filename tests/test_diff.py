"""The textbook diff: catalog verdicts, named mistakes on mutated forms, and the mistake models."""

from __future__ import annotations

import dataclasses

import mpmath
import pytest
import sympy as sp

from derive.diff import algorithm, compare, instantiate, numbers, report, safeparse, truth
from derive.diff.catalog import sources
from derive.prove.symbolic import expansions

#: Every verdict on 2-3-2 (each source under its own activation and loss) that is not plain "equal".
NOT_EQUAL_2_3_2 = {
    ("pdp8", "output-delta"): ("equal_under_convention", None),
    ("pdp8", "hidden-delta"): ("equal_under_convention", None),
    ("seed000", "4.4-delta-k"): ("equal_under_convention", None),
    ("seed000", "4.5-delta-j"): ("equal_under_convention", None),
    ("seed002", "final-delta"): ("equal_under_convention", None),
    ("seed002", "left-delta"): ("equal_under_convention", None),
    ("seed003", "slide3-sigma-prime"): ("different", "sigmoid_derivative_squared"),
    ("seed003", "slide5-sgd-step"): ("different", "updated_weights_in_backward"),
    ("mitchell", "T4.3"): ("equal_under_convention", None),
    ("mitchell", "T4.4"): ("equal_under_convention", None),
    ("haykin", "output-local-gradient"): ("equal_under_convention", None),
    ("haykin", "hidden-local-gradient"): ("equal_under_convention", None),
    ("haykin", "logistic-output-delta"): ("equal_under_convention", None),
    ("aima", "output-Delta"): ("equal_under_convention", None),
    ("aima", "hidden-Delta"): ("equal_under_convention", None),
    ("esl", "11.12-dR-dbeta"): ("equal_under_convention", None),
    ("esl", "11.13-delta"): ("equal_under_convention", None),
    ("esl", "11.15-dR-dbeta"): ("equal_under_convention", None),
    ("esl", "11.16-back-propagation"): ("equal_under_convention", None),
    ("esl", "11.15-dR-dalpha"): ("equal_under_convention", None),
    # the first printing's summary (p. 99) and the hidden errors of the book's code
    ("rashid", "p99-first-printing"): ("different", None),
    ("rashid", "hidden-update-code"): ("different", "canonical_link_outside"),
}

SOURCES = [s.id for s in sources.catalog()]


@pytest.fixture(scope="module")
def all_2_3_2():
    return {(r["source"], r["formula"]): r for r in report.run("2-3-2", "all")}


def source(sid: str) -> sources.Source:
    return sources.select(sid)[0]


def ctx_for(src: sources.Source, arch: str = "2-3-2", act=None, loss=None) -> compare.ReferenceNet:
    return compare.reference_net(arch, compare.source_act(src, arch, act), loss or src.loss, src.bias)


def test_catalog_has_every_source():
    books = {"bishop", "nielsen", "goodfellow", "rhw1986", "pdp8", "mitchell", "haykin", "aima", "esl", "rashid"}
    assert set(SOURCES) >= books | {f"seed00{i}" for i in range(5)}


@pytest.mark.parametrize("sid", SOURCES)
def test_every_source_on_2_3_2(all_2_3_2, sid):
    mine = {k: r for k, r in all_2_3_2.items() if k[0] == sid}
    forms = {f.id for f in source(sid).forms} | {a.id for a in source(sid).algorithms}
    # every form that can exist on 2-3-2 was compared (only the 1-1-1 forms of seed 002 are absent)
    assert {k[1] for k in mine} == {f for f in forms if not f.startswith("simplest")}
    for key, r in mine.items():
        verdict, mistake = NOT_EQUAL_2_3_2.get(key, ("equal", None))
        assert (r["verdict"], r["mistake"]) == (verdict, mistake), key
        assert (r["counterexample"] is None) == (verdict != "different"), key
        assert (r["convention"] is not None) == (verdict == "equal_under_convention"), key


def test_seed003_errors_come_with_counterexamples(all_2_3_2):
    sig = all_2_3_2[("seed003", "slide3-sigma-prime")]["counterexample"]
    z = sig["point"]["z"]
    s = 1 / (1 + sp.exp(-z))
    assert sig["source_value"] == pytest.approx(float(s**2))
    assert sig["derived_value"] == pytest.approx(float(s * (1 - s)))
    step = all_2_3_2[("seed003", "slide5-sgd-step")]["counterexample"]
    assert step["at"].startswith("w₁") and step["source_value"] != pytest.approx(step["derived_value"], rel=1e-9)


@pytest.mark.parametrize("arch", ["3-4-2", "2-2-2-1"])
@pytest.mark.parametrize(
    "sid", ["bishop", "nielsen", "goodfellow", "rhw1986", "pdp8", "seed002", "mitchell", "haykin", "aima"]
)
def test_textbooks_match_on_other_archs(arch, sid):
    recs = report.compare_source(source(sid), arch, None, None)
    assert recs and all(r["verdict"] in ("equal", "equal_under_convention") for r in recs), [
        (r["formula"], r["verdict"]) for r in recs if r["verdict"] == "different"
    ]


def test_two_layer_forms_do_not_apply_to_deeper_nets():
    recs = report.compare_source(source("seed004"), "2-2-2-1", None, None)
    assert {r["formula"] for r in recs} == {"general-grad", "general-delta"}


def test_bishop_canonical_link_outside_its_assumption():
    recs = {r["formula"]: r for r in report.compare_source(source("bishop"), "2-3-2", "sigmoid", "sse")}
    assert recs["5.54"]["mistake"] == "canonical_link_outside"
    assert recs["5.56"]["verdict"] == "equal"  # h'(a) follows the network's activation
    assert recs["5.66"]["verdict"] == "different" and recs["5.66"]["mistake"] is None  # 1 - z^2 is tanh's


# --------------------------------------------------------------------------
# Mutations: apply a known mistake to a correct form and check the diff names it
# --------------------------------------------------------------------------


def mutate(sid: str, form_id: str, old: str, new: str) -> tuple[sources.Source, sources.Form]:
    src = source(sid)
    form = next(f for f in src.forms if f.id == form_id)
    assert old in form.expr, (form.expr, old)
    expr = form.expr.replace(old, new)
    tree = safeparse.parse(expr, set(form.symbols), set(src.functions), set(form.indices))
    return src, dataclasses.replace(form, expr=expr, tree=tree)


MUTATIONS = [
    ("seed003", "slide5-delta-out", "dhat[k] * (1 - dhat[k])", "dhat[k]**2", "sigmoid_derivative_squared"),
    ("nielsen", "30", "sigma(z[j]) * (1 - sigma(z[j]))", "sigma(z[j])**2", "sigmoid_derivative_squared"),
    ("nielsen", "30", "sigma(z[j]) * (1 - sigma(z[j]))", "z[j] * (1 - z[j])", "derivative_of_preactivation"),
    ("rhw1986", "eq5-hidden", "y[i] * (1 - y[i])", "x[i] * (1 - x[i])", "derivative_of_preactivation"),
    ("seed002", "final-delta", "o[k] * (1 - o[k]) * ", "", "canonical_link_outside"),
    ("nielsen", "BP1", " * sigma_prime(z[j])", "", "canonical_link_outside"),
    ("rhw1986", "eq4", "y[j] - d[j]", "2 * (y[j] - d[j])", "dropped_half"),
    ("nielsen", "BP4", "a[k] * delta[j]", "2 * a[k] * delta[j]", "dropped_half"),
    ("bishop", "5.54", "y[k] - t[k]", "t[k] - y[k]", "dropped_sign"),
    ("seed004", "u-update", "-eta", "eta", "dropped_sign"),
    ("pdp8", "output-delta", "(t[j] - o[j])", "(o[j] - t[j])", "dropped_sign"),
    ("bishop", "5.56", "w[k, j]", "w[j, k]", "transposed_index"),
    ("bishop", "5.56", "h_prime(a[j]) * ", "", "missing_derivative"),
    ("pdp8", "hidden-delta", "f_prime(net[j]) * ", "", "missing_derivative"),
    ("nielsen", "BP2", "w[k, j]", "w[j, k]", "transposed_index"),
    ("seed004", "general-delta", "w[j, k]", "w[k, j]", "transposed_index"),
]


@pytest.mark.parametrize("sid, form_id, old, new, mistake", MUTATIONS, ids=[f"{m[0]}-{m[1]}-{m[4]}" for m in MUTATIONS])
def test_mutated_form_names_the_mistake(sid, form_id, old, new, mistake):
    src = source(sid)
    original = next(f for f in src.forms if f.id == form_id)
    ctx = ctx_for(src)
    before = compare.compare_form(src, original, ctx)
    assert before["verdict"] in ("equal", "equal_under_convention")
    src, form = mutate(sid, form_id, old, new)
    after = compare.compare_form(src, form, ctx)
    assert after["verdict"] == "different" and after["mistake"] == mistake, after
    cx = after["counterexample"]
    assert cx is not None and cx["at"]


def test_transposed_index_on_a_square_layer_has_numeric_counterexample():
    src, form = mutate("bishop", "5.56", "w[k, j]", "w[j, k]")
    rec = compare.compare_form(src, form, ctx_for(src, "2-2-2"))
    assert rec["mistake"] == "transposed_index"
    cx = rec["counterexample"]
    assert cx["point"] and cx["source_value"] != pytest.approx(cx["expected_under_convention"])


def reorder(sid: str, alg_id: str, move: int, before: int) -> tuple[sources.Source, sources.Algorithm]:
    src = source(sid)
    alg = next(a for a in src.algorithms if a.id == alg_id)
    steps = list(alg.steps)
    steps.insert(before, steps.pop(move))
    return src, dataclasses.replace(alg, steps=steps)


REORDERS = [("seed002", "ascent-step", 2, 1), ("goodfellow", "6.4-step", 4, 2)]


@pytest.mark.parametrize("sid, alg_id, move, before", REORDERS)
def test_reordered_update_is_named(sid, alg_id, move, before):
    src = source(sid)
    ctx = ctx_for(src)
    good = next(a for a in src.algorithms if a.id == alg_id)
    assert algorithm.compare_algorithm(src, good, ctx)["verdict"] == "equal"
    src, bad = reorder(sid, alg_id, move, before)
    rec = algorithm.compare_algorithm(src, bad, ctx)
    assert rec["verdict"] == "different" and rec["mistake"] == "updated_weights_in_backward"


def test_seed003_step_in_the_right_order_is_correct():
    src, fixed = reorder("seed003", "slide5-sgd-step", 1, 3)  # update v after the hidden delta
    assert algorithm.compare_algorithm(src, fixed, ctx_for(src))["verdict"] == "equal"


def test_a_wrong_step_that_is_not_an_ordering_problem_is_not_misnamed():
    src = source("seed002")
    alg = next(a for a in src.algorithms if a.id == "ascent-step")
    target, rhs = alg.steps[2]
    wrong = ("mul", ("num", safeparse.Fraction(2)), rhs)
    steps = [*alg.steps[:2], (target, wrong), alg.steps[3]]
    rec = algorithm.compare_algorithm(src, dataclasses.replace(alg, steps=steps), ctx_for(src))
    assert rec["verdict"] == "different" and rec["mistake"] is None


# --------------------------------------------------------------------------
# The mistake models are themselves checked against the Derivation
# --------------------------------------------------------------------------


@pytest.mark.parametrize("act, loss", [("sigmoid", "sse"), ("tanh,linear", "sse"), ("tanh,sigmoid", "bce")])
def test_chain_with_the_true_derivative_is_the_derivation(act, loss):
    ctx = compare.reference_net("2-3-2", act, loss, True)
    for pt in numbers.points(ctx.d, "chain", set(), ctx.constrained):
        env = numbers.environment(ctx.d, pt)
        rebuilt = truth.chain(ctx, lambda l, j: truth._fprime(ctx, l, j), env)
        for layer in ctx.d.layers:
            for dj in layer.delta:
                assert numbers.close(rebuilt[dj], env[dj]), dj


def test_environment_is_the_full_expansion():
    ctx = compare.reference_net("2-3-2", "sigmoid", "sse", True)
    full = expansions(ctx.d)
    for pt in numbers.points(ctx.d, "env", set(), False):
        env = numbers.environment(ctx.d, pt)
        for sym, expr in full.items():
            syms = sorted(expr.free_symbols, key=str)
            with mpmath.workdps(30):
                direct = sp.lambdify(syms, expr, modules="mpmath")(*[pt[s] for s in syms])
            assert numbers.close(env[sym], direct), sym


def test_mit_simplest_net_on_1_1_1():
    recs = {r["formula"]: r for r in report.compare_source(source("mit6034"), "1-1-1", None, None)}
    assert {"simplest-dP-dwr", "simplest-dP-dwl", "ascent-step"} <= set(recs)
    # dP/dw with P = -E: equal to the derivation's -dE/dw, which is what the source's convention says
    assert recs["simplest-dP-dwl"]["verdict"] == "equal_under_convention"
    assert "P = −½" in recs["simplest-dP-dwl"]["convention"]
    assert recs["ascent-step"]["verdict"] == "equal"


def test_gradient_rule_is_the_derivations_gradient():
    ctx = compare.reference_net("2-3-2", "tanh,sigmoid", "bce", True)
    rule = {sym: delta * (1 if source is None else source) for sym, delta, source in algorithm.gradient_rule(ctx.d)}
    assert len(rule) == len(ctx.d.parameters) == 17
    for p in ctx.d.parameters:
        assert sp.expand(rule[p.symbol] - p.gradient) == 0, p.symbol


def test_wide_layers_are_sampled_deterministically():
    src = source("nielsen")
    form = next(f for f in src.forms if f.id == "BP4")
    d = compare.reference_net("30-30-10", "sigmoid", "sse", True).d
    first = [(i.layer, i.units) for i in instantiate.build(form, d, src.functions)]
    again = [(i.layer, i.units) for i in instantiate.build(form, d, src.functions)]
    assert first == again
    layer1 = [u for layer, u in first if layer == 1]
    assert len(layer1) == instantiate.MAX_INSTANCES and (1, 1) in layer1 and (30, 30) in layer1
