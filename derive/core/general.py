"""The four backpropagation rules for a general layer l, in index and in matrix form.

The per-layer equations of :mod:`derive.core.rules` are written for the layers
this network has. Here the same rules are written once for a symbolic layer
``l`` (output layer ``L``), the form a textbook states:

    δ^(L)_j = h'(a^(L)_j) ∂E/∂y_j              δ^(L) = h'(a^(L)) ⊙ ∇_y E
    δ^(l)_j = h'(a^(l)_j) Σ_k w^(l+1)_kj δ^(l+1)_k     δ^(l) = h'(a^(l)) ⊙ (W^(l+1))ᵀ δ^(l+1)
    ∂E/∂b^(l)_j = δ^(l)_j                       ∇_b E = δ^(l)
    ∂E/∂w^(l)_ji = δ^(l)_j z^(l-1)_i            ∇_W E = δ^(l) (z^(l-1))ᵀ

:func:`instantiate` turns a generic rule into the rule of one concrete layer
(in the Indexed symbols of :mod:`derive.core.rules`), so a test can check that
each general rule gives exactly the equation derived for every layer; the
matrix forms are checked entry by entry against the index forms
(:func:`matrix_entry`).
"""

from __future__ import annotations

import sympy as sp

from derive.core import naming
from derive.core.model import Equation

#: the generic layer and the output layer
LAYER = sp.Symbol("l", integer=True, positive=True)
TOP = sp.Symbol("L", integer=True, positive=True)
E = sp.Symbol("E")


class Width(sp.Function):
    """n_l: the number of units in layer l (layer 0 is the input)."""

    nargs = 1


class ActivationPrime(sp.Function):
    """h'(a): the derivative of a layer's activation at its pre-activation."""

    nargs = 1


def index(offset: int) -> sp.Symbol:
    """The unit index of layer l + offset (offset -1, 0 or +1): i, j, k in Bishop's letters."""
    return sp.Symbol({-1: "gidx_below", 0: "gidx_this", 1: "gidx_above"}[offset], integer=True, positive=True)


GENERIC_ROLES = ("x", "a", "z", "y", "t", "w", "b", "delta")


def family(role: str) -> sp.IndexedBase:
    """The generic family of a role: its first index is the layer (an expression in l or L)."""
    return sp.IndexedBase(f"gen_{role}", real=True)


def is_generic(base: sp.IndexedBase) -> bool:
    return str(base).startswith("gen_")


def role_of(base: sp.IndexedBase) -> str:
    return str(base)[len("gen_") :]


def layer_name(layer: sp.Expr) -> str:
    """``l+1``, ``l-1``, ``l`` or ``L``: a generic layer as text (for MatrixSymbol names).

    >>> layer_name(LAYER + 1), layer_name(TOP), parse_layer("l-1")
    ('l+1', 'L', l - 1)
    """
    base = (layer.free_symbols & {LAYER, TOP}).pop()
    offset = int(layer - base)
    return base.name + (f"{offset:+d}" if offset else "")


def parse_layer(text: str) -> sp.Expr:
    """The generic layer named by :func:`layer_name`."""
    base = {"l": LAYER, "L": TOP}[text[0]]
    return base + int(text[1:] or 0)


def matrix(role: str, layer: sp.Expr) -> sp.MatrixSymbol:
    """The vector (for ``w`` the matrix) of a role in a generic layer, with symbolic shape."""
    cols = Width(layer - 1) if role == "w" else 1
    rows = Width(layer)
    return sp.MatrixSymbol(f"gvec:{role}:{layer_name(layer)}", rows, cols)


def fprime_vector(layer: sp.Expr) -> sp.MatrixSymbol:
    return sp.MatrixSymbol(f"gvec:fprime:{layer_name(layer)}", Width(layer), 1)


def gradient_vector(role: str, layer: sp.Expr) -> sp.MatrixSymbol:
    """∇ of E by the vector (matrix) of a role: same shape as that role."""
    shape = matrix(role, layer).shape
    return sp.MatrixSymbol(f"ggrad:{role}:{layer_name(layer)}", *shape)


def rules(bias: bool, softmax_output: bool) -> list[tuple[str, str, sp.Expr, sp.Expr]]:
    """(id, title, lhs, rhs) of the general rules in index form, then in matrix form."""
    l, L = LAYER, TOP
    i, j, k = index(-1), index(0), index(1)
    a, z, w, b, d, y = (family(r) for r in ("a", "z", "w", "b", "delta", "y"))
    out = []
    if not softmax_output:
        out.append(("rule-1", "output error signal", d[L, j], ActivationPrime(a[L, j]) * sp.Derivative(E, y[L, j])))
    hidden = ActivationPrime(a[l, j]) * sp.Sum(w[l + 1, k, j] * d[l + 1, k], (k, 1, Width(l + 1)))
    out.append(("rule-2", "hidden error signal", d[l, j], hidden))
    if bias:
        out.append(("rule-3", "bias gradient", sp.Derivative(E, b[l, j]), d[l, j]))
    out.append(("rule-4", "weight gradient", sp.Derivative(E, w[l, j, i]), d[l, j] * z[l - 1, i]))
    if not softmax_output:
        rhs = sp.HadamardProduct(fprime_vector(L), gradient_vector("y", L))
        out.append(("rule-1-matrix", "output error signals", matrix("delta", L), rhs))
    rhs = sp.HadamardProduct(fprime_vector(l), matrix("w", l + 1).T * matrix("delta", l + 1))
    out.append(("rule-2-matrix", "hidden error signals", matrix("delta", l), rhs))
    if bias:
        out.append(("rule-3-matrix", "bias gradients", gradient_vector("b", l), matrix("delta", l)))
    out.append(
        ("rule-4-matrix", "weight gradients", gradient_vector("w", l), matrix("delta", l) * matrix("z", l - 1).T)
    )
    return out


def equations(bias: bool, softmax_output: bool, first: int) -> list[Equation]:
    """The general rules as numbered equations, from ``first``."""
    return [
        Equation(eq_id, first + n, title, lhs, rhs)
        for n, (eq_id, title, lhs, rhs) in enumerate(rules(bias, softmax_output))
    ]


def instantiate(expr: sp.Expr, layer: int, n_layers: int, sizes: tuple[int, ...], fprime: sp.Expr) -> sp.Expr:
    """A generic index-form rule written for one concrete layer, in the symbols of :mod:`derive.core.rules`.

    ``fprime`` is that layer's h'(a_j) (the right-hand side of its ``fprime-l`` equation).
    """
    at = {LAYER: layer, TOP: n_layers}
    units = {index(-1): naming.index(layer - 1), index(0): naming.index(layer), index(1): naming.index(layer + 1)}
    repl = {}
    for ix in expr.atoms(sp.Indexed):
        if not is_generic(ix.base):
            continue
        role, lev = role_of(ix.base), int(ix.indices[0].subs(at))
        if role == "z" and lev == 0:
            role = "x"
        if role == "z" and lev == n_layers:
            role = "y"
        repl[ix] = naming.indexed(role, lev)[tuple(u.xreplace(units) for u in ix.indices[1:])]
    out = expr.xreplace(repl).xreplace(units)
    out = out.replace(lambda e: isinstance(e, ActivationPrime), lambda e: fprime)
    out = out.replace(lambda e: isinstance(e, Width), lambda e: sp.Integer(sizes[int(e.args[0].subs(at))]))
    return out.subs(at)
