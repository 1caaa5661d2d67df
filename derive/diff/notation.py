"""Formulas in a source's own notation, as one line of readable Unicode maths.

The diff reports to a teacher in the symbols of the teacher's own notes: a form
``h_prime(a[j]) * Sum(w[k, j] * delta[k], k)`` prints as ``h′(aⱼ) Σₖ wₖⱼ δₖ``, and a
canonical symbol of the Derivation (``w_1_2_1``, ``z_1_2``) prints under the name the
source gives that quantity (``v₂₁``, ``h₂``). :func:`form_text` prints a parsed form;
:class:`SourceNames` names canonical symbols; :func:`expr_text` prints a SymPy expression
with those names.
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.str import StrPrinter

from derive.core import naming
from derive.diff.catalog.types import SymbolSpec

GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "Delta": "Δ", "epsilon": "ε", "eta": "η",
    "theta": "θ", "lambda": "λ", "mu": "μ", "nu": "ν", "rho": "ρ", "sigma": "σ", "tau": "τ",
    "phi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω", "xi": "ξ", "zeta": "ζ", "kappa": "κ",
}  # fmt: skip
_SUB = dict(zip("0123456789aehijklmnoprstuvx+-()", "₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ₊₋₍₎"))
_SUP = dict(zip("0123456789+-()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁽⁾"))


def clean(text: str) -> str:
    """Control characters (from a user's file) escaped, so that printing them is harmless."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def sub(text: str) -> str:
    """``text`` as a Unicode subscript where every character has one, else ``_text``."""
    text = str(text)
    return "".join(_SUB[c] for c in text) if all(c in _SUB for c in text) else f"_{text}"


def sup(text: str) -> str:
    text = str(text)
    return "".join(_SUP[c] for c in text) if all(c in _SUP for c in text) else f"^{text}"


def symbol_text(name: str) -> str:
    """A source's symbol name as maths: ``delta`` → δ, ``yhat`` → ŷ, ``f_prime`` → f′, ``o_r`` → oᵣ."""
    name = clean(name)
    prime = name.endswith("_prime")
    base = name.removesuffix("_prime")
    hat = base.endswith("hat") and len(base) > 3
    base = base.removesuffix("hat") if hat else base
    head, _, tail = base.partition("_")
    head = GREEK.get(head, head) + ("\u0302" if hat else "")
    tail = (sub(tail) if len(tail) == 1 else f"_{tail}") if tail else ""
    return head + tail + ("′" if prime else "")


def indexed_text(name: str, units) -> str:
    parts = [clean(u) for u in units]
    joined = ("," if any(len(p) > 1 for p in parts) else "").join(parts)
    return symbol_text(name) + (sub(joined) if parts else "")


# --------------------------------------------------------------------------
# A parsed form (safeparse tree) in the source's notation
# --------------------------------------------------------------------------

_PREC = {"add": 1, "sub": 1, "mul": 2, "div": 2, "sum": 2, "neg": 3, "pow": 4}


def form_text(tree: tuple) -> str:
    """A parsed form as one line of Unicode maths."""
    return _text(tree)[0]


def _wrap(part: tuple[str, int], below: int) -> str:
    text, prec = part
    return f"({text})" if prec < below else text


def _text(node: tuple) -> tuple[str, int]:
    op = node[0]
    if op == "num":
        q = node[1]
        return (
            str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"
        ), 5 if q.denominator == 1 else 2
    if op == "ref":
        return indexed_text(node[1], node[2]), 5
    if op == "call":
        return f"{symbol_text(node[1])}({_text(node[2][0])[0]})", 5
    if op == "neg":
        return "−" + _wrap(_text(node[1]), 3), 3
    if op == "sum":
        return f"Σ{sub(node[1])} {_wrap(_text(node[2]), 2)}", 2
    left, right = _text(node[1]), _text(node[2])
    if op == "add":
        return f"{left[0]} + {_wrap(right, 2) if right[1] == 3 else right[0]}", 1
    if op == "sub":
        return f"{left[0]} − {_wrap(right, 2)}", 1
    if op == "mul":
        # a sum that is not the last factor is bracketed, so that it is clear where it ends
        lt = f"({left[0]})" if node[1][0] == "sum" or left[1] < 2 else left[0]
        return f"{lt} {_wrap(right, 2)}", 2
    if op == "div":
        return f"{_wrap(left, 2)}/{_wrap(right, 4)}", 2
    exp = node[2]
    if exp[0] == "num" and exp[1].denominator == 1 and exp[1] >= 0:
        return _wrap(left, 5) + sup(exp[1].numerator), 4
    return f"{_wrap(left, 5)}^{_wrap(right, 5)}", 4


# --------------------------------------------------------------------------
# Canonical symbols under the source's names
# --------------------------------------------------------------------------

_KINDS = {
    "x": ("input", "act"),
    "z": ("act",),
    "y": ("output", "act"),
    "a": ("preact",),
    "delta": ("delta",),
    "b": ("bias",),
    "w": ("weight",),
    "t": ("target",),
}


#: Canonical scalars a source names by a letter of its own: the symbol's name -> its kind.
_SCALARS = {
    "eta": "rate",
    "lambda": "decay",
    "alpha": "momentum",
    "beta_1": "beta1",
    "beta_2": "beta2",
    "epsilon": "stability",
}


class SourceNames:
    """Names canonical symbols as the source does (``w_1_2_1`` → ``v₂₁`` when v is layer 1's weight)."""

    def __init__(self, symbols: dict[str, SymbolSpec], l: int, L: int, layer_of) -> None:
        self.symbols = {n: s for n, s in symbols.items() if not n.startswith("mut_")}
        self.l, self.L, self.layer_of = l, L, layer_of  # layer_of(spec) -> declared layer number or None
        self.layered: set[str] = set()  # names printed with their layer (they occur on several layers)

    def mark(self, syms) -> None:
        """Print the layer on every name that the given symbols use on more than one layer."""
        seen: dict[str, set[int]] = {}
        for sym in syms:
            try:
                info = naming.info(sym, self.L)
            except KeyError:
                continue
            found = self.source_name(info.role, info.layer)
            if found is not None:
                seen.setdefault(found[0], set()).add(info.layer)
        self.layered = {name for name, layers in seen.items() if len(layers) > 1}

    def source_name(self, role: str, layer: int) -> tuple[str, SymbolSpec] | None:
        loose = None
        for name, spec in self.symbols.items():
            if spec.kind not in _KINDS[role] or (spec.unit is not None and spec.kind != "weight"):
                continue
            declared = {"input": 0, "output": self.L, "target": self.L}.get(spec.kind)
            if declared is None and spec.layer is not None:
                try:
                    declared = self.layer_of(spec)
                except ValueError:
                    continue
            if declared == layer:
                return name, spec
            if declared is None and loose is None:
                loose = name, spec
        return loose

    def text(self, sym: sp.Symbol) -> str:
        if sym.name.startswith("free_"):
            return symbol_text(sym.name.removeprefix("free_"))
        if sym.name in _SCALARS:  # η, λ and α by the source's own letter
            kind = _SCALARS[sym.name]
            return symbol_text(next((n for n, s in self.symbols.items() if s.kind == kind), sym.name))
        try:
            info = naming.info(sym, self.L)
        except KeyError:
            return clean(sym.name)
        found = self.source_name(info.role, info.layer)
        if found is None:
            role = "δ" if info.role == "delta" else info.role
            return f"{role}{sup(f'({info.layer})')}{sub(','.join(map(str, info.indices)))}"
        name, spec = found
        units = info.indices if spec.order == "to_from" else info.indices[::-1]
        text = indexed_text(name, [str(u) for u in units])
        return text + sup(f"({info.layer})") if name in self.layered else text

    def has(self, role: str, layer: int) -> bool:
        return self.source_name(role, layer) is not None


class _Line(StrPrinter):
    """SymPy's string printer with source names, superscript powers and maths signs."""

    def __init__(self, names: SourceNames) -> None:
        super().__init__({"order": "none"})
        self.names = names

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return self.names.text(expr)

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        b, e = expr.args
        if e.is_Integer and 1 < abs(e) < 10:
            base = self._print(b)
            power = (base if b.is_Symbol or b.is_Function else f"({base})") + sup(abs(int(e)))
            return power if e > 0 else f"1/{power}"
        return super()._print_Pow(expr, rational)


def expr_text(expr: sp.Expr, names: SourceNames) -> str:
    """A SymPy expression in canonical symbols, printed in the source's notation."""
    return _Line(names).doprint(expr).replace("**", "^").replace("*", " ").replace("-", "−")


def _named(form, kinds: tuple[str, ...], default: str) -> str:
    """The source's name for a kind of quantity: one declared on the form's layer, else the one the
    form uses, else any declared, else ``default``."""
    used = [n[1] for n in _refs(form.tree)]
    on_layer = [n for n, s in form.symbols.items() if s.layer is not None and s.layer == form.layer]
    for pool in (on_layer, used, list(form.symbols)):
        for name in pool:
            if name in form.symbols and form.symbols[name].kind in kinds and not name.startswith("mut_"):
                return name
    return default


def _refs(node: tuple):
    if node[0] == "ref":
        yield node
    for part in node[1:]:
        if isinstance(part, tuple) and part and isinstance(part[0], str):
            yield from _refs(part)
        elif isinstance(part, tuple):
            for p in part:
                if isinstance(p, tuple):
                    yield from _refs(p)


def gradient_of(symbols: dict) -> str:
    """``∂E/∂``, or ``∂(E + Ω)/∂`` in the notation of a source with a weight-decay coefficient (kind decay)."""
    return "∂(E + Ω)/∂" if any(s.kind == "decay" for s in symbols.values()) else "∂E/∂"


def claim_text(form) -> str:
    """The left-hand side a form claims to be, in its notation: δⱼ, Δwⱼᵢ, ∂E/∂wⱼᵢ, f′(aⱼ), σ′(z)."""
    at = [str(a) for a in form.at]
    t = form.target
    if t == "sigmoid_prime":
        free = next((n for n, s in form.symbols.items() if s.kind == "free"), "z")
        return f"σ′({symbol_text(free)})"
    if t == "delta":
        return indexed_text(_named(form, ("delta",), "delta"), at)
    if t in ("grad_w", "update_w"):
        w = _named(form, ("weight",), "w")
        spec = form.symbols.get(w)
        order = at if spec is None or spec.order == "to_from" else at[::-1]
        return ("Δ" if t == "update_w" else gradient_of(form.symbols)) + indexed_text(w, order)
    if t in ("grad_b", "update_b"):
        return ("Δ" if t == "update_b" else gradient_of(form.symbols)) + indexed_text(_named(form, ("bias",), "b"), at)
    if t == "fprime":
        return f"f′({indexed_text(_named(form, ('preact',), 'a'), at)})"
    return "∂E/∂" + indexed_text(_named(form, ("act", "output"), "y"), at)
