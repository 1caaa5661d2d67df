r"""Printers: SymPy's LaTeX printer taught the notation presets.

The printer is a subclass dispatching on expression classes (``_print_<Class>``);
symbol names come from :mod:`derive.core.naming`, so no printed string is ever
edited afterwards.

Order. SymPy orders the terms of a sum and the factors of a product by symbol
name, so ``y_10`` comes before ``y_2``. When a canonical symbol of an
expression has an index of two or more digits, the printer first renames every
canonical symbol of it to a zero-padded name (``y_10`` -> ``y_000000010``):
SymPy's own ordering of the renamed expression is the natural order 1, 2, ...,
10, and a padded symbol prints as the symbol it stands for. Where every index
has one digit nothing is renamed, so small nets print exactly as SymPy orders
them.

Elision. With ``elide=n`` a run of more than ``n`` terms of the same sign in a
sum prints as its first three terms, ``\cdots`` and its last term.
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE, precedence_traditional

from derive.core import general, naming, update
from derive.render import notations
from derive.render.printing import (
    ELIDED_HEAD,
    LexStrPrinter,
    Memo,
    contains,
    factor_rank,
    natural,
    shown_as_written,
    unpadded,
    vector,
)

__all__ = ["ELIDED_HEAD", "LexStrPrinter", "NotationLatexPrinter", "latex", "natural", "vector"]


class NotationLatexPrinter(Memo, LatexPrinter):
    """LaTeX in one notation preset, for one network depth (each subexpression printed once per printer)."""

    def __init__(self, notation: str = "bishop", n_layers: int = 2, elide: int | None = None, **settings):
        super().__init__(settings)
        self.notation = notations.NOTATIONS[notation]
        self.n_layers = n_layers
        self.elide = elide
        #: the layer the formula being printed is about (names the unit indices of a relative notation)
        self.focus: int | None = None

    def doprint(self, expr, focus: int | None = None) -> str:
        """LaTeX of ``expr``; ``focus`` is the layer it is about (by default the layer of its first unit index)."""
        outer = self.focus
        self.focus = focus if focus is not None else notations.focus_of(expr)
        try:
            return super().doprint(natural(expr))
        finally:
            self.focus = outer

    def _index(self, k: sp.Expr) -> str:
        found = naming.index_level(k)
        if found:
            return self.notation.index_letter(*found, focus=self.focus)
        return self._print(k)

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        expr = unpadded(expr)
        if expr.name.startswith("gidx_"):
            offset = {"below": 0, "this": 1, "above": 2}[expr.name[len("gidx_") :]]
            return self.notation.generic_letters[offset]
        if naming.index_level(expr):
            return self._index(expr)
        if expr.name == "E":
            return self.notation.error
        if expr == update.ETA:
            return self.notation.rate
        if expr in update.ADAM_SCALARS:
            return self.notation.adam_letter(update.ADAM_SCALARS[expr])
        try:
            return _group(self.notation.latex(expr, self.n_layers))
        except KeyError:
            return super()._print_Symbol(expr)

    def _generic_fields(self, layer: sp.Expr) -> dict[str, str]:
        if layer.is_Integer:  # a numbered layer (the inputs, 0) in the source's numbering; l and L are its own
            layer = layer + self.notation.layer_offset
        text = self._print(layer).replace(" ", "")
        return {"l": text, "L": self._print(general.TOP), "sup": "^{(%s)}" % text}

    def _generic_pattern(self, role: str, layer: sp.Expr, vector: bool = False) -> str:
        """The pattern of a role in a rule for a general layer: the output layer's own where it is layer L.

        A notation that writes its output layer with other letters (seed 003's v, r, c) uses them at L;
        at a general layer l, which may be any layer, it keeps its hidden-layer letters.
        """
        key = f"vec:{role}" if vector else role
        if layer == general.TOP and key in self.notation.top:
            return self.notation.top[key]
        return (self.notation.vectors if vector else self.notation.patterns)[role]

    def _print_Indexed(self, expr: sp.Indexed) -> str:
        if general.is_generic(expr.base):  # a rule for a general layer: the first index is the layer
            role = general.role_of(expr.base)
            fields = self._generic_fields(expr.indices[0])
            idx = [self._print(k) for k in expr.indices[1:]]
            fields["j"] = idx[0]
            if len(idx) == 2:
                fields["i"] = idx[1]
                fields["ji"] = "".join(idx if self.notation.weight_order == "ji" else idx[::-1])
            return _group(self._generic_pattern(role, expr.indices[0]) % fields)
        role, layer = naming.indexed_info(expr.base, self.n_layers)
        idx = [self._index(k) for k in expr.indices]
        sep = "," if any(len(k) > 1 and k.isdigit() for k in idx) else ""
        fields = {**self.notation.layer_fields(layer, self.n_layers), "j": idx[0]}
        if len(idx) == 2:
            fields["i"] = idx[1]
            pair = idx if self.notation.weight_order == "ji" else idx[::-1]
            fields["ji"] = sep.join(pair)
        return _group(self.notation.pattern(role, layer, self.n_layers) % fields)

    def _print_MatrixSymbol(self, expr: sp.MatrixSymbol, style: str = "plain") -> str:
        if expr.name.startswith(("gvec:", "ggrad:")):  # general layer (derive.core.general.matrix)
            kind, role, layer = expr.name.split(":", 2)
            layer = general.parse_layer(layer)
            if role == "fprime":
                arg = self._print(general.matrix("a", layer))
                return r"%s'\!\left(%s\right)" % (self.notation.activation, arg)
            text = _group(self._generic_pattern(role, layer, vector=True) % self._generic_fields(layer))
            return r"\nabla_{%s} %s" % (text, self.notation.error) if kind == "ggrad" else text
        # names made by :func:`vector`: "vec:<role>:<layer>"
        parts = expr.name.split(":")
        if len(parts) != 3 or parts[0] != "vec":
            return super()._print_MatrixSymbol(expr)
        role, layer = parts[1], int(parts[2])
        if role == "fprime":  # h'(a^(l)), the activation derivative applied elementwise
            arg = self._print(vector("a", layer, *expr.shape))
            return r"%s'\!\left(%s\right)" % (self.notation.activation, arg)
        pattern = self.notation.pattern(role, layer, self.n_layers, vector=True)
        return _group(pattern % self.notation.layer_fields(layer, self.n_layers))

    # SymPy's bracket rules, with its has() walks of every term remembered per subexpression
    def _needs_add_brackets(self, expr) -> bool:
        return bool(expr.is_Relational or expr.is_Add or contains(expr, (sp.Mod,)))

    def _needs_mul_brackets(self, expr, first: bool = False, last: bool = False) -> bool:
        if expr.is_Mul:
            if not first and expr.could_extract_minus_sign():
                return True
        elif expr.is_Relational or precedence_traditional(expr) < PRECEDENCE["Mul"]:
            return True
        return bool(
            expr.is_Piecewise
            or contains(expr, (sp.Mod,))
            or (not last and contains(expr, (sp.Integral, sp.Product, sp.Sum)))
        )

    def _print_HadamardProduct(self, expr: sp.HadamardProduct) -> str:
        # Nielsen's ⊙ for the elementwise product; products of matrices inside get brackets
        return r" \odot ".join(self.parenthesize(arg, PRECEDENCE["Pow"], strict=True) for arg in expr.args)

    def _print_Transpose(self, expr: sp.Transpose) -> str:
        text = self._print(expr.arg)
        # a bare symbol takes the T without brackets; one with a superscript of its own, W^{(l+1)}, is
        # bracketed, (W^{(l+1)})^T, so that the T is not read as part of its layer superscript
        if isinstance(expr.arg, sp.MatrixSymbol) and "^" not in text:
            return r"%s^{\mathsf{T}}" % text
        if isinstance(expr.arg, sp.MatrixSymbol) and text.startswith("{") and text.endswith("}"):
            text = text[1:-1]  # the braces of one grouped symbol (:func:`_group`)
        return r"\left(%s\right)^{\mathsf{T}}" % text

    def _print_ExpBase(self, expr: sp.Expr, exp: str | None = None) -> str:
        # a negative number put in by hand is bracketed in a product, (-0.62) x; as an exponent it is not: e^{-0.62}
        arg = expr.args[0]
        if isinstance(arg, sp.UnevaluatedExpr) and arg.args[0].is_Number:
            return self._do_exponent(r"e^{%s}" % self._print(arg.args[0]), exp)
        return super()._print_ExpBase(expr, exp)

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        return "".join(self._add_pieces(expr, order))

    def _add_pieces(self, expr: sp.Add, order: str | None = None) -> list[str]:
        """The printed terms of a sum, each after the first with its sign (" - b", " + \\cdots")."""
        # textbooks write y_k - t_k and 1 - y_k: positive terms first, in SymPy's order
        terms = list(self._as_ordered_terms(expr, order=order))
        terms.sort(key=lambda t: t.could_extract_minus_sign())
        n_plus = sum(1 for t in terms if not t.could_extract_minus_sign())
        shown: list[sp.Expr | None] = self._elided(terms[:n_plus]) + self._elided(terms[n_plus:])
        pieces = []
        for i, term in enumerate(shown):
            negative = term is None and i + 1 < len(shown) and shown[i + 1].could_extract_minus_sign()
            negative = negative or (term is not None and term.could_extract_minus_sign())
            sign = "" if i == 0 else (" - " if negative else " + ")
            if term is None:
                pieces.append(sign + r"\cdots")
                continue
            if i > 0 and negative:
                term = -term
            text = self._print(term)
            if i > 0 and self._needs_add_brackets(term):
                text = r"\left(%s\right)" % text
            pieces.append(sign + text)
        return pieces

    def lines(self, expr: sp.Expr, per_line: int) -> list[str]:
        """``expr`` printed on lines of at most ``per_line`` terms (one line unless it is a longer sum).

        Every line after the first starts with its sign, as the continuation of a displayed equation.
        """
        if not isinstance(expr, sp.Add):
            return [self.doprint(expr)]
        outer, self.focus = self.focus, notations.focus_of(expr)
        try:
            pieces = self._add_pieces(natural(expr))
        finally:
            self.focus = outer
        return ["".join(pieces[k : k + per_line]).strip() for k in range(0, len(pieces), per_line)]

    def _elided(self, run: list[sp.Expr]) -> list[sp.Expr | None]:
        """A run of terms of one sign, its middle replaced by None (printed as an ellipsis) when too long."""
        if self.elide is None or len(run) <= max(self.elide, ELIDED_HEAD + 1):
            return list(run)
        return run[:ELIDED_HEAD] + [None] + run[-1:]

    def _print_Pow(self, expr: sp.Pow, *args, **kwargs) -> str:
        # z^{(2)}_k squared is (z^{(2)}_k)^2: written z^{(2)2}_k it would read as a power inside the superscript
        base, exp = expr.args
        if exp == -1 and shown_as_written(base):  # numbers put in by hand: 1/(1 + e^{...}) as a fraction
            return r"\frac{1}{%s}" % self._print(base)
        if exp.is_Integer and exp > 1 and isinstance(base, (sp.Symbol, sp.Indexed, sp.MatrixSymbol)):
            text = self._print(base)
            if "^" in text:
                inner = text[1:-1] if text.startswith("{") and text.endswith("}") else text
                return r"\left(%s\right)^{%s}" % (inner, self._print(exp))
        return super()._print_Pow(expr, *args, **kwargs)

    def _print_Mul(self, expr: sp.Mul) -> str:
        """Factors in a textbook's order: the activation derivative, then the error factor, then sums and inputs."""
        if not isinstance(expr, sp.Mul):  # SymPy prints a negative power as a quotient through here
            return super()._print_Mul(expr)
        if shown_as_written(expr):  # a product shown as written (numbers put in by hand), factor by factor
            return self._shown_product(expr)
        factors = expr.as_ordered_factors()
        if expr.could_extract_minus_sign() or any(f.is_Number or (f.is_Pow and f.exp.is_negative) for f in factors):
            return super()._print_Mul(expr)
        ranked = sorted(factors, key=lambda f: factor_rank(f, factors))
        pieces = []
        for n, f in enumerate(ranked):
            text = self._print(f)
            if self._needs_mul_brackets(f, first=n == 0, last=n == len(ranked) - 1):
                text = r"\left(%s\right)" % text
            pieces.append(text)
        return " ".join(pieces)

    def _shown_product(self, expr: sp.Mul) -> str:
        sign, pieces, below = "", [], []
        for f in expr.args:
            if f == -1:
                sign = "- "
                continue
            if isinstance(f, sp.Pow) and f.exp == -1:  # a divisor: the product is written as a fraction
                below.append(self._print(f.base))
                continue
            inner = f.args[0] if isinstance(f, sp.UnevaluatedExpr) else f
            text = self._print(f)
            pieces.append(r"\left(%s\right)" % text if inner.is_Add else text)
        top = r" \cdot ".join(pieces) or "1"
        return sign + (r"\frac{%s}{%s}" % (top, r" \cdot ".join(below)) if below else top)

    def _print_UnevaluatedExpr(self, expr: sp.UnevaluatedExpr) -> str:
        # a number put into a formula by hand: a negative one in brackets, as on paper
        text = self._print(expr.args[0])
        return r"\left(%s\right)" % text if expr.args[0].is_Number and expr.args[0] < 0 else text

    def _print_Derivative(self, expr: sp.Derivative) -> str:
        ((var, count),) = expr.variable_count
        top = self._print(expr.expr)
        bottom = self._print(var)
        if count != 1:
            return r"\frac{\partial^{%d} %s}{\partial %s^{%d}}" % (count, top, bottom, count)
        return r"\frac{\partial %s}{\partial %s}" % (top, bottom)

    def _print_Increment(self, expr: update.Increment, exp: str | None = None) -> str:
        text = r"\Delta %s" % self._print(expr.args[0])
        if len(expr.args) == 2:  # at step t: Δw(t), Δw(t-1)
            text += r"(%s)" % self._print(expr.args[1])
        return text if exp is None else r"\left(%s\right)^{%s}" % (text, exp)

    def _print_MomentBase(self, expr: update.MomentBase, exp: str | None = None) -> str:
        """Adam's m_θ(t), v̂_θ(t): the notation's letter with the parameter below, the step in brackets."""
        letter = self.notation.adam_letter(expr.letter)
        letter = r"\hat{%s}" % letter if expr.corrected else letter
        text = r"%s_{%s}(%s)" % (letter, self._print(expr.args[0]), self._print(expr.args[1]))
        return text if exp is None else r"\left(%s\right)^{%s}" % (text, exp)

    def _print_ActivationPrime(self, expr: general.ActivationPrime, exp: str | None = None) -> str:
        text = r"%s'\!\left(%s\right)" % (self.notation.activation, self._print(expr.args[0]))
        return text if exp is None else r"\left(%s\right)^{%s}" % (text, exp)

    def _print_Width(self, expr: general.Width, exp: str | None = None) -> str:
        text = "n_{%s}" % self._print(expr.args[0]).replace(" ", "")
        return text if exp is None else "%s^{%s}" % (text, exp)

    def _print_Heaviside(self, expr: sp.Heaviside, exp: str | None = None) -> str:
        text = r"H\!\left(%s\right)" % self._print(expr.args[0])
        return text if exp is None else f"{text}^{{{exp}}}"


def _group(text: str) -> str:
    """Brace a symbol that carries a superscript, so that a power of it is valid LaTeX."""
    return "{%s}" % text if "^" in text else text


def latex(expr: sp.Expr, notation: str = "bishop", n_layers: int = 2, focus: int | None = None) -> str:
    """LaTeX of ``expr`` in a notation preset (about layer ``focus``, by default its first unit index's).

    >>> latex(sp.Symbol("w_2_1_3"))
    '{w^{(2)}_{13}}'
    >>> latex(sp.Symbol("y_1") - sp.Symbol("t_1"))
    'y_{1} - t_{1}'
    """
    return NotationLatexPrinter(notation, n_layers).doprint(expr, focus)
