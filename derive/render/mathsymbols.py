r"""MathML for the small pieces of LaTeX that notation presets write a symbol in.

A preset (:mod:`derive.render.notations`) states each symbol once, as LaTeX such as
``w^{(2)}_{ji}``, ``\boldsymbol{\delta}`` or ``\hat{y}``; the LaTeX printer uses it as it is
and :func:`symbol_nodes` reads it into presentation MathML elements for the MathML printer.
Only what presets use is understood: letters, digits, Greek letters, sub- and superscripts,
braces, ``\mathbf``, ``\boldsymbol``, ``\mathrm``, ``\hat``, ``\bar`` and a prime.

Bold letters are the Unicode mathematical alphanumeric characters (U+1D400 on):
browsers that implement MathML Core honour no ``mathvariant`` other than ``normal``.
"""

from __future__ import annotations

import re
import unicodedata

_TOKEN_RE = re.compile(r"\\[A-Za-z]+|\\.|[0-9]+|\s+|.")
GREEK = {
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ϵ",
    "varepsilon": "ε",
    "eta": "η",
    "theta": "θ",
    "lambda": "λ",
    "mu": "μ",
    "nu": "ν",
    "rho": "ρ",
    "sigma": "σ",
    "tau": "τ",
    "phi": "ϕ",
    "Delta": "Δ",
    "Sigma": "Σ",
}
#: LaTeX font commands and the Unicode style of their letters (None: upright, one ``mi``)
FONTS = {r"\mathbf": "BOLD", r"\boldsymbol": "BOLD ITALIC", r"\mathrm": None}
#: Characters printed as operators (``mo``) in a symbol.
OPERATORS = {"(": "(", ")": ")", ",": ",", "'": "′", "+": "+", "-": "−"}


def styled(ch: str, style: str) -> str:
    """``ch`` in a Unicode mathematical style (``BOLD``, ``BOLD ITALIC``), or ``ch`` when there is none.

    >>> styled("W", "BOLD"), styled("δ", "BOLD ITALIC"), styled("2", "BOLD ITALIC")
    ('𝐖', '𝜹', '2')
    """
    if ch.isdigit() and style == "BOLD":
        return unicodedata.lookup(f"MATHEMATICAL BOLD DIGIT {unicodedata.name(ch).split()[-1]}")
    try:
        name = unicodedata.name(ch)
    except ValueError:
        return ch
    parts = name.split()
    if parts[0] == "LATIN" and len(parts) == 4:  # LATIN SMALL LETTER X
        kind = "CAPITAL" if parts[1] == "CAPITAL" else "SMALL"
        return unicodedata.lookup(f"MATHEMATICAL {style} {kind} {parts[3]}")
    if parts[0] == "GREEK" and len(parts) >= 4:  # GREEK SMALL LETTER DELTA
        kind = "CAPITAL" if parts[1] == "CAPITAL" else "SMALL"
        try:
            return unicodedata.lookup(f"MATHEMATICAL {style} {kind} {' '.join(parts[3:])}")
        except KeyError:
            return ch
    return ch


class _TexReader:
    """A reader of the LaTeX that notation presets use for one symbol."""

    def __init__(self, dom, tex: str):
        self.dom = dom
        self.tokens = [t for t in _TOKEN_RE.findall(tex) if not t.isspace()]
        self.pos = 0

    def element(self, tag: str, *children, text: str | None = None, **attrs):
        el = self.dom.createElement(tag)
        for k, v in attrs.items():
            el.setAttribute(k, v)
        if text is not None:
            el.appendChild(self.dom.createTextNode(text))
        for child in children:
            el.appendChild(child)
        return el

    def row(self, items: list):
        return items[0] if len(items) == 1 else self.element("mrow", *items)

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        self.pos += 1
        return self.tokens[self.pos - 1]

    def sequence(self, style: str | None = "", stop: str | None = None) -> list:
        """Atoms up to ``stop`` (a closing brace) or the end, each with its scripts."""
        items = []
        while self.peek() is not None and self.peek() != stop:
            base = self.atom(style)
            if base is None:
                continue
            sub = sup = None
            while self.peek() in ("_", "^"):
                which = self.take()
                arg = self.row(self.argument(""))
                sub, sup = (arg, sup) if which == "_" else (sub, arg)
            if sub is not None and sup is not None:
                base = self.element("msubsup", base, sub, sup)
            elif sub is not None:
                base = self.element("msub", base, sub)
            elif sup is not None:
                base = self.element("msup", base, sup)
            items.append(base)
        return items

    def argument(self, style: str | None) -> list:
        """A braced group or a single atom."""
        if self.peek() == "{":
            self.take()
            items = self.sequence(style, stop="}")
            if self.peek() == "}":
                self.take()
            return items or [self.element("mrow")]
        atom = self.atom(style)
        return [atom] if atom is not None else [self.element("mrow")]

    def atom(self, style: str | None):
        tok = self.take()
        if tok == "{":
            items = self.sequence(style, stop="}")
            if self.peek() == "}":
                self.take()
            return self.row(items) if items else None
        if tok in FONTS:
            font = FONTS[tok]
            if font is None:  # upright text such as "net": one identifier
                text = "".join(self._plain_tokens())
                return self.element("mi", text=text, mathvariant="normal")
            return self.row(self.argument(font))
        if tok == r"\hat":
            return self.element("mover", self.row(self.argument(style)), self.element("mo", text="^"), accent="true")
        if tok == r"\bar":
            return self.element("mover", self.row(self.argument(style)), self.element("mo", text="¯"), accent="true")
        if tok.startswith("\\"):
            name = tok[1:]
            if name in GREEK:
                return self._letter(GREEK[name], style)
            return None  # spacing commands such as \! and \,
        if tok.isdigit():
            return self.element("mn", text=styled(tok[0], style) + tok[1:] if style == "BOLD" else tok)
        if tok in OPERATORS:  # inside a symbol: no operator spacing around brackets and commas
            # brackets must not stretch: a stretchy bracket in a script takes the height of the script row
            return self.element("mo", text=OPERATORS[tok], lspace="0", rspace="0", stretchy="false")
        return self._letter(tok, style)

    def _plain_tokens(self) -> list[str]:
        out = []
        if self.peek() == "{":
            self.take()
            while self.peek() not in (None, "}"):
                out.append(self.take())
            if self.peek() == "}":
                self.take()
        return out

    def _letter(self, ch: str, style: str | None):
        if style:
            return self.element("mi", text=styled(ch, style), mathvariant="normal")
        return self.element("mi", text=ch)


def symbol_nodes(dom, tex: str):
    """MathML elements for the LaTeX of one symbol (an ``mrow`` when there are several atoms)."""
    reader = _TexReader(dom, tex)
    return reader.row(reader.sequence() or [reader.element("mrow")])
