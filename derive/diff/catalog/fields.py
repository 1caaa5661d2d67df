"""Checked fields of a catalog file: strings, switches, symbol tables, layers, conventions, and lines.

Each function reads one kind of value from a parsed TOML table and raises
:class:`~derive.diff.catalog.types.CatalogError` naming the file (and line,
where the text shows it) when the value is wrong.
"""

from __future__ import annotations

from derive.diff.catalog import limits
from derive.diff.catalog.types import KINDS, LAYER_SPEC, CatalogError, SymbolSpec


def line_of(text: str, needle: str) -> int:
    probe = needle.strip().splitlines()[0][:60] if needle.strip() else needle
    for n, line in enumerate(text.splitlines(), 1):
        if probe and probe in line:
            return n
    return 1


def headers(text: str, name: str) -> list[int]:
    """The line numbers of every ``[[name]]`` header, in order."""
    return [n for n, line in enumerate(text.splitlines(), 1) if line.strip().replace(" ", "") == f"[[{name}]]"]


def key_line(text: str, start: int, key: str, default: int) -> int:
    """The line of ``key = ...`` in the table that starts at line ``start`` (``default`` if absent)."""
    for n, line in enumerate(text.splitlines()[start:], start + 1):
        stripped = line.strip()
        if stripped.startswith("["):
            break
        if stripped.split("=", 1)[0].strip() == key:
            return n
    return default


_LAYER_WORDS = "a layer number (0 = inputs), l, l-1, l+1, L or L-1"


def check_layer(value: object, what: str, words: tuple[str, ...] = ()) -> None:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise CatalogError(f"{what}: layer must be {', '.join(words + (_LAYER_WORDS,))}")
    if isinstance(value, str) and value not in words and not LAYER_SPEC.fullmatch(value):
        valid = ", ".join(words + (_LAYER_WORDS,))
        raise CatalogError(f"{what}: layer {value!r} is not one of {valid}")


def symbols(table: object, where: str, text: str = "") -> dict[str, SymbolSpec]:
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
            check_layer(spec["layer"], f"{at}: symbol {name!r}")
        unknown = set(spec) - {"kind", "layer", "unit", "order"}
        if unknown or spec.get("order", "to_from") not in ("to_from", "from_to"):
            raise CatalogError(f"{where}: symbol {name!r}: bad keys or order {sorted(unknown)}")
        out[name] = SymbolSpec(spec["kind"], spec.get("layer"), spec.get("unit"), spec.get("order", "to_from"))
    return out


def string(entry: dict, key: str, where: str, default: str | None = None) -> str:
    value = entry.get(key, default)
    if not isinstance(value, str):
        raise CatalogError(f"{where}: '{key}' must be a string")
    return value


def boolean(data: dict, key: str, where: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise CatalogError(f"{where}: '{key}' must be true or false (a TOML boolean), not {value!r}")
    return value


def listed(entry: dict, key: str, where: str, *types) -> list:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, types) and not isinstance(v, bool) for v in value):
        raise CatalogError(f"{where}: '{key}' must be a list")
    return value


def conventions(conv: object, where: str) -> dict[str, object]:
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


def merged(entry: dict, base: dict[str, SymbolSpec], where: str) -> dict[str, SymbolSpec]:
    return {**base, **symbols(entry.get("symbols", {}), where)}


def indices(entry: dict, where: str) -> dict[str, str | int]:
    table = entry.get("indices", {})
    if not isinstance(table, dict) or any(isinstance(v, bool) or not isinstance(v, (str, int)) for v in table.values()):
        raise CatalogError(f"{where}: 'indices' must map index letters to layers")
    return table
