"""SymPy expressions of the Derivation -> numpy source text for the trainer.

:class:`TrainerPrinter`, a subclass of SymPy's NumPy printer, prints the
trainer's expressions with its variable names: unit symbols as batch vectors
(scalar style) or ``Indexed`` families as ``(batch, units)`` arrays with sums
over a unit index as matrix products (vector style). :class:`FloatPrinter`
prints the same for one sample in Python floats. Expressions are first made
numerically stable by :func:`derive.render.trainer.stable.stabilize`.
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import PRECEDENCE, precedence

from derive.render.trainer.stable import Logistic, LogSumExp, LogSumExpOver, Softplus

_NUMBER = re.compile(r"[0-9]+")
_LONG_NUMBER = re.compile(r"[0-9]{2,}")


def _padded(expr: sp.Expr) -> dict[sp.Symbol, sp.Symbol]:
    """Each name with a number of two or more digits, renamed with every number in six digits.

    SymPy orders names as strings (``z_1_10`` before ``z_1_2``); ordering the same expression with
    ``z_000001_000010`` and ``z_000001_000002`` instead gives the order a reader expects. Empty when
    every number has one digit: those names already sort that way.
    """
    names = expr.atoms(sp.Symbol)
    if not any(_LONG_NUMBER.search(s.name) for s in names):
        return {}
    return {s: sp.Symbol(_NUMBER.sub(lambda m: m.group().zfill(6), s.name), **s.assumptions0) for s in names}


def unit_order(args: tuple[sp.Expr, ...]) -> list[sp.Expr]:
    """``args`` sorted as SymPy sorts them, with unit indices compared as numbers (see :func:`_padded`)."""
    padded = _padded(sp.Tuple(*args))
    return sorted(args, key=lambda a: sp.default_sort_key(a.xreplace(padded)))


class TrainerPrinter(NumPyPrinter):
    """NumPy source for the trainer, with its variable names.

    Args:
        names: canonical symbol -> trainer expression (``w_2_1_3`` -> ``W2[0, 2]``).
        arrays: IndexedBase name -> array name (vector style: ``z_1`` -> ``Z1``).
    """

    def __init__(self, names: dict[sp.Symbol, str] | None = None, arrays: dict[str, str] | None = None):
        super().__init__({"fully_qualified_modules": True})
        self.names = names or {}
        self.arrays = arrays or {}

    def _module_format(self, fqn: str, register: bool = True) -> str:
        if fqn.startswith("numpy."):
            fqn = "np." + fqn[len("numpy.") :]
        return super()._module_format(fqn, register)

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return self.names.get(expr, expr.name)

    def _print_Indexed(self, expr: sp.Indexed) -> str:
        return self.arrays[str(expr.base)]

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        if expr.exp == -1:
            return "1/%s" % self.parenthesize(expr.base, PRECEDENCE["Pow"])
        if expr.exp.is_Integer and expr.exp > 0:
            return "%s**%d" % (self.parenthesize(expr.base, PRECEDENCE["Pow"]), int(expr.exp))
        return super()._print_Pow(expr, rational=rational)

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        # y - t and 1 - y, as the document writes them: positive terms first
        terms = sorted(self._unit_ordered_terms(expr, order), key=lambda t: t.could_extract_minus_sign())
        out = ""
        for i, term in enumerate(terms):
            negative = i > 0 and term.could_extract_minus_sign()
            if i == 0:
                out = self._print(term)
                continue
            text = self.parenthesize(-term if negative else term, precedence(expr))
            out += (" - " if negative else " + ") + text
        return out

    def _unit_ordered_terms(self, expr: sp.Add, order: str | None) -> list[sp.Expr]:
        """The terms in SymPy's order, with unit indices compared as numbers: ``z_1_2`` before ``z_1_10``."""
        padded = _padded(expr)
        if not padded:
            return self._as_ordered_terms(expr, order=order)
        back = {v: k for k, v in padded.items()}
        return [t.xreplace(back) for t in self._as_ordered_terms(expr.xreplace(padded), order=order)]

    def _print_Logistic(self, expr: Logistic) -> str:
        # σ(u) = (1 + tanh(u/2))/2: one bounded call, no overflow for any u
        return "(0.5*%s(0.5*%s) + 0.5)" % (
            self._module_format("numpy.tanh"),
            self.parenthesize(expr.args[0], PRECEDENCE["Mul"]),
        )

    def _print_Softplus(self, expr: Softplus) -> str:
        return "%s(0, %s)" % (self._module_format("numpy.logaddexp"), self._print(expr.args[0]))

    def _print_LogSumExp(self, expr: LogSumExp) -> str:
        fn = self._module_format("numpy.logaddexp")
        # the order of the sum of exps it came from; by unit index when there are ten or more
        first, *rest = unit_order(expr.args) if _padded(sp.Tuple(*expr.args)) else expr.args
        text = self._print(first)
        for u in rest:
            text = f"{fn}({text}, {self._print(u)})"
        return text

    def _print_LogSumExpOver(self, expr: LogSumExpOver) -> str:
        u = self._print(expr.args[0])
        return "%s.reduce(%s, axis=1, keepdims=True)" % (self._module_format("numpy.logaddexp"), u)

    def _print_Heaviside(self, expr: sp.Heaviside) -> str:
        h0 = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        return "%s(%s, %s)" % (self._module_format("numpy.heaviside"), self._print(expr.args[0]), self._print(h0))

    def _print_Max(self, expr: sp.Max) -> str:
        fn = self._module_format("numpy.maximum")
        args = unit_order(expr.args)
        text = self._print(args[0])
        for arg in args[1:]:
            text = f"{fn}({text}, {self._print(arg)})"
        return text

    def _print_Sum(self, expr: sp.Sum) -> str:
        """A sum over one unit index: a matrix product when it contracts a weight, else a row sum."""
        ((p, _lo, _hi),) = expr.limits
        body = expr.function
        weights = [f for f in sp.Mul.make_args(body) if isinstance(f, sp.Indexed) and len(f.indices) == 2]
        if len(weights) == 1:
            w = weights[0]
            rest = sp.Mul(*[f for f in sp.Mul.make_args(body) if f is not w])
            mat = self._print(w)
            if w.indices[1] == p:  # sum_i w[j, i] v[i]: rows of V times W^T
                return "(%s @ %s.T)" % (self.parenthesize(rest, PRECEDENCE["Pow"]), mat)
            if w.indices[0] == p:  # sum_k v[k] w[k, j]
                return "(%s @ %s)" % (self.parenthesize(rest, PRECEDENCE["Pow"]), mat)
            raise NotImplementedError(f"cannot print the contraction {expr}")
        return "%s(%s, axis=1, keepdims=True)" % (self._module_format("numpy.sum"), self._print(body))


