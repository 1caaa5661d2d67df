"""How the formulas were checked, read from the verification records, in a reader's words.

Both documents (the PDF's appendix and the page's) say the same things about the
checks; this module holds what they say, free of any format. A small derivation
carries a record per parameter; a large (lazy) one a record per layer on its
parameter groups, and its parameters are never enumerated here: counts come from
the group sizes.
"""

from __future__ import annotations

from derive.core import route
from derive.core.model import Derivation, Proof

#: methods that compare with SymPy's derivative of the written-out error and cancel the difference symbolically
SYMBOLIC = ("symbolic", "symbolic-simplify")


def by_record(d: Derivation) -> list[tuple[Proof | None, int, list]]:
    """(record, number of parameters, the parameters when listed) for each record, in network order."""
    if d.per_layer:
        out: list[tuple[Proof | None, int, list]] = []
        for g in d.parameter_groups:
            for n, (proof, count, params) in enumerate(out):
                if proof == g.proof:
                    out[n] = (proof, count + g.size, params)
                    break
            else:
                out.append((g.proof, g.size, []))
        return out
    groups: dict[str, tuple[Proof | None, int, list]] = {}
    for p in d.parameters:  # an eager derivation: its parameters exist already
        method = p.proof.method if p.proof else "none"
        proof, count, params = groups.get(method, (p.proof, 0, []))
        groups[method] = (proof, count + 1, params + [p])
    return [groups[m] for m in sorted(groups)]


def counts(d: Derivation) -> dict[str, int]:
    """Parameters per verification method."""
    out: dict[str, int] = {}
    for proof, n, _ in by_record(d):
        method = proof.method if proof else "none"
        out[method] = out.get(method, 0) + n
    return out


#: what each symbolic method did, in the reader's words ({cost}: the notation's word for the error function);
#: the records' own details name the prover's internals
METHOD_WORDS = {
    "symbolic": "sympy.diff of the fully written-out {cost}, minus the backpropagated form, cancels to 0 "
    "(while cancelling, each exponential, logarithm, tanh, maximum and step function counts as one symbol)",
    "symbolic-lemma": "sympy.diff of the written-out {cost}, with each hidden activation an undefined function "
    "whose derivative is the proved rule in the activation's own output, minus the backpropagated form, cancels to 0",
    "symbolic-simplify": "sympy.simplify reduces sympy.diff of the written-out {cost} minus the backpropagated form "
    "to 0",
}
#: what a proof with weight decay compared, in the reader's words
DECAY_WORDS = (
    "with weight decay the written-out {cost} includes the penalty Ω over the decayed parameters, and the "
    "backpropagated form carries the penalty's gradient"
)


def method_words(proof: Proof | None, cost: str) -> str:
    """The appendix's description of one record's method (its own detail where no description is written)."""
    if proof is None:
        return ""
    if proof.method not in METHOD_WORDS:
        return proof.detail
    words = METHOD_WORDS[proof.method].format(cost=cost)
    return words + ("; " + DECAY_WORDS.format(cost=cost) if "weight decay" in proof.detail else "")


def how_checked(d: Derivation) -> dict:
    """Counts by kind of check, for the sentences of the abstract, the title page and the appendix."""
    n = counts(d)
    return {
        "symbolic": sum(n.get(m, 0) for m in SYMBOLIC),
        "lemma": n.get("symbolic-lemma", 0),
        "points": n.get("random-points", 0),
        "directional": n.get("directional", 0),
        "unchecked": n.get("none", 0),
        "rule_check": narrow_check(d) if d.rule_check else "",
    }


def narrow_check(d: Derivation, text: str = "document") -> str:
    """The appendix's sentence on how the rules of a large net were compared with those of a narrow one.

    ``text`` is what the reader holds: "document" or "page".
    """
    narrow = "-".join(str(n) for n in route.proxy_sizes(d.spec.sizes))
    on = (
        "the loss's scale and the softmax sum depend"
        if d.spec.activations[-1] == "softmax"
        else "the loss's scale depends"
    )
    return (
        f"the equations for a general unit of each layer were derived once more for a narrow network of the same "
        f"depth, {narrow}, with the same activations and loss (its output layer keeps its size, on which "
        f"{on}), and after widening their sums to this network's sizes they "
        f"are the equations of this {text}; those of the narrow network were checked against its unit-by-unit "
        f"derivation at every unit. A narrow network is enough because each equation sums over the units of one "
        f"layer terms that all have the same form: a wider layer adds terms of that form and changes nothing else"
    )


#: what each method did to a derivative, as the summary sentence says it ("were ..."; {cost}: the notation's word)
SUMMARY_WORDS = {
    "symbolic": "proved symbolically equal to SymPy's derivative of the written-out {cost}",
    "symbolic-simplify": "proved symbolically equal to SymPy's derivative of the written-out {cost}, after "
    "sympy.simplify",
    "symbolic-lemma": "proved symbolically equal to SymPy's derivative of the written-out {cost}, each hidden "
    "activation's derivative rule proved first",
    "random-points": "found equal to SymPy's derivative of the written-out {cost} to 40 significant digits at "
    "random points, where SymPy could not cancel the difference",
    "directional": "tested along random directions against the derivative computed forward from the network's "
    "definition",
    "none": "left unchecked",
}


def kinds(d: Derivation) -> dict[str, dict[str, int]]:
    """Weights and biases per verification method: ``{"symbolic": {"weight": 12, "bias": 5}}``."""
    out: dict[str, dict[str, int]] = {}
    pieces = (
        [(g.proof, g.kind, g.size) for g in d.parameter_groups]
        if d.per_layer
        else [(p.proof, p.kind, 1) for p in d.parameters]
    )
    for proof, kind, n in pieces:
        method = proof.method if proof else "none"
        out.setdefault(method, {"weight": 0, "bias": 0})[kind] += n
    return out


def _how_many(weights: int, biases: int) -> str:
    """``12 weights and 5 biases``, ``1 weight``, ``3 biases``."""
    said = [
        f"{n} {word}{'' if n == 1 else ('es' if word == 'bias' else 's')}"
        for n, word in ((weights, "weight"), (biases, "bias"))
        if n
    ]
    return " and ".join(said)


def _words(method: str, cost: str) -> str:
    return SUMMARY_WORDS.get(method, "checked by " + method).format(cost=cost)


def summary_sentence(d: Derivation, cost: str = "error") -> str:
    """The summary of the checks, one sentence with the records' counts (``cost``: the notation's word for E).

    E.g. "All 17 derivatives (12 weights and 5 biases) were proved symbolically equal to SymPy's derivative of
    the written-out error."
    """
    by_method = kinds(d)
    weights = sum(k["weight"] for k in by_method.values())
    biases = sum(k["bias"] for k in by_method.values())
    total = weights + biases
    which = f"({_how_many(weights, biases)})" if biases else "(one per weight)"
    noun = "derivative" if total == 1 else "derivatives"
    methods = sorted(by_method, key=lambda m: (-sum(by_method[m].values()), m))
    if len(methods) == 1:
        return f"All {total} {noun} {which} were {_words(methods[0], cost)}."
    parts = []
    for m in methods:
        k = by_method[m]
        verb = "was" if sum(k.values()) == 1 else "were"
        said = _words(m, cost)
        if parts:  # the derivative they were compared with is named once
            said = said.replace(f"SymPy's derivative of the written-out {cost}", "it")
        parts.append(f"{_how_many(k['weight'], k['bias'])} {verb} {said}")
    return f"Of the {total} {noun} {which}, " + "; ".join(parts[:-1]) + "; and " + parts[-1] + "."
