"""Adversarial test of the diff's rule: a formula made wrong is never called equal.

Every catalog form that the diff calls ``equal`` (or ``equal_under_convention``) on a network is
taken as correct, and each mutant of it (:mod:`mutants`: swapped or transposed weight indices, a
quantity moved one layer, f′ dropped or replaced by a wrong derivative, a flipped sign, a factor 2,
a sum reduced to one term, ...) is compared on the same network. Whenever the diff calls a
mutant equal, the mutant is checked against the original independently of the diff's rule: at
many more points than the diff uses (relu units on both sides of their kink) and, where those
find no difference, by SymPy. A mutant that differs from the original anywhere is a wrong
formula called equal, and fails the test; one that SymPy proves equal is an equivalent mutant
(on a one-unit layer a sum of one term is the sum) and is counted apart.
"""

from __future__ import annotations

import functools
from collections import Counter

import mutants
import pytest
import sympy as sp

from derive.diff import compare, instantiate, numbers, report
from derive.diff.catalog import sources
from derive.diff.catalog.sources import CatalogError

#: id: (arch, act, loss, bias); None means each source's own.
NETS = {
    "2-3-2": ("2-3-2", None, None, None),
    "2-2-1-no-bias": ("2-2-1", None, None, False),
    "2-3-3-2-tanh-softmax-ce": ("2-3-3-2", "tanh,tanh,softmax", "ce", None),
    "3-4-3-relu-softmax-ce": ("3-4-3", "relu,softmax", "ce", None),
    # one relu hidden unit: at the 3 points the diff once used, it was on one side of its kink, so a
    # hidden delta without f' (or, with the unit dead, any multiple of its gradient) was called equal
    "4-1-2-relu-softmax-ce": ("4-1-2", "relu,softmax", "ce", None),
    "2-1-3-relu-softmax-ce": ("2-1-3", "relu,softmax", "ce", None),
}
#: The mistakes every network must see at least once (the others need a form the net has).
REQUIRED = {
    "swap_weight_indices",
    "transpose_weights",
    "neighbour_layer",
    "drop_fprime",
    "fprime_of_other_activation",
    "flip_sign",
    "double_factor",
    "missing_sum",
}
#: Independent check: this many points (the diff uses 3, or 8 and more with relu units).
ORACLE_POINTS = 40
SOURCES = [s.id for s in sources.catalog()]


def _ctx(src, arch, act, loss, bias):
    act = compare.source_act(src, arch, act)
    bias = src.bias if bias is None else bias
    return compare.reference_net(arch, act, loss or src.loss, bias, src.weight_decay, src.decay_biases)


def _verdict(src, form, ctx) -> str:
    """'equal' (also under the source's convention), 'different', 'refused' or 'absent'."""
    try:
        rec = report._compared(lambda *a: compare.compare_form(*a, explain=False), "form", src, form, ctx)
    except CatalogError as e:
        assert str(e) and "\n" not in str(e)
        return "refused"
    if rec is None:
        return "absent"
    return "different" if rec["verdict"] == "different" else "equal"


_ORACLE: dict[tuple, list[dict]] = {}


def _oracle(ctx, free: tuple) -> list[dict]:
    """The independent check's points and values; every relu unit is seen on both sides of its kink."""
    key = (ctx.d.spec.arch, ctx.label, free)
    if key in _ORACLE:
        return _ORACLE[key]
    pts = numbers.points(ctx.d, "adversarial", set(free), ctx.constrained, ORACLE_POINTS)
    envs = [numbers.environment(ctx.d, pt) for pt in pts]
    for layer in ctx.d.layers:
        if layer.activation == "relu":
            for a in layer.a:
                assert {env[a] > 0 for env in envs} == {True, False}, f"{a} is on one side of 0 at every point"
    _ORACLE[key] = envs
    return envs


