"""Mutation testing of the diff: every known kind of mistake applied to every catalog form is caught.

For each form whose original is ``equal`` (or ``equal_under_convention``) on a network, every
applicable mutant (:mod:`mutants`) must come back ``different`` or be refused with a one-line
message. A mutant whose value equals the original's at the test points is checked with SymPy:
proved equal, it is excluded and counted apart; not proved, it counts as a survivor.
"""

from __future__ import annotations

import functools
from collections import Counter

import mutants
import pytest
import sympy as sp

from derive.diff import algorithm, compare, instantiate, report
from derive.diff.catalog import sources
from derive.diff.catalog.sources import CatalogError
from derive.diff.numbers import close, evaluate

#: (arch, act, loss): None means each source's own activation and loss.
NETS = [
    ("2-3-2", None, None),
    ("2-3-3-2", None, None),
    ("2-3-3-2", "tanh", "sse"),
    ("2-3-2", "sigmoid,softmax", "ce"),
]
SOURCES = [s.id for s in sources.catalog()]


def _ctx(src, arch, act, loss):
    return compare.reference_net(arch, compare.source_act(src, arch, act), loss or src.loss, src.bias)


def _verdict(src, item, ctx) -> str:
    """'equal', 'different', 'refused' or 'absent' (the item does not apply to this network)."""
    if isinstance(item, sources.Form):
        fn = lambda *args: compare.compare_form(*args, explain=False)  # noqa: E731 - the verdict is all we need
    else:
        fn = algorithm.compare_algorithm
    try:
        rec = report._compared(fn, "form", src, item, ctx)
    except CatalogError as e:
        assert "\n" not in str(e) and str(e)
        return "refused"
    if rec is None:
        return "absent"
    return "different" if rec["verdict"] == "different" else "equal"


def _equivalent(src, form, mutant, ctx) -> bool:
    """The mutant has the original's value on every instance and SymPy proves it."""
    try:
        a = instantiate.build(form, ctx.d, src.functions)
        b = instantiate.build(mutant.item, ctx.d, mutant.source.functions)
    except (instantiate.FormError, KeyError, ValueError):
        return False
    if len(a) != len(b) or any(i.expr is None or j.expr is None for i, j in zip(a, b)):
        return False
    free = sorted({s for i in a + b for s in i.expr.free_symbols if s.name.startswith("free_")}, key=str)
    _, envs = ctx.sample(free)
    for i, j in zip(a, b):
        for env in envs:
            if not close(evaluate(i.expr, env), evaluate(j.expr, env)):
                return False
    return all(sp.simplify(i.expr - j.expr) == 0 for i, j in zip(a, b))


@functools.cache
def score(sid: str, arch: str, act, loss) -> tuple[Counter, Counter, list[str], Counter]:
    """(caught per kind, equivalent per kind, survivors, refused per kind) of every mutant of one source on one net."""
    src = sources.select(sid)[0]
    ctx = _ctx(src, arch, act, loss)
    caught, equivalent, survivors, refused = Counter(), Counter(), [], Counter()
    for form in src.forms:
        if _verdict(src, form, ctx) != "equal":
            continue  # the original must hold on this net (catalog errors are checked elsewhere)
        for m in mutants.form_mutants(src, form):
            v = _verdict(m.source, m.item, ctx)
            if v in ("different", "refused"):
                caught[m.kind] += 1
                refused[m.kind] += v == "refused"
            elif _equivalent(src, form, m, ctx):
                equivalent[m.kind] += 1
            else:
                survivors.append(f"{m.kind}: {sid}/{form.id}: {m.what} -> {v}")
    for alg in src.algorithms:
        if _verdict(src, alg, ctx) != "equal":
            continue
        for m in mutants.algorithm_mutants(src, alg):
            v = _verdict(m.source, m.item, ctx)
            if v in ("different", "refused"):
                caught[m.kind] += 1
            else:
                survivors.append(f"{m.kind}: {sid}/{alg.id}: {m.what} -> {v}")
    return caught, equivalent, survivors, refused


