"""Printers: SymPy's LaTeX printer taught the notation presets.

The printer is a subclass dispatching on expression classes (``_print_<Class>``);
symbol names come from :mod:`derive.naming`, so no printed string is ever
edited afterwards.
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from derive import naming

_IDX_RE = re.compile(r"idx([0-9]+)(p?)")


class NotationLatexPrinter(LatexPrinter):
    """LaTeX in one notation preset, for one network depth."""

    def __init__(self, notation: str = "bishop", n_layers: int = 2, **settings):
        super().__init__(settings)
        self.notation = naming.NOTATIONS[notation]
        self.n_layers = n_layers

    def _index(self, k: sp.Expr) -> str:
        if isinstance(k, sp.Symbol):
            m = _IDX_RE.fullmatch(k.name)
            if m:
                letters = self.notation.index_letters
                level = int(m.group(1))
                return letters[level % len(letters)] + ("'" if m.group(2) else "")
        return self._print(k)

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        if _IDX_RE.fullmatch(expr.name):
            return self._index(expr)
        if expr.name == "E":
            return self.notation.error
        try:
            return _group(self.notation.latex(expr, self.n_layers))
        except KeyError:
            return super()._print_Symbol(expr)

    def _print_Indexed(self, expr: sp.Indexed) -> str:
        role, layer = naming.indexed_info(expr.base, self.n_layers)
        idx = [self._index(k) for k in expr.indices]
        sep = "," if any(len(k) > 1 and k.isdigit() for k in idx) else ""
        fields = {**naming.layer_fields(layer, self.n_layers), "j": idx[0]}
        if len(idx) == 2:
            fields["i"] = idx[1]
            pair = idx if self.notation.weight_order == "ji" else idx[::-1]
            fields["ji"] = sep.join(pair)
        return _group(self.notation.pattern(role, layer, self.n_layers) % fields)

    def _print_MatrixSymbol(self, expr: sp.MatrixSymbol, style: str = "plain") -> str:
        # names made by :func:`vector`: "vec:<role>:<layer>"
        parts = expr.name.split(":")
        if len(parts) != 3 or parts[0] != "vec":
            return super()._print_MatrixSymbol(expr)
        role, layer = parts[1], int(parts[2])
        if role == "fprime":  # h'(a^(l)), the activation derivative applied elementwise
            arg = self._print(vector("a", layer, *expr.shape))
            return r"%s'\!\left(%s\right)" % (self.notation.activation, arg)
        pattern = self.notation.pattern(role, layer, self.n_layers, vector=True)
        return _group(pattern % naming.layer_fields(layer, self.n_layers))

    def _print_HadamardProduct(self, expr: sp.HadamardProduct) -> str:
        # Nielsen's ⊙ for the elementwise product; products of matrices inside get brackets
        return r" \odot ".join(self.parenthesize(arg, PRECEDENCE["Pow"], strict=True) for arg in expr.args)

    def _print_Transpose(self, expr: sp.Transpose) -> str:
        if isinstance(expr.arg, sp.MatrixSymbol):  # a braced symbol takes the T without brackets
            return r"%s^{\mathsf{T}}" % self._print(expr.arg)
        return r"\left(%s\right)^{\mathsf{T}}" % self._print(expr.arg)

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        # textbooks write y_k - t_k and 1 - y_k: positive terms first, in SymPy's order
        terms = list(self._as_ordered_terms(expr, order=order))
        terms.sort(key=lambda t: t.could_extract_minus_sign())
        out = ""
        for i, term in enumerate(terms):
            if i == 0:
                pass
            elif term.could_extract_minus_sign():
                out += " - "
                term = -term
            else:
                out += " + "
            text = self._print(term)
            if i > 0 and self._needs_add_brackets(term):
                text = r"\left(%s\right)" % text
            out += text
        return out

    def _print_Derivative(self, expr: sp.Derivative) -> str:
        ((var, count),) = expr.variable_count
        top = self._print(expr.expr)
        bottom = self._print(var)
        if count != 1:
            return r"\frac{\partial^{%d} %s}{\partial %s^{%d}}" % (count, top, bottom, count)
        return r"\frac{\partial %s}{\partial %s}" % (top, bottom)

    def _print_Heaviside(self, expr: sp.Heaviside, exp: str | None = None) -> str:
        text = r"H\!\left(%s\right)" % self._print(expr.args[0])
        return text if exp is None else f"{text}^{{{exp}}}"


def vector(role: str, layer: int, rows: int, cols: int = 1) -> sp.MatrixSymbol:
    """The vector (for ``w`` the matrix) of one role in one layer, printed in the notation's bold forms.

    ``fprime`` is h'(a^(l)), the activation derivative applied elementwise.
    """
    return sp.MatrixSymbol(f"vec:{role}:{layer}", rows, cols)


def _group(text: str) -> str:
    """Brace a symbol that carries a superscript, so that a power of it is valid LaTeX."""
    return "{%s}" % text if "^" in text else text


def latex(expr: sp.Expr, notation: str = "bishop", n_layers: int = 2) -> str:
    """LaTeX of ``expr`` in a notation preset.

    >>> latex(sp.Symbol("w_2_1_3"))
    '{w^{(2)}_{13}}'
    >>> latex(sp.Symbol("y_1") - sp.Symbol("t_1"))
    'y_{1} - t_{1}'
    """
    return NotationLatexPrinter(notation, n_layers).doprint(expr)
