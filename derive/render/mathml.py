r"""Presentation MathML in a notation preset: SymPy's MathML printer taught the presets.

The presets (:mod:`derive.render.notations`) write each symbol as a small piece of
LaTeX; :mod:`derive.render.mathsymbols` reads it into MathML elements, so a preset is
stated once and both printers follow it. Everything else dispatches on the expression's class
as in :class:`derive.render.printer.NotationLatexPrinter`: the same natural order
of terms, the same elision of long sums.
"""

from __future__ import annotations

import re

import sympy as sp
from markupsafe import escape
from sympy.printing.mathml import MathMLPresentationPrinter
from sympy.printing.precedence import PRECEDENCE

from derive.core import general, naming, update
from derive.render import notations
from derive.render.mathsymbols import symbol_nodes
from derive.render.printing import ELIDED_HEAD, factor_rank, natural, shown_as_written, unpadded

#: The operators between the symbols of a formula in a preset's note, and their characters.
FORMULA_OPERATORS = {"=": "=", "/": "/", "+": "+", "-": "−", r"\partial": "∂"}


class NotationMathMLPrinter(MathMLPresentationPrinter):
    """Presentation MathML in one notation preset, for one network depth."""

    def __init__(self, notation: str = "bishop", n_layers: int = 2, elide: int | None = None):
        super().__init__({"mul_symbol": None})
        self.notation = notations.NOTATIONS[notation]
        self.n_layers = n_layers
        self.elide = elide
        #: the layer the formula being printed is about (names the unit indices of a relative notation)
        self.focus: int | None = None

    def doprint(self, expr, focus: int | None = None) -> str:
        """MathML of ``expr``; ``focus`` is the layer it is about (by default the layer of its first unit index)."""
        outer = self.focus
        self.focus = focus if focus is not None else notations.focus_of(expr)
        try:
            text = self._print(natural(expr)).toxml()
        finally:
            self.focus = outer
        # Unicode text rather than SymPy's character references; the one named entity becomes its character
        text = text.replace("&InvisibleTimes;", "\u2062").replace("&#x2062;", "\u2062")
        return text.replace("<mo>-</mo>", "<mo>−</mo>")  # SymPy's products use the hyphen

    def math(self, expr, display: bool = False, focus: int | None = None) -> str:
        """A whole ``<math>`` element for ``expr`` (display or inline)."""
        mode = ' display="block"' if display else ""
        return f"<math{mode}>{self.doprint(expr, focus)}</math>"

    def letter(self, tex: str) -> str:
        """An inline ``<math>`` element for one of the notation's letters, given in LaTeX (``\\delta``)."""
        return f"<math>{self._tex(tex).toxml()}</math>"

    def sentence(self, text: str) -> str:
        r"""A sentence with LaTeX maths between dollars (a preset's note) as HTML: the maths as inline ``<math>``.

        Only what the notes use is read: the symbols of :mod:`derive.render.mathsymbols`, and between them
        ``=``, ``/``, ``+``, ``-`` and ``\partial`` as operators; a LaTeX space is dropped.
        """
        out = []
        for k, part in enumerate(re.split(r"\$", text)):
            if k % 2:
                out.append(f"<math>{self._tex_formula(part).toxml()}</math>")
            else:
                out.append(str(escape(part)))
        return "".join(out)

    def _tex_formula(self, tex: str):
        """MathML of a short formula in LaTeX: operators at brace depth 0 split it into symbols."""
        items, chunk, depth = [], [], 0

        def flush():
            if "".join(chunk).strip():
                items.append(self._tex("".join(chunk)))
            chunk.clear()

        for tok in re.findall(r"\\[A-Za-z]+|\\.|.", tex, re.S):
            depth += {"{": 1, "}": -1}.get(tok, 0)
            if depth == 0 and tok in FORMULA_OPERATORS:
                flush()
                items.append(self._el("mo", text=FORMULA_OPERATORS[tok]))
            elif depth == 0 and tok in (r"\,", r"\;", r"\ "):
                flush()
            else:
                chunk.append(tok)
        flush()
        return self._row(*items) if len(items) != 1 else items[0]

    def _el(self, tag: str, *children, text: str | None = None, **attrs):
        el = self.dom.createElement(tag)
        for k, v in attrs.items():
            el.setAttribute(k, v)
        if text is not None:
            el.appendChild(self.dom.createTextNode(text))
        for child in children:
            el.appendChild(child)
        return el

    def _row(self, *children):
        return self._el("mrow", *children)

    def parenthesize(self, item, level, strict=False):
        if isinstance(item, sp.Derivative):  # a fraction needs no brackets in a product
            return self._print(item)
        return super().parenthesize(item, level, strict)

    def _tex(self, tex: str):
        return symbol_nodes(self.dom, tex)

    def _index_text(self, k: sp.Expr) -> str:
        if isinstance(k, sp.Symbol) and k.name.startswith("gidx_"):  # a general layer's unit: j, its i and k
            return self._latex_of(k)
        found = naming.index_level(k)
        if found:
            return self.notation.index_letter(*found, focus=self.focus)
        return str(k)

    def _index(self, k: sp.Expr):
        return self._tex(self._index_text(k)) if naming.index_level(k) else self._print(k)

    def _print_Symbol(self, sym: sp.Symbol, style: str = "plain"):
        sym = unpadded(sym)
        if sym.name.startswith("gidx_"):  # the unit index of a general layer's rule
            return self._tex(self._latex_of(sym))
        if naming.index_level(sym):
            return self._index(sym)
        if sym.name == "E":
            return self._tex(self.notation.error)
        if sym == update.ETA:
            return self._tex(self.notation.rate)
        if sym in update.ADAM_SCALARS:
            return self._tex(self.notation.adam_letter(update.ADAM_SCALARS[sym]))
        try:
            return self._tex(self.notation.latex(sym, self.n_layers))
        except KeyError:
            return super()._print_Symbol(sym, style)

    def _latex_of(self, expr: sp.Expr) -> str:
        from derive.render.printer import NotationLatexPrinter

        return NotationLatexPrinter(self.notation.key, self.n_layers).doprint(expr)

    def _print_ActivationPrime(self, expr):
        name = self._tex(self.notation.activation + "'")
        return self._row(name, self._l_paren(), self._print(expr.args[0]), self._r_paren())

    def _print_Width(self, expr):
        return self._tex("n_{%s}" % str(expr.args[0]).replace(" ", ""))

    def _print_Indexed(self, expr: sp.Indexed):
        if general.is_generic(expr.base):  # a rule for a general layer l (derive.core.general)
            return self._tex(self._latex_of(expr))
        role, layer = naming.indexed_info(expr.base, self.n_layers)
        idx = [self._index_text(k) for k in expr.indices]
        sep = "," if any(len(k) > 1 and k.isdigit() for k in idx) else ""
        fields = {**self.notation.layer_fields(layer, self.n_layers), "j": idx[0]}
        if len(idx) == 2:
            fields["i"] = idx[1]
            pair = idx if self.notation.weight_order == "ji" else idx[::-1]
            fields["ji"] = sep.join(pair)
        return self._tex(self.notation.pattern(role, layer, self.n_layers) % fields)

    def _print_MatrixSymbol(self, expr: sp.MatrixSymbol):
        if expr.name.startswith(("gvec:", "ggrad:")):  # a general layer's vector (derive.core.general.matrix)
            kind, role, layer = expr.name.split(":", 2)
            if role == "fprime":
                name = self._tex(self.notation.activation + "'")
                arg = self._print(general.matrix("a", general.parse_layer(layer)))
                return self._row(name, self._l_paren(), arg, self._r_paren())
            vec = self._tex(self._latex_of(general.matrix(role, general.parse_layer(layer))))
            if kind == "ggrad":
                nabla = self._el("msub", self._el("mo", text="\u2207"), vec)
                return self._row(nabla, self._tex(self.notation.error))
            return vec
        parts = expr.name.split(":")
        if len(parts) != 3 or parts[0] != "vec":
            return super()._print_MatrixSymbol(expr)
        role, layer = parts[1], int(parts[2])
        if role == "fprime":  # h'(a^(l)), the activation derivative applied elementwise
            arg = self._print(sp.MatrixSymbol(f"vec:a:{layer}", *expr.shape))
            name = self._tex(self.notation.activation + "'")
            return self._row(name, self._l_paren(), arg, self._r_paren())
        pattern = self.notation.pattern(role, layer, self.n_layers, vector=True)
        return self._tex(pattern % self.notation.layer_fields(layer, self.n_layers))

    def _print_HadamardProduct(self, expr: sp.HadamardProduct):
        row = self._row()
        for k, arg in enumerate(expr.args):
            if k:
                row.appendChild(self._el("mo", text="⊙"))
            row.appendChild(self.parenthesize(arg, PRECEDENCE["Pow"], strict=True))
        return row

    def _print_Transpose(self, expr: sp.Transpose):
        base = self._print(expr.arg)
        if not isinstance(expr.arg, sp.MatrixSymbol):
            base = self._row(self._l_paren(), base, self._r_paren())
        return self._el("msup", base, self._el("mi", text="T", mathvariant="normal"))

    def _print_MatMul(self, expr):
        return self._row(*[self.parenthesize(a, PRECEDENCE["Mul"]) for a in expr.args])

    def _print_Derivative(self, expr: sp.Derivative):
        ((var, count),) = expr.variable_count
        top = self._row(self._el("mo", text="∂"), self._print(expr.expr))
        bottom = self._row(self._el("mo", text="∂"), self._print(var))
        if count != 1:
            top = self._row(self._el("msup", self._el("mo", text="∂"), self._print(count)), self._print(expr.expr))
            bottom = self._row(self._el("mo", text="∂"), self._el("msup", self._print(var), self._print(count)))
        return self._el("mfrac", top, bottom)

    def _print_Increment(self, expr):
        row = self._row(self._el("mi", text="Δ", mathvariant="normal"), self._print(expr.args[0]))
        if len(expr.args) == 2:  # at step t: Δw(t), Δw(t-1)
            row.appendChild(self._l_paren())
            row.appendChild(self._print(expr.args[1]))
            row.appendChild(self._r_paren())
        return row

    def _print_MomentBase(self, expr):
        """Adam's m_θ(t), v̂_θ(t): the notation's letter with the parameter below, the step in brackets."""
        letter = self.notation.adam_letter(expr.letter)
        letter = r"\hat{%s}" % letter if expr.corrected else letter
        row = self._row(self._el("msub", self._tex(letter), self._print(expr.args[0])), self._l_paren())
        row.appendChild(self._print(expr.args[1]))
        row.appendChild(self._r_paren())
        return row

    def _print_Mul(self, expr):
        """Factors in the LaTeX printer's textbook order (:func:`factor_rank`); numbers put in by hand with dots."""
        if not isinstance(expr, sp.Mul):
            return super()._print_Mul(expr)
        if shown_as_written(expr):
            return self._shown_product(expr)
        if expr.could_extract_minus_sign():
            return self._row(self._el("mo", text="−"), self._print(-expr))
        factors = expr.as_ordered_factors()
        below = [f for f in factors if f.is_Pow and f.exp.is_number and f.exp.is_negative]
        if below:  # a quotient: every factor with a negative power below the bar (e^{-a} stays above)
            top = sp.Mul(*[f for f in factors if f not in below])
            return self._el("mfrac", self._print(top), self._print(sp.Mul(*[f.base**-f.exp for f in below])))
        if any(f.is_Number for f in factors):
            return super()._print_Mul(expr)
        row = self._row()
        for n, f in enumerate(sorted(factors, key=lambda f: factor_rank(f, factors))):
            if n:
                row.appendChild(self._el("mo", text="\u2062"))
            row.appendChild(self.parenthesize(f, PRECEDENCE["Mul"]))
        return row

    def _dotted(self, items: list):
        row = self._row()
        for n, item in enumerate(items):
            if n:
                row.appendChild(self._el("mo", text="·"))
            row.appendChild(item)
        return row

    def _shown_product(self, expr: sp.Mul):
        """A product of numbers put in by hand, factor by factor in its own order; divisors below a fraction bar."""
        negative, top, below = False, [], []
        for f in expr.args:
            if f == -1:
                negative = True
                continue
            if isinstance(f, sp.Pow) and f.exp == -1:
                below.append(self._print(f.base))
                continue
            inner = f.args[0] if isinstance(f, sp.UnevaluatedExpr) else f
            printed = self._print(f)
            top.append(self._row(self._l_paren(), printed, self._r_paren()) if inner.is_Add else printed)
        body = self._dotted(top) if top else self._el("mn", text="1")
        if below:
            body = self._el("mfrac", body, self._dotted(below))
        return self._row(self._el("mo", text="−"), body) if negative else body

    def _print_UnevaluatedExpr(self, expr: sp.UnevaluatedExpr):
        # a number put into a formula by hand: a negative one in brackets, as on paper
        inner = expr.args[0]
        printed = self._print(inner)
        if inner.is_Number and inner < 0:
            return self._row(self._l_paren(), printed, self._r_paren())
        return printed

    def _print_Pow(self, expr: sp.Pow):
        base, exp = expr.args
        if exp == -1 and shown_as_written(base):  # numbers put in by hand: 1/(1 + e^...) as a fraction
            return self._el("mfrac", self._el("mn", text="1"), self._print(base))
        if exp.is_Integer and exp > 1 and isinstance(base, (sp.tanh, sp.sinh, sp.cosh)):  # tanh²(a), as the PDF
            name = self._el("msup", self._el("mi", text=type(base).__name__), self._print(exp))
            return self._call(name, base.args)
        if exp.is_Integer and exp > 1 and isinstance(base, (sp.Symbol, sp.Indexed)):
            printed = self._print(base)
            if printed.tagName in ("msup", "msubsup"):  # (z_k^(2))^2, not a power inside the superscript
                return self._el("msup", self._row(self._l_paren(), printed, self._r_paren()), self._print(exp))
        return super()._print_Pow(expr)

    def _print_Heaviside(self, expr: sp.Heaviside):
        # H(a): the value at 0 (SymPy's second argument) is stated in the text, as in the PDF
        return self._call(self._el("mi", text="H"), expr.args[:1])

    def _print_Add(self, expr: sp.Add, order: str | None = None):
        # positive terms first, as textbooks write y - t and 1 - y; long runs elided
        terms = list(self._as_ordered_terms(expr, order=order))
        terms.sort(key=lambda t: t.could_extract_minus_sign())
        n_plus = sum(1 for t in terms if not t.could_extract_minus_sign())
        shown = self._elided(terms[:n_plus]) + self._elided(terms[n_plus:])
        row = self._row()
        for k, term in enumerate(shown):
            negative = term is None and k + 1 < len(shown) and shown[k + 1].could_extract_minus_sign()
            negative = negative or (term is not None and term.could_extract_minus_sign())
            if k > 0 or negative:
                row.appendChild(self._el("mo", text="−" if negative else "+"))
            if term is None:
                row.appendChild(self._el("mo", text="⋯"))
                continue
            if negative:
                term = -term
            printed = self._print(term)
            if isinstance(term, sp.Add):
                printed = self._row(self._l_paren(), printed, self._r_paren())
            row.appendChild(printed)
        return row

    def _elided(self, run: list) -> list:
        if self.elide is None or len(run) <= max(self.elide, ELIDED_HEAD + 1):
            return list(run)
        return run[:ELIDED_HEAD] + [None] + run[-1:]

    def _print_Sum(self, expr: sp.Sum):
        (var, low, high), *rest = expr.limits
        under = self._row(self._index(var), self._el("mo", text="="), self._print(low))
        op = self._el("munderover", self._el("mo", text="∑"), under, self._print(high))
        inner = sp.Sum(expr.function, *rest) if rest else expr.function
        return self._row(op, self.parenthesize(inner, PRECEDENCE["Mul"], strict=True))

    def _print_exp(self, expr):
        return self._el("msup", self._el("mi", text="e"), self._print(expr.args[0]))

    def _print_Function(self, expr):
        return self._call(self._el("mi", text=type(expr).__name__), expr.args)

    def _call(self, name, args) -> object:
        """``name(arg, ...)``; the brackets stretch only around an argument that holds a fraction."""
        tall = any(isinstance(e, sp.Pow) and e.exp.is_negative for a in args for e in sp.preorder_traversal(a))
        stretchy = "true" if tall else "false"
        row = self._row(name, self._el("mo", text="(", stretchy=stretchy))
        for k, a in enumerate(args):
            if k:
                row.appendChild(self._el("mo", text=","))
            row.appendChild(self._print(a))
        row.appendChild(self._el("mo", text=")", stretchy=stretchy))
        return row


def mathml(expr: sp.Expr, notation: str = "bishop", n_layers: int = 2) -> str:
    """Presentation MathML (without the ``<math>`` element) of ``expr`` in a notation preset.

    >>> mathml(sp.Symbol("z_1_2"), n_layers=3)
    '<msubsup><mi>z</mi><mn>2</mn><mrow><mo lspace="0" rspace="0" stretchy="false">(</mo><mn>1</mn><mo \
lspace="0" rspace="0" stretchy="false">)</mo></mrow></msubsup>'
    >>> mathml(sp.Symbol("x_2"))
    '<msub><mi>x</mi><mn>2</mn></msub>'
    >>> mathml(sp.Symbol("y_1") - sp.Symbol("t_1"))
    '<mrow><msub><mi>y</mi><mn>1</mn></msub><mo>−</mo><msub><mi>t</mi><mn>1</mn></msub></mrow>'
    """
    return NotationMathMLPrinter(notation, n_layers).doprint(expr)