@pytest.mark.parametrize("arch, act, loss", NETS, ids=[f"{a}-{b or 'own'}-{c or 'own'}" for a, b, c in NETS])
@pytest.mark.parametrize("sid", SOURCES)
def test_every_mutant_is_caught(sid, arch, act, loss):
    _, _, survivors, _ = score(sid, arch, act, loss)
    assert not survivors, survivors


@pytest.mark.parametrize("arch, act, loss", NETS[:1] + NETS[2:], ids=["2-3-2", "2-3-3-2-tanh", "2-3-2-softmax-ce"])
def test_every_kind_of_mutation_is_exercised(arch, act, loss):
    total = Counter()
    for sid in SOURCES:
        total += score(sid, arch, act, loss)[0]
    # the catalog's algorithms are stated for two-layer sigmoid nets: stale weights only there
    kinds = set(mutants.KINDS) - ({"stale_weight"} if act else set())
    assert kinds <= set(total), sorted(kinds - set(total))


def table() -> str:
    """The mutation score per kind and network (``python tests/test_mutation.py`` prints it)."""
    lines = [f"{'kind':<32}" + "".join(f"{a + ' ' + (b or 'own') + ('/' + c if c else ''):>28}" for a, b, c in NETS)]
    per = {net: [score(sid, *net) for sid in SOURCES] for net in NETS}
    for kind in mutants.KINDS:
        row = f"{kind:<32}"
        for net in NETS:
            caught = sum(c[kind] for c, *_ in per[net])
            eq = sum(e[kind] for _, e, *_ in per[net])
            alive = sum(x.startswith(kind + ":") for _, _, xs, _ in per[net] for x in xs)
            ref = sum(r[kind] for *_, r in per[net])
            cell = f"{caught}/{caught + alive}" + (f" r{ref}" if ref else "") + (f" +{eq}eq" if eq else "")
            row += f"{cell:>28}"
        lines.append(row)
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())


def test_mutants_are_the_mistakes_they_claim():
    src = sources.select("pdp8")[0]
    form = next(f for f in src.forms if f.id == "hidden-delta")  # f_prime(net[j]) * Sum(delta[k] * w[k, j], k)
    by_kind = {}
    for m in mutants.form_mutants(src, form):
        by_kind.setdefault(m.kind, []).append(m.item.tree)
    swapped = by_kind["swap_weight_indices"][0]
    assert ("ref", "w", ("j", "k")) in [n for _, n in mutants.nodes(swapped)]
    squared = by_kind["fprime_to_f_squared"][0]
    assert ("pow", ("call", "mut_f", (("ref", "net", ("j",)),)), mutants.TWO) in [n for _, n in mutants.nodes(squared)]
    assert by_kind["flip_sign"] == [("neg", form.tree)]
    assert "input_to_own_output" not in by_kind  # a delta has no input factor


def test_new_mutants_are_the_mistakes_they_claim():
    src = sources.select("pdp8")[0]
    form = next(f for f in src.forms if f.id == "hidden-delta")  # f_prime(net[j]) * Sum(delta[k] * w[k, j], k)
    by_kind = {}
    for m in mutants.form_mutants(src, form):
        by_kind.setdefault(m.kind, []).append(m.item)
    (transposed,) = by_kind["transpose_weights"]
    assert transposed.tree == form.tree and transposed.symbols["w"].order != form.symbols["w"].order
    (one_term,) = by_kind["missing_sum"]
    assert not any(n[0] == "sum" for _, n in mutants.nodes(one_term.tree))
    refs = {n for _, n in mutants.nodes(one_term.tree) if n[0] == "ref"}
    assert ("ref", "mut_one_w", (1, "j")) in refs and ("ref", "mut_one_delta", (1,)) in refs
    other = by_kind["fprime_of_other_activation"][0]
    assert ("call", "mut_sp", (("ref", "net", ("j",)),)) in [n for _, n in mutants.nodes(other.tree)]
