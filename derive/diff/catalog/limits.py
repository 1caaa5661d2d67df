"""Limits of a forms file, checked on the decoded TOML before any form is read.

A forms file is untrusted input: the schema's keys only (a typo of ``layer``
must not silently mean "all"), bounded nesting and integers, ASCII names (a
full-width letter would otherwise read as its ASCII look-alike).
"""

from __future__ import annotations

from derive.diff.catalog.types import CatalogError

#: Tables and arrays nest at most this deep (top table > [[forms]] > form > symbols > symbol).
MAX_NESTING = 6
#: Steps of one algorithm (one SGD step of a textbook takes about ten).
MAX_STEPS = 40
#: Integers (layers, units, conventions) are at most this large.
MAX_INTEGER = 10**6
#: The keys each table of the schema may hold; anything else is refused (a typo of 'layer' is not 'all').
KEYS = {
    "source": {
        "id",
        "source",
        "citation",
        "act",
        "loss",
        "bias",
        "weight_decay",
        "decay_biases",
        "conventions",
        "functions",
        "aliases",
        "symbols",
        "forms",
        "algorithms",
    },
    "conventions": {
        "delta",
        "delta_sign",
        "error",
        "error_scale",
        "update",
        "update_note",
        "half",
        "index_order",
        "batch",
    },
    "forms": {
        "id",
        "citation",
        "latex",
        "target",
        "at",
        "layer",
        "indices",
        "expr",
        "symbols",
        "n_layers",
        "arch",
        "note",
    },
    "algorithms": {"id", "citation", "latex", "indices", "steps", "symbols", "n_layers", "note", "optimizer"},
}
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "linear", "softmax")


def unknown_keys(table: dict, kind: str, where: str) -> None:
    extra = sorted(set(table) - KEYS[kind])
    if extra:
        allowed = ", ".join(sorted(KEYS[kind]))
        raise CatalogError(f"{where}: unknown key(s) {', '.join(map(repr, extra))} in {kind}; allowed: {allowed}")


def plain(data: object, where: str) -> None:
    """Refuse deep nesting, huge integers and non-ASCII names anywhere in the file (iteratively)."""
    stack = [(data, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)) and level > MAX_NESTING:
            raise CatalogError(f"{where}: tables and arrays nest deeper than {MAX_NESTING} levels")
        if isinstance(item, dict):
            for key, value in item.items():
                if not key.isascii():
                    raise CatalogError(f"{where}: key {key!r} is not ASCII (look-alike letters are refused)")
                stack.append((value, level + 1))
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_INTEGER:
            raise CatalogError(f"{where}: the integer {str(item)[:12]}... is larger than {MAX_INTEGER}")
        elif isinstance(item, float) and not (abs(item) <= MAX_INTEGER):
            raise CatalogError(f"{where}: the number {item!r} is not allowed (finite, at most {MAX_INTEGER})")
