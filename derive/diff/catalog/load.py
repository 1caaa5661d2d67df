"""Read and check one source file of the textbook catalog (schema: :mod:`derive.diff.catalog.sources`).

Every formula goes through :mod:`derive.diff.safeparse`, never through ``sympify``;
anything a file gets wrong is a :class:`CatalogError` naming the file and line.
"""

from __future__ import annotations

import sys
from pathlib import Path

from derive.diff import safeparse
from derive.diff.catalog import limits
from derive.diff.catalog.types import (
    FUNCTION_KINDS,
    KINDS,
    LAYER_SPEC,
    TARGETS,
    Algorithm,
    CatalogError,
    Form,
    Source,
    SymbolSpec,
)
from derive.spec import OPTIMIZERS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_BUILTIN_FUNCTIONS = {"exp": "exp", "log": "log", "tanh": "tanh"}
MAX_FORMS = 200
MAX_FILE_BYTES = 500_000


def _line_of(text: str, needle: str) -> int:
    probe = needle.strip().splitlines()[0][:60] if needle.strip() else needle
    for n, line in enumerate(text.splitlines(), 1):
        if probe and probe in line:
            return n
    return 1


def _headers(text: str, name: str) -> list[int]:
    """The line numbers of every ``[[name]]`` header, in order."""
    return [n for n, line in enumerate(text.splitlines(), 1) if line.strip().replace(" ", "") == f"[[{name}]]"]


def _key_line(text: str, start: int, key: str, default: int) -> int:
    """The line of ``key = ...`` in the table that starts at line ``start`` (``default`` if absent)."""
    for n, line in enumerate(text.splitlines()[start:], start + 1):
        stripped = line.strip()
        if stripped.startswith("["):
            break
        if stripped.split("=", 1)[0].strip() == key:
            return n
    return default


_LAYER_WORDS = "a layer number (0 = inputs), l, l-1, l+1, L or L-1"


def _check_layer(value: object, what: str, words: tuple[str, ...] = ()) -> None:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise CatalogError(f"{what}: layer must be {', '.join(words + (_LAYER_WORDS,))}")
    if isinstance(value, str) and value not in words and not LAYER_SPEC.fullmatch(value):
        valid = ", ".join(words + (_LAYER_WORDS,))
        raise CatalogError(f"{what}: layer {value!r} is not one of {valid}")


def _symbols(table: object, where: str, text: str = "") -> dict[str, SymbolSpec]:
    if not isinstance(table, dict):
        raise CatalogError(f"{where}: [symbols] must be a table")
    out = {}
    for name, spec in table.items():
        if "__" in name or not name.isidentifier() or not name.isascii():
            raise CatalogError(f"{where}: bad symbol name {name!r} (ASCII letters, digits and _)")
        spec = {"kind": spec} if isinstance(spec, str) else spec
        if not isinstance(spec, dict) or spec.get("kind") not in KINDS:
            raise CatalogError(f"{where}: symbol {name!r} needs a kind, one of {', '.join(KINDS)}")
        if "layer" in spec:
            line = next((n for n, t in enumerate(text.splitlines(), 1) if t.strip().startswith(f"{name} =")), 0)
            at = f"{where.rsplit(':', 1)[0] if where.rsplit(':', 1)[-1].isdigit() else where}:{line}" if line else where
            _check_layer(spec["layer"], f"{at}: symbol {name!r}")
        unknown = set(spec) - {"kind", "layer", "unit", "order"}
        if unknown or spec.get("order", "to_from") not in ("to_from", "from_to"):
            raise CatalogError(f"{where}: symbol {name!r}: bad keys or order {sorted(unknown)}")
        out[name] = SymbolSpec(spec["kind"], spec.get("layer"), spec.get("unit"), spec.get("order", "to_from"))
    return out


def _str(entry: dict, key: str, where: str, default: str | None = None) -> str:
    value = entry.get(key, default)
    if not isinstance(value, str):
        raise CatalogError(f"{where}: '{key}' must be a string")
    return value


