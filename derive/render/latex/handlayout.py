"""Where a line of the PDF's hand calculation is too long for the page: its sum on two rows, its result on a third.

TeX cannot break a row of an ``align*``; a row that does not fit runs into the margin. The width of a row is
estimated here from the widths TeX gives the characters of the document's 11pt math (measured once with
``\\settowidth`` and written below), a little on the generous side, and a row that would not fit is set on more:
a pre-activation's sum of numbers is shared out over two rows (the printer's own terms, in its order), and a
result that would not fit after the numbers stands on a row of its own.
"""

from __future__ import annotations

import re

from derive.core.model import Layer
from derive.render import example as example_mod
from derive.render import hand as hand_mod

#: widths in points, in the document's 11pt math: a digit, a decimal point, a binary + or − with its spaces, a
#: unary minus, \cdot with its spaces, = with its spaces, one sized bracket, a lower-case and an upper-case letter
WIDTHS = {
    "digit": 5.475,
    ".": 3.042,
    "op": 13.383,
    "neg": 8.517,
    "cdot": 7.908,
    "=": 14.6,
    "bracket": 4.254,
    "x": 5.7,
    "X": 8.2,
}
#: widths in points of the control sequences a hand line holds (spacing included where TeX adds it)
COMMANDS = {
    r"\cdot": WIDTHS["cdot"],
    r"\cdots": WIDTHS["op"],
    r"\partial": 5.8,
    r"\Omega": 7.9,
    r"\lambda": 6.4,
    r"\delta": 4.9,
    r"\sigma": 6.3,
    r"\eta": 5.3,
    r"\tanh": 20.0,
    r"\max": 19.0,
    r"\log": 15.0,
    r"\qquad": 22.0,
}
#: the text width of the document (a4 paper, 2.2cm margins) in points, and what is kept free of it for what the
#: estimate leaves out
TEXT_WIDTH = 472.3
SLACK = 8.0
#: a sign after these is a unary minus (the start of a line, a bracket, a group, a relation or an operator)
UNARY_AFTER = ("(", "{", "=", "op")
#: a superscript or subscript is set this much smaller
SCRIPT = 0.7


def _group(text: str, start: int) -> tuple[str, int]:
    """The brace group that opens at ``text[start]`` and the index after it."""
    depth = 0
    for n in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[n], 0)
        if depth == 0:
            return text[start + 1 : n], n + 1
    return text[start + 1 :], len(text)


def width(tex: str) -> float:
    """An estimate in points of how wide TeX sets ``tex``, a piece of a hand line (display maths).

    >>> round(width(r"0.3 + \\left(-0.65\\right) \\cdot 0.684169"))
    113
    """
    total, n, previous = 0.0, 0, "("
    while n < len(tex):
        ch = tex[n]
        if tex.startswith(r"\frac", n):
            top, n = _group(tex, n + 5)
            bottom, n = _group(tex, n)
            total += max(width(top), width(bottom)) + 2.0
            previous = "x"
            continue
        if ch in "^_":
            script, n = _group(tex, n + 1) if tex[n + 1 : n + 2] == "{" else (tex[n + 1 : n + 2], n + 2)
            total += SCRIPT * width(script)
            continue
        if ch == "\\":
            name = re.match(r"\\([a-zA-Z]+|.?)", tex[n:]).group(0)
            n += len(name)
            total += COMMANDS.get(name, 0.0)
            previous = "op" if name == r"\cdot" else previous
            continue
        if ch.isdigit():
            total += WIDTHS["digit"]
        elif ch == ".":
            total += WIDTHS["."]
        elif ch in "()":
            total += WIDTHS["bracket"]
        elif ch in "+-":
            total += WIDTHS["neg"] if previous in UNARY_AFTER else WIDTHS["op"]
            ch = "op"
        elif ch == "=":
            total += WIDTHS["="]
        elif ch.isalpha():
            total += WIDTHS["X"] if ch.isupper() else WIDTHS["x"]
        if not ch.isspace():
            previous = ch
        n += 1
    return total


def room(lines: list[dict]) -> float:
    """The width left for a row's numbers and result: the text width less the widest left side and its =."""
    return TEXT_WIDTH - max(width(r["lhs"]) for r in lines) - WIDTHS["="] - SLACK


def _rows(numbers: str) -> list[str]:
    """The rows a line's numbers are set on (split at the row breaks already put in)."""
    return numbers.split("\\\\")


def fold(c, step: example_mod.Step, layer: Layer, lines: list[dict]) -> None:
    """Set ``lines`` (one layer's hand calculation, LaTeX) so that no row runs past the margin.

    The pre-activation's numbers go on two rows when they do not fit on one, and a result that does not fit after
    the numbers goes on a row of its own (``"result_row"``).
    """
    space = room(lines)
    first = lines[0]
    if width(first["numbers"]) + WIDTHS["="] + width(first["result"]) > space:
        p = hand_mod.eliding(c) if hand_mod.wide(layer) else c
        shown = hand_mod.shown_numbers(layer.pre[0], step)
        pieces = p.printer.lines(shown, 1)
        if len(pieces) >= 2 and p.tex(shown) == first["numbers"]:  # the pieces are the printed line's own
            half = (len(pieces) + 1) // 2
            first["numbers"] = " ".join(pieces[:half]) + " \\\\*\n&\\qquad " + " ".join(pieces[half:])
    for r in lines:
        last = _rows(r["numbers"])[-1]
        r["result_row"] = width(last) + WIDTHS["="] + width(r["result"]) > space