class ArrayPrinter(TrainerPrinter):
    """The vector style's printer: whole (batch, units) arrays, where one ufunc pass costs more than a call.

    σ is printed as the trainer's ``_logistic`` (1/(1 + e^(-u)) computed in place, see the template),
    since numpy's float64 ``tanh`` runs element by element and takes several times as long as ``exp``
    on a layer of a batch. ``helpers`` names the trainer functions the printed lines call.
    """

    def __init__(self, names: dict[sp.Symbol, str] | None = None, arrays: dict[str, str] | None = None):
        super().__init__(names, arrays)
        self.helpers: set[str] = set()

    def _print_Logistic(self, expr: Logistic) -> str:
        self.helpers.add("_logistic")
        return "_logistic(%s)" % self._print(expr.args[0])


class FloatPrinter(TrainerPrinter):
    """Source for one sample held in Python floats: ``math`` and the trainer's float helpers.

    Every numpy function the trainer printer would call is mapped here; one
    without a float form raises instead of printing numpy code.
    """

    FLOAT_FUNCTIONS = {
        "numpy.tanh": "math.tanh",
        "numpy.exp": "math.exp",
        "numpy.expm1": "math.expm1",
        "numpy.log": "math.log",
        "numpy.logaddexp": "_logaddexp",
        "numpy.heaviside": "_heaviside",
        "numpy.maximum": "max",
    }

    def _module_format(self, fqn: str, register: bool = True) -> str:
        if fqn not in self.FLOAT_FUNCTIONS:
            raise NotImplementedError(f"no float form for {fqn}")
        return self.FLOAT_FUNCTIONS[fqn]


def float_sum(expr: sp.Expr, printer: FloatPrinter) -> str:
    """The 'sum over the batch' of one sample: the expression itself."""
    return printer.doprint(expr)


def batch_sum(expr: sp.Expr, printer: TrainerPrinter) -> str:
    """Sum of a per-sample expression over the batch: a dot product for a product of two vectors.

    ``np.dot`` and the ``.sum()`` method are the cheapest numpy calls for this
    (about 1 µs against 1.5 µs for ``@`` and 3 µs for ``np.sum`` on one sample).
    """
    factors = sp.Mul.make_args(expr)
    if len(factors) == 2 and all(isinstance(f, sp.Symbol) for f in factors):
        u, v = (printer.doprint(f) for f in factors)
        return "%s(%s, %s)" % (printer._module_format("numpy.dot"), u, v)
    text = printer.doprint(expr)
    return f"{text}.sum()" if isinstance(expr, sp.Symbol) else f"({text}).sum()"


def batch_outer(expr: sp.Expr, printer: TrainerPrinter) -> str:
    """Sum over the batch of an indexed gradient rhs: ``D.T @ Z`` for δ_j z_i, a column sum for δ_j."""
    factors = [f for f in sp.Mul.make_args(expr) if f != 1]
    if len(factors) == 2 and all(isinstance(f, sp.Indexed) for f in factors):
        rows, cols = factors if factors[0].base.label.name.startswith("delta") else factors[::-1]
        return "%s.T @ %s" % (printer.doprint(rows), printer.doprint(cols))
    if len(factors) == 1:
        return "%s.sum(axis=0)" % printer.doprint(factors[0])
    raise NotImplementedError(f"cannot sum {expr} over the batch")


def cse_lines(exprs: list[sp.Expr], prefix: str) -> tuple[list[tuple[sp.Symbol, sp.Expr]], list[sp.Expr]]:
    """Common subexpressions of a block, with temporaries named ``prefix0, prefix1, ...``."""
    if not exprs:
        return [], []
    temps, reduced = sp.cse(exprs, symbols=sp.numbered_symbols(prefix), optimizations=None)
    return temps, reduced