def load_source(path: Path) -> Source:
    """Read and check one source file; raise :class:`CatalogError` with file and line."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CatalogError(f"{path}: larger than {MAX_FILE_BYTES // 1000} kB; split it")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CatalogError(f"{path}: cannot read ({e.__class__.__name__})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise CatalogError(f"{path}: malformed TOML: {str(e)[:200]}") from None
    except RecursionError:
        raise CatalogError(f"{path}: tables and arrays nest deeper than {limits.MAX_NESTING} levels") from None
    except ValueError:  # an integer beyond Python's digit limit (4300)
        raise CatalogError(f"{path}: an integer has thousands of digits; the limit is {limits.MAX_INTEGER}") from None
    where = str(path)
    limits.plain(data, where)
    limits.unknown_keys(data, "source", where)
    bias, weight_decay, decay_biases = (_bool(data, key, where, default) for key, default in _SWITCHES)
    if decay_biases and not (weight_decay and bias):
        raise CatalogError(f"{where}: 'decay_biases' needs 'weight_decay = true' and 'bias = true'")
    act = _str(data, "act", where, "sigmoid")
    acts = [a.strip() for a in act.split(",")]
    if len(acts) > 2 or any(a not in limits.ACTIVATIONS for a in acts):
        valid = ", ".join(limits.ACTIVATIONS)
        raise CatalogError(f"{where}: act must be one activation or 'hidden,output' from {valid}, not {act[:40]!r}")
    sid = _str(data, "id", where, path.stem)
    conventions = _conventions(data.get("conventions", {}), where)
    functions = dict(_BUILTIN_FUNCTIONS)
    for name, kind in (data.get("functions") or {}).items():
        if "__" in name or not name.isidentifier() or kind not in FUNCTION_KINDS:
            raise CatalogError(f"{where}: function {name!r} must map to one of {', '.join(FUNCTION_KINDS)}")
        functions[name] = kind
    base = _symbols(data.get("symbols", {}), where, text)
    src = Source(
        id=sid,
        title=_str(data, "source", where, sid),
        citation=_str(data, "citation", where, ""),
        path=path,
        act=act,
        loss=_str(data, "loss", where, "sse"),
        bias=bias,
        conventions=conventions,
        functions=functions,
        aliases=tuple(_list(data, "aliases", where, str)),
        weight_decay=weight_decay,
        decay_biases=decay_biases,
    )
    forms, algos = data.get("forms", []), data.get("algorithms", [])
    if not isinstance(forms, list) or not isinstance(algos, list) or len(forms) + len(algos) > MAX_FORMS:
        raise CatalogError(f"{where}: [[forms]] and [[algorithms]] must be arrays of tables (at most {MAX_FORMS})")
    starts = _headers(text, "forms")
    for n, entry in enumerate(forms):
        src.forms.append(_form(entry, base, functions, text, where, starts[n] if n < len(starts) else 0))
    for entry in algos:
        src.algorithms.append(_algorithm(entry, base, functions, text, where))
    return src


#: the source's true/false switches and their defaults
_SWITCHES = (("bias", True), ("weight_decay", False), ("decay_biases", False))


def _bool(data: dict, key: str, where: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise CatalogError(f"{where}: '{key}' must be true or false (a TOML boolean), not {value!r}")
    return value


def _list(entry: dict, key: str, where: str, *types) -> list:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, types) and not isinstance(v, bool) for v in value):
        raise CatalogError(f"{where}: '{key}' must be a list")
    return value


def _conventions(conv: object, where: str) -> dict[str, object]:
    """Check the numeric conventions: they scale verdicts, so they must be plain numbers."""
    if not isinstance(conv, dict):
        raise CatalogError(f"{where}: [conventions] must be a table")
    limits.unknown_keys(conv, "conventions", where)
    if conv.get("delta_sign", 1) not in (1, -1) or isinstance(conv.get("delta_sign"), bool):
        raise CatalogError(f"{where}: conventions.delta_sign must be 1 or -1")
    scale = conv.get("error_scale", 1)
    if isinstance(scale, bool) or scale not in (1, -1, 2, -2, 0.5, -0.5):
        raise CatalogError(f"{where}: conventions.error_scale must be one of 1, -1, 2, -2, 0.5, -0.5")
    if conv.get("update", "descent") not in ("descent", "ascent"):
        raise CatalogError(f"{where}: conventions.update must be 'descent' or 'ascent'")
    return {k: v if isinstance(v, (int, float)) else str(v) for k, v in conv.items()}


_ARITY = {"grad_w": 2, "update_w": 2, "sigmoid_prime": 0}


def _merged(entry: dict, base: dict[str, SymbolSpec], where: str) -> dict[str, SymbolSpec]:
    return {**base, **_symbols(entry.get("symbols", {}), where)}


def _indices(entry: dict, where: str) -> dict[str, str | int]:
    table = entry.get("indices", {})
    if not isinstance(table, dict) or any(isinstance(v, bool) or not isinstance(v, (str, int)) for v in table.values()):
        raise CatalogError(f"{where}: 'indices' must map index letters to layers")
    return table


def _form(entry: dict, base, functions, text: str, where: str, start: int = 0) -> Form:
    if not isinstance(entry, dict):
        raise CatalogError(f"{where}: each [[forms]] entry must be a table")
    expr = _str(entry, "expr", where)
    line = _key_line(text, start, "expr", _line_of(text, expr)) if start else _line_of(text, expr)
    at_line = f"{where}:{line}"

    def key_at(key: str) -> str:  # the file and line of one key of this form, for errors about it
        return f"{where}:{_key_line(text, start, key, line)}" if start else at_line

    fid = f"form {entry.get('id', '?')!r}"
    limits.unknown_keys(entry, "forms", at_line)
    symbols = _merged(entry, base, key_at("symbols"))
    indices = _indices(entry, key_at("indices"))
    for letter, spec in indices.items():
        _check_layer(spec, f"{key_at('indices')}: {fid}: index {letter!r}")
    target = _str(entry, "target", key_at("target"))
    if target not in TARGETS:
        raise CatalogError(f"{key_at('target')}: {fid}: unknown target {target!r}; one of {', '.join(TARGETS)}")
    at = _list(entry, "at", key_at("at"), str, int)
    if len(at) != _ARITY.get(target, 1) or any(isinstance(a, str) and a not in indices for a in at):
        undeclared = [a for a in at if isinstance(a, str) and a not in indices]
        why = f"; {', '.join(map(repr, undeclared))} not declared in 'indices'" if undeclared else ""
        raise CatalogError(
            f"{key_at('at')}: {fid}: 'at' must list {_ARITY.get(target, 1)} declared index letters or units "
            f"for target {target!r}{why}"
        )
    layer = entry.get("layer", "all")
    _check_layer(layer, f"{key_at('layer')}: {fid}", ("output", "hidden", "all"))
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
        id=_str(entry, "id", at_line),
        citation=_str(entry, "citation", at_line, ""),
        latex=_str(entry, "latex", at_line, ""),
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
        note=_str(entry, "note", at_line, ""),
    )


def _algorithm(entry: dict, base, functions, text: str, where: str) -> Algorithm:
    if not isinstance(entry, dict) or not isinstance(entry.get("steps"), list):
        raise CatalogError(f"{where}: each [[algorithms]] entry needs a list of steps")
    line = _line_of(text, str(entry.get("id", "")))
    limits.unknown_keys(entry, "algorithms", f"{where}:{line}")
    if len(entry["steps"]) > limits.MAX_STEPS:
        raise CatalogError(
            f"{where}:{line}: an algorithm has at most {limits.MAX_STEPS} steps, not {len(entry['steps'])}"
        )
    symbols = _merged(entry, base, f"{where}:{line}")
    indices = _indices(entry, f"{where}:{line}")
    optimizer = _str(entry, "optimizer", f"{where}:{line}", "sgd")
    if optimizer not in OPTIMIZERS:
        raise CatalogError(f"{where}:{line}: optimizer {optimizer[:40]!r} is not one of {', '.join(OPTIMIZERS)}")
    names, steps = set(symbols), []
    for step in entry["steps"]:
        step_line = _line_of(text, step) if isinstance(step, str) else line
        try:
            target, rhs = safeparse.parse_step(step, names, set(functions), set(indices))
        except safeparse.UnsafeForm as e:
            raise CatalogError(f"{where}:{step_line}: step of {entry.get('id', '?')!r}: {e}") from None
        names.add(target[1])
        steps.append((target, rhs))
    return Algorithm(
        id=_str(entry, "id", where),
        citation=_str(entry, "citation", where, ""),
        latex=_str(entry, "latex", where, ""),
        indices=indices,
        steps=steps,
        symbols=symbols,
        line=line,
        n_layers=entry.get("n_layers"),
        note=_str(entry, "note", where, ""),
        optimizer=optimizer,
    )