def _differs(src, form, mutant, ctx) -> str | None:
    """Why the mutant is a different formula from the original (None: no difference found)."""
    try:
        a = instantiate.build(form, ctx.d, src.functions)
        b = instantiate.build(mutant.item, ctx.d, mutant.source.functions)
    except (instantiate.FormError, KeyError, ValueError) as e:
        return f"it cannot be read on this network ({e})"
    if [(i.layer, i.units) for i in a] != [(j.layer, j.units) for j in b]:
        return "it is about other units"
    if any(j.expr is None for j in b):
        return "its literal reading names a weight the network does not have"
    free = sorted({s for i in a + b for s in i.expr.free_symbols if s.name.startswith("free_")}, key=str)
    for env in _oracle(ctx, tuple(free)):
        for i, j in zip(a, b):
            x, y = numbers.evaluate(i.expr, env), numbers.evaluate(j.expr, env)
            if not numbers.close(y, x):
                return (
                    f"on units {j.units} of layer {j.layer} it is {numbers.short(y)}, the original {numbers.short(x)}"
                )
    return None


def _proved_equal(src, form, mutant, ctx) -> bool:
    a = instantiate.build(form, ctx.d, src.functions)
    b = instantiate.build(mutant.item, ctx.d, mutant.source.functions)
    return all(sp.simplify(ctx.expanded(i.expr - j.expr)) == 0 for i, j in zip(a, b))


@functools.cache
def audit(sid: str, net: str) -> tuple[Counter, Counter, list[str], list[str]]:
    """(mutants not called equal per kind, equivalent mutants per kind, wrong ones called equal, undecided)."""
    src = sources.select(sid)[0]
    ctx = _ctx(src, *NETS[net])
    caught, equivalent, wrong, undecided = Counter(), Counter(), [], []
    for form in src.forms:
        if _verdict(src, form, ctx) != "equal":
            continue  # only a form the diff accepts on this net is a correct formula to break
        for m in mutants.form_mutants(src, form):
            if _verdict(m.source, m.item, ctx) != "equal":
                caught[m.kind] += 1
                continue
            why = _differs(src, form, m, ctx)
            if why is not None:
                wrong.append(f"{sid}/{form.id}: {m.what} is called equal on {net}, but {why}")
            elif _proved_equal(src, form, m, ctx):
                equivalent[m.kind] += 1
            else:
                undecided.append(f"{sid}/{form.id}: {m.what} on {net}")
    return caught, equivalent, wrong, undecided


@pytest.mark.parametrize("net", list(NETS))
@pytest.mark.parametrize("sid", SOURCES)
def test_no_wrong_formula_is_called_equal(sid, net):
    _, _, wrong, undecided = audit(sid, net)
    assert not wrong, wrong
    assert not undecided, undecided  # equal at every point but not proved: the test cannot say which


@pytest.mark.parametrize("net", list(NETS))
def test_every_kind_of_mistake_is_tried(net):
    caught = Counter()
    for sid in SOURCES:
        caught += audit(sid, net)[0]
    assert REQUIRED <= set(caught), sorted(REQUIRED - set(caught))
    assert sum(caught.values()) >= 100, caught


@pytest.mark.parametrize("arch, act", [("4-1-2", "relu,softmax"), ("2-3-2", "leaky_relu,sigmoid"), ("2-2-2", "relu")])
def test_every_kink_is_sampled_on_both_sides(arch, act):
    ctx = compare.reference_net(arch, act, "ce" if "softmax" in act else "sse", True)
    pts, envs = ctx.sample([])
    assert numbers.KINKED_POINTS <= len(pts) <= numbers.MAX_POINTS
    for layer in ctx.d.layers:
        if layer.activation in ("relu", "leaky_relu"):
            for a in layer.a:
                assert {env[a] > 0 for env in envs} == {True, False}, a


def test_smooth_nets_keep_their_three_points():
    ctx = compare.reference_net("2-3-2", "tanh,sigmoid", "sse", True)
    pts, _ = ctx.sample([])
    assert len(pts) == numbers.N_POINTS == 3  # as before kinks were sampled: a smooth net's output is unchanged
    assert numbers.points(ctx.d, "s", set(), False, 7)[:3] == numbers.points(ctx.d, "s", set(), False)
