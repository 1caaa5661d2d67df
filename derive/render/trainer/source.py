"""Python source text for generated code: assignments, wrapping, literals, dead-line pruning.

Only formatting lives here; the expressions come from :mod:`derive.render.trainer.printer`.
"""

from __future__ import annotations

import ast
import json
import re
import textwrap
from dataclasses import dataclass

#: Generated lines are wrapped to stay within this width (ruff's E501 is 120).
WIDTH = 100


@dataclass(frozen=True)
class Line:
    """One assignment of the generated code: ``lhs = rhs  # comment``."""

    lhs: str
    rhs: str
    comment: str = ""


def _strip_outer(text: str) -> str:
    """``(u)`` -> ``u`` when the parentheses enclose the whole text."""
    if not (text.startswith("(") and text.endswith(")")):
        return text
    depth = 0
    for pos, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and pos < len(text) - 1:
            return text
    return text[1:-1]


def is_primary(text: str) -> bool:
    """True for a name, call, attribute or subscript, which binds tighter than any operator.

    >>> is_primary("np.dot(a, b)"), is_primary("a.sum()"), is_primary("d.T @ z")
    (True, True, False)
    """
    node = ast.parse(text, mode="eval").body
    return isinstance(node, (ast.Name, ast.Call, ast.Attribute, ast.Subscript))


def _wrap(text: str, width: int) -> list[str]:
    """Break at spaces, never inside a subscript such as ``W2[3, 0]`` (a list display ``[a, b]`` may break).

    >>> _wrap("[alpha, beta, W2[3, 0], gamma]", 14)
    ['[alpha, beta,', 'W2[3, 0],', 'gamma]']
    """
    brackets, chars = [], []  # for each open bracket: whether it opens a subscript
    for pos, ch in enumerate(text):
        if ch == "[":
            brackets.append(pos > 0 and (text[pos - 1].isalnum() or text[pos - 1] in "_])"))
        elif ch == "]" and brackets:
            brackets.pop()
        chars.append("\0" if ch == " " and any(brackets) else ch)
    parts = textwrap.wrap("".join(chars), width, break_long_words=False, break_on_hyphens=False)
    return [part.replace("\0", " ") for part in parts]


def emit(line: Line, indent: int = 4) -> list[str]:
    """Source lines of one assignment, wrapped inside parentheses when long."""
    pad = " " * indent
    comment = f"  # {line.comment}" if line.comment else ""
    rhs = _strip_outer(line.rhs)
    one = f"{pad}{line.lhs} = {rhs}{comment}"
    if len(one) <= WIDTH:
        return [one]
    if "," in line.lhs and len(f"{pad}) = {rhs}{comment}") <= WIDTH:  # many targets, short value
        names = _wrap(line.lhs, WIDTH - indent - 4)
        return [f"{pad}("] + [f"{pad}    {part}" for part in names] + [f"{pad}) = {rhs}{comment}"]
    body = _wrap(rhs, WIDTH - indent - 4)
    return [f"{pad}{line.lhs} = ({comment}"] + [f"{pad}    {part}" for part in body] + [f"{pad})"]


def tuple_text(items: list[str]) -> str:
    """A tuple display: ``(a, b)``, and ``(a,)`` for one item."""
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STRING_RE = re.compile(r'"[^"]*"')


def _names(text: str) -> set[str]:
    """The names a piece of source reads; words inside string literals (``params["W1"]``) are not names."""
    return set(_NAME_RE.findall(_STRING_RE.sub('""', text)))


def prune(lines: list[Line], returned: str) -> list[Line]:
    """Drop assignments to names nothing later reads (a loss written in a's never reads y)."""
    needed = _names(returned)
    kept = []
    for line in reversed(lines):
        if line.lhs.isidentifier() and line.lhs not in needed:
            continue
        needed |= _names(line.rhs) | _names(line.lhs)
        kept.append(line)
    return kept[::-1]


def literal(value: object) -> str:
    """Python source of a str, bool, number or tuple of them, with double quotes as ruff format writes.

    >>> print(literal(("sigmoid",)), literal("2-3-2"), literal((2, 3)))
    ("sigmoid",) "2-3-2" (2, 3)
    """
    if isinstance(value, tuple):
        return tuple_text([literal(v) for v in value])
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)
