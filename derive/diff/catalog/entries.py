"""Read and check one ``[[forms]]`` or ``[[algorithms]]`` entry of a catalog file.

A form's expression and an algorithm's steps go through :mod:`derive.diff.safeparse`
(never ``sympify``); every error names the file and the line of the key at fault.
"""

from __future__ import annotations

from derive.diff import safeparse
from derive.diff.catalog import fields, limits
from derive.diff.catalog.types import TARGETS, Algorithm, CatalogError, Form
from derive.spec import OPTIMIZERS

_ARITY = {"grad_w": 2, "update_w": 2, "sigmoid_prime": 0}


def form(entry: dict, base, functions, text: str, where: str, start: int = 0) -> Form:
    if not isinstance(entry, dict):
        raise CatalogError(f"{where}: each [[forms]] entry must be a table")
    expr = fields.string(entry, "expr", where)
    line = fields.key_line(text, start, "expr", fields.line_of(text, expr)) if start else fields.line_of(text, expr)
    at_line = f"{where}:{line}"

    def key_at(key: str) -> str:  # the file and line of one key of this form, for errors about it
        return f"{where}:{fields.key_line(text, start, key, line)}" if start else at_line

    fid = f"form {entry.get('id', '?')!r}"
    limits.unknown_keys(entry, "forms", at_line)
    symbols = fields.merged(entry, base, key_at("symbols"))
    indices = fields.indices(entry, key_at("indices"))
    for letter, spec in indices.items():
        fields.check_layer(spec, f"{key_at('indices')}: {fid}: index {letter!r}")
    target = fields.string(entry, "target", key_at("target"))
    if target not in TARGETS:
        raise CatalogError(f"{key_at('target')}: {fid}: unknown target {target!r}; one of {', '.join(TARGETS)}")
    at = fields.listed(entry, "at", key_at("at"), str, int)
    if len(at) != _ARITY.get(target, 1) or any(isinstance(a, str) and a not in indices for a in at):
        undeclared = [a for a in at if isinstance(a, str) and a not in indices]
        why = f"; {', '.join(map(repr, undeclared))} not declared in 'indices'" if undeclared else ""
        raise CatalogError(
            f"{key_at('at')}: {fid}: 'at' must list {_ARITY.get(target, 1)} declared index letters or units "
            f"for target {target!r}{why}"
        )
    layer = entry.get("layer", "all")
    fields.check_layer(layer, f"{key_at('layer')}: {fid}", ("output", "hidden", "all"))
    if isinstance(layer, int) and layer < 1:
        raise CatalogError(
            f"{key_at('layer')}: {fid}: layer {layer} is the input layer, which has no δ or weights; "
            "a form's layer is 1 (the first weight layer) or more, output, hidden or all"
        )
    if isinstance(layer, str) and layer not in ("output", "hidden", "all") and "l" in layer:
        raise CatalogError(
            f"{key_at('layer')}: {fid}: layer {layer!r}: a form's layer is output, hidden, all, "
            "a number or L-1 (l means the form's own layer)"
        )
    for key in ("n_layers", "arch"):
        if key in entry and not isinstance(entry[key], int if key == "n_layers" else str):
            raise CatalogError(f"{key_at(key)}: bad '{key}'")
    try:
        tree = safeparse.parse(expr, set(symbols), set(functions), set(indices))
    except safeparse.UnsafeForm as e:
        raise CatalogError(f"{at_line}: form {entry.get('id', '?')!r}: {e}") from None
    return Form(
        id=fields.string(entry, "id", at_line),
        citation=fields.string(entry, "citation", at_line, ""),
        latex=fields.string(entry, "latex", at_line, ""),
        target=target,
        at=tuple(at),
        layer=layer,
        indices=indices,
        expr=expr,
        tree=tree,
        symbols=symbols,
        line=line,
        n_layers=entry.get("n_layers"),
        arch=entry.get("arch"),
        note=fields.string(entry, "note", at_line, ""),
    )


def algorithm(entry: dict, base, functions, text: str, where: str) -> Algorithm:
    if not isinstance(entry, dict) or not isinstance(entry.get("steps"), list):
        raise CatalogError(f"{where}: each [[algorithms]] entry needs a list of steps")
    line = fields.line_of(text, str(entry.get("id", "")))
    limits.unknown_keys(entry, "algorithms", f"{where}:{line}")
    if len(entry["steps"]) > limits.MAX_STEPS:
        raise CatalogError(
            f"{where}:{line}: an algorithm has at most {limits.MAX_STEPS} steps, not {len(entry['steps'])}"
        )
    symbols = fields.merged(entry, base, f"{where}:{line}")
    indices = fields.indices(entry, f"{where}:{line}")
    optimizer = fields.string(entry, "optimizer", f"{where}:{line}", "sgd")
    if optimizer not in OPTIMIZERS:
        raise CatalogError(f"{where}:{line}: optimizer {optimizer[:40]!r} is not one of {', '.join(OPTIMIZERS)}")
    names, steps = set(symbols), []
    for step in entry["steps"]:
        step_line = fields.line_of(text, step) if isinstance(step, str) else line
        try:
            steps_taken = {n for n, s in symbols.items() if s.kind == "step"}
            target, rhs = safeparse.parse_step(step, names, set(functions), set(indices), steps_taken)
        except safeparse.UnsafeForm as e:
            raise CatalogError(f"{where}:{step_line}: step of {entry.get('id', '?')!r}: {e}") from None
        names.add(target[1])
        steps.append((target, rhs))
    return Algorithm(
        id=fields.string(entry, "id", where),
        citation=fields.string(entry, "citation", where, ""),
        latex=fields.string(entry, "latex", where, ""),
        indices=indices,
        steps=steps,
        symbols=symbols,
        line=line,
        n_layers=entry.get("n_layers"),
        note=fields.string(entry, "note", where, ""),
        optimizer=optimizer,
    )
