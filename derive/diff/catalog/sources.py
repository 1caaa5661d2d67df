"""The textbook catalog: one TOML file per source under ``derive/diff/catalog/``.

A source file holds the source's conventions, a mapping from its symbols to
the Derivation's roles, its forms (each in SymPy syntax in the source's own
notation) and, where the source gives one, its algorithm as ordered steps.
Catalog files and a user's ``--forms`` file share this schema and one loader
(:mod:`derive.diff.catalog.load`; what it builds is in :mod:`derive.diff.catalog.types`);
every formula goes through :mod:`derive.diff.safeparse`, never through ``sympify``.

The schema, by example (``derive/diff/catalog/bishop.toml`` is a complete one; the README's
"Writing a forms file" explains every key for a teacher)::

    id = "my-notes"                # --against id; defaults to the file name
    source = "my lecture notes"    # title; citation = "where in it"
    act = "sigmoid"                # assumed: one activation, or "hidden,output"
    loss = "sse"                   # sse, mse, ce or bce
    bias = true

    [conventions]                  # texts, plus three numbers/words the verdicts use:
    delta_sign = -1                # delta = -dE/dnet (1 for +dE/dnet)
    error_scale = 1                # the source's error is this times the derived E (2: no 1/2, -1: P = -E)
    update = "descent"             # or "ascent"
    delta = "delta = -dE/dnet"     # shown with equal_under_convention verdicts, as are error, update_note

    [symbols]                      # source name -> kind (input, preact, act, output, target,
    net = "preact"                 #   weight, bias, delta, rate, free), or a table with a fixed
    o = "act"                      #   layer/unit and, for weights, order = "to_from" | "from_to";
    w = "weight"                   #   a declared layer wins over the index letter's layer:
    delta = "delta"                #   h = { kind = "act", layer = 1 } makes h[i] hidden unit i

    [functions]                    # name -> act, act_prime, sigmoid, sigmoid_prime (exp, log, tanh built in)
    f_prime = "act_prime"

    [[forms]]
    id = "hidden-delta"
    target = "delta"               # delta, fprime, dE_dy, dE_dout, grad_w, grad_b, sigmoid_prime,
                                   #   update_w, update_b (the change Δw, not the new weight)
    at = ["j"]                     # the target's unit (grad_w/update_w: [to, from])
    layer = "hidden"               # output, hidden, all, a layer number, L or L-1
    indices = { j = "l", k = "l+1" }   # the layer each index letter runs over (l, l-1, l+1, L, or a number)
    expr = "f_prime(net[j]) * Sum(delta[k] * w[k, j], k)"

    [[algorithms]]                 # one SGD step as ordered assignments, run on numbers
    id = "step"
    indices = { k = 2, j = 1 }
    steps = ["dk[k] = ...", "w[k, j] = w[k, j] - eta * dk[k] * o[j]", ...]
    optimizer = "sgd"              # or "momentum": with symbols of kind momentum (α) and increment
                                   #   (Dw[k, j], the previous change of w[k, j], read and reassigned)
                                   # or "adam": kinds beta1, beta2, stability (ε), first_moment and
                                   #   second_moment (m[k, j], v[k], read and reassigned), step (t,
                                   #   "t = t + 1", may be an exponent); sqrt = "sqrt" in [functions]
"""

from __future__ import annotations

from pathlib import Path

from derive.diff.catalog.load import MAX_FILE_BYTES, MAX_FORMS, load_source
from derive.diff.catalog.types import (
    FUNCTION_KINDS,
    KINDS,
    TARGETS,
    Algorithm,
    CatalogError,
    Form,
    Source,
    SymbolSpec,
)

__all__ = [
    "CATALOG_DIR",
    "FUNCTION_KINDS",
    "KINDS",
    "MAX_FILE_BYTES",
    "MAX_FORMS",
    "TARGETS",
    "Algorithm",
    "CatalogError",
    "Form",
    "Source",
    "SymbolSpec",
    "catalog",
    "listing",
    "load_source",
    "select",
]

CATALOG_DIR = Path(__file__).parent


def catalog() -> list[Source]:
    """Every source of the catalog, in file-name order."""
    return [load_source(p) for p in sorted(CATALOG_DIR.glob("*.toml"))]


def select(against: str) -> list[Source]:
    """The sources named by ``--against`` (comma list of ids or aliases, or ``all``)."""
    sources = catalog()
    if against.strip() == "all":
        return sources
    by_id = {s.id: s for s in sources} | {a: s for s in sources for a in s.aliases}
    chosen = []
    for sid in (p.strip() for p in against.split(",")):
        if sid not in by_id:
            raise CatalogError(f"unknown source {sid!r}; known: all, {', '.join(s.id for s in sources)}")
        if by_id[sid] not in chosen:
            chosen.append(by_id[sid])
    return chosen


def listing() -> str:
    """The ``textbooks`` subcommand's table: id, source, citation."""
    rows = [(s.id, s.title, s.citation) for s in catalog()]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{i:<{width}}  {t}\n{'':<{width}}  {c}" for i, t, c in rows)
