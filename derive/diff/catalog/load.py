"""Read and check one source file of the textbook catalog (schema: :mod:`derive.diff.catalog.sources`).

The source's own keys are read here; its fields are checked by :mod:`derive.diff.catalog.fields`
and each ``[[forms]]`` and ``[[algorithms]]`` entry by :mod:`derive.diff.catalog.entries`, where
every formula goes through :mod:`derive.diff.safeparse`, never through ``sympify``. Anything a
file gets wrong is a :class:`CatalogError` naming the file and line.
"""

from __future__ import annotations

import sys
from pathlib import Path

from derive.diff.catalog import entries, fields, limits
from derive.diff.catalog.types import FUNCTION_KINDS, CatalogError, Source

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_BUILTIN_FUNCTIONS = {"exp": "exp", "log": "log", "tanh": "tanh"}
MAX_FORMS = 200
MAX_FILE_BYTES = 500_000


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
    bias, weight_decay, decay_biases = (fields.boolean(data, key, where, default) for key, default in _SWITCHES)
    if decay_biases and not (weight_decay and bias):
        raise CatalogError(f"{where}: 'decay_biases' needs 'weight_decay = true' and 'bias = true'")
    act = fields.string(data, "act", where, "sigmoid")
    acts = [a.strip() for a in act.split(",")]
    if len(acts) > 2 or any(a not in limits.ACTIVATIONS for a in acts):
        valid = ", ".join(limits.ACTIVATIONS)
        raise CatalogError(f"{where}: act must be one activation or 'hidden,output' from {valid}, not {act[:40]!r}")
    sid = fields.string(data, "id", where, path.stem)
    conventions = fields.conventions(data.get("conventions", {}), where)
    functions = dict(_BUILTIN_FUNCTIONS)
    for name, kind in (data.get("functions") or {}).items():
        if "__" in name or not name.isidentifier() or kind not in FUNCTION_KINDS:
            raise CatalogError(f"{where}: function {name!r} must map to one of {', '.join(FUNCTION_KINDS)}")
        functions[name] = kind
    base = fields.symbols(data.get("symbols", {}), where, text)
    src = Source(
        id=sid,
        title=fields.string(data, "source", where, sid),
        citation=fields.string(data, "citation", where, ""),
        path=path,
        act=act,
        loss=fields.string(data, "loss", where, "sse"),
        bias=bias,
        conventions=conventions,
        functions=functions,
        aliases=tuple(fields.listed(data, "aliases", where, str)),
        weight_decay=weight_decay,
        decay_biases=decay_biases,
    )
    forms, algos = data.get("forms", []), data.get("algorithms", [])
    if not isinstance(forms, list) or not isinstance(algos, list) or len(forms) + len(algos) > MAX_FORMS:
        raise CatalogError(f"{where}: [[forms]] and [[algorithms]] must be arrays of tables (at most {MAX_FORMS})")
    starts = fields.headers(text, "forms")
    for n, entry in enumerate(forms):
        src.forms.append(entries.form(entry, base, functions, text, where, starts[n] if n < len(starts) else 0))
    for entry in algos:
        src.algorithms.append(entries.algorithm(entry, base, functions, text, where))
    return src


#: the source's true/false switches and their defaults
_SWITCHES = (("bias", True), ("weight_decay", False), ("decay_biases", False))
