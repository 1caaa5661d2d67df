"""Mutants of textbook forms: each applies one known kind of mistake to a correct form.

A form is a tree of tuples (:mod:`derive.diff.safeparse`): ``("ref", name, indices)``,
``("call", fn, (arg,))``, ``("sum", letter, body)``, ``("neg", x)``, ``("num", q)`` and the
binary operators. A mutant is the form with a new tree and, where the mistake needs a name the
source does not have (the pre-activation of an output written ``o[k]``, a symbol moved to the
neighbouring layer), an extra symbol or function whose name starts with ``mut_``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from fractions import Fraction

from derive.diff.catalog.sources import Algorithm, Form, Source, SymbolSpec

ONE, TWO = ("num", Fraction(1)), ("num", Fraction(2))
#: Every kind of mutation, in the order the score table lists them.
KINDS = (
    "swap_weight_indices",
    "transpose_weights",
    "neighbour_layer",
    "drop_fprime",
    "fprime_to_f_squared",
    "fprime_to_f_minus_one_minus_f",
    "fprime_on_preactivation",
    "fprime_of_other_activation",
    "flip_sign",
    "drop_factor",
    "double_factor",
    "missing_sum",
    "input_to_own_output",
    "stale_weight",
)


@dataclasses.dataclass
class Mutant:
    kind: str
    what: str
    source: Source
    item: Form | Algorithm


# --------------------------------------------------------------------------
# Tree plumbing
# --------------------------------------------------------------------------


def _children(node: tuple) -> list[tuple[int, tuple]]:
    op = node[0]
    if op in ("num", "ref"):
        return []
    if op == "neg":
        return [(1, node[1])]
    if op == "sum":
        return [(2, node[2])]
    if op == "call":
        return [(-1, node[2][0])]
    return [(1, node[1]), (2, node[2])]


def _set(node: tuple, key: int, new: tuple) -> tuple:
    if key == -1:
        return ("call", node[1], (new,))
    return tuple(new if i == key else part for i, part in enumerate(node))


def nodes(tree: tuple, path: tuple = ()) -> Iterator[tuple[tuple, tuple]]:
    """Every (path, node) of a tree, parents before children."""
    yield path, tree
    for key, child in _children(tree):
        yield from nodes(child, (*path, key))


def replace(tree: tuple, path: tuple, new: tuple) -> tuple:
    if not path:
        return new
    key = path[0]
    child = dict(_children(tree))[key]
    return _set(tree, key, replace(child, path[1:], new))


def factors(node: tuple) -> list[tuple]:
    """The factors of a product chain, flattened."""
    if node[0] == "mul":
        return factors(node[1]) + factors(node[2])
    return [node]


def product(parts: list[tuple]) -> tuple:
    if not parts:
        return ONE
    out = parts[0]
    for p in parts[1:]:
        out = ("mul", out, p)
    return out


def chains(tree: tuple) -> Iterator[tuple[tuple, list[tuple]]]:
    """(path, factors) of every maximal product chain (a node that is not itself a factor of a product)."""
    inner = set()
    for path, node in nodes(tree):
        if node[0] == "mul" and path not in inner:
            yield path, factors(node)
            # the sub-products of this chain are part of it, not chains of their own
            for sub, n in nodes(node, path):
                if n[0] == "mul" and sub != path and _only_muls_between(node, path, sub):
                    inner.add(sub)


def _only_muls_between(top: tuple, top_path: tuple, path: tuple) -> bool:
    node = top
    for key in path[len(top_path) :]:
        if node[0] != "mul":
            return False
        node = dict(_children(node))[key]
    return True


# --------------------------------------------------------------------------
# Mutations of a form
# --------------------------------------------------------------------------


def _with(src: Source, form: Form, tree: tuple, symbols=None, functions=None) -> tuple[Source, Form]:
    form = dataclasses.replace(form, tree=tree, symbols={**form.symbols, **(symbols or {})})
    if functions:
        src = dataclasses.replace(src, functions={**src.functions, **functions})
    return src, form


_LAYER = re.compile(r"(l|L)\s*([+-]\s*[0-9]+)?")


def shift(layer: str | int, by: int) -> str | int:
    """A layer spec moved by ``by`` layers: ``"l-1"`` + 1 is ``"l"``."""
    if isinstance(layer, int):
        return layer + by
    m = _LAYER.fullmatch(layer.replace(" ", ""))
    off = int(m.group(2).replace(" ", "")) if m.group(2) else 0
    off += by
    return m.group(1) + (f"{off:+d}" if off else "")


def _layer_of(form: Form, name: str, idx: tuple) -> str | int | None:
    """The layer spec a ref lives on: its declaration, else its index letter's."""
    spec = form.symbols[name]
    if spec.kind == "input":
        return 0
    if spec.kind in ("output", "target"):
        return "L"
    if spec.layer is not None:
        return spec.layer
    if idx and isinstance(idx[0], str):
        return form.indices[idx[0]]
    return None


def _fprime_sites(src: Source, form: Form) -> Iterator[tuple[tuple, list[tuple], list[int], tuple | None, tuple]]:
    """(chain path, factors, positions of f', the output y or None, the pre-activation) of every f' written."""
    for path, parts in chains(form.tree):
        for i, f in enumerate(parts):
            if f[0] == "call" and src.functions.get(f[1]) in ("act_prime", "sigmoid_prime"):
                yield path, parts, [i], None, f[2][0]
            if f[0] == "sub" and f[1] == ONE:
                y = f[2]
                if y[0] == "pow" and y[2] == TWO and y[1] in parts:  # tanh: 1 - y^2 (y also a factor: skip)
                    continue
                if y in parts:  # sigmoid: y (1 - y)
                    yield path, parts, [parts.index(y), i], y, _preact(src, form, y)
                elif y[0] == "pow" and y[2] == TWO:  # tanh: 1 - y^2
                    yield path, parts, [i], y[1], _preact(src, form, y[1])


def _preact(src: Source, form: Form, y: tuple) -> tuple | None:
    if y[0] == "call" and src.functions.get(y[1]) in ("act", "sigmoid", "tanh"):
        return y[2][0]
    if y[0] == "ref" and y[2] and form.symbols[y[1]].kind in ("act", "output"):
        return ("ref", "mut_net", y[2])
    return None


def _net_symbol(form: Form, y: tuple | None) -> dict:
    if y is None or y[0] != "ref":
        return {}
    spec = form.symbols[y[1]]
    declared = spec.layer is not None or spec.kind == "output"
    return {"mut_net": SymbolSpec("preact", _layer_of(form, y[1], y[2]) if declared else None)}


def _apply_fprime(parts, where, new) -> tuple:
    kept = [p for i, p in enumerate(parts) if i not in where]
    return product([*kept, new] if new is not None else kept)


def fprime_mutants(src: Source, form: Form) -> Iterator[Mutant]:
    for path, parts, where, y, x in _fprime_sites(src, form):
        tanh = y is not None and len(where) == 1
        if y is None:  # f'(x) as a function: f is the same layer's activation
            fn = "mut_f"
            f_of = ("call", fn, (x,))
            kind = "sigmoid" if src.functions[parts[where[0]][1]] == "sigmoid_prime" else "act"
            extra_fn = {fn: kind}
        else:
            f_of, extra_fn = y, {}
        syms = _net_symbol(form, y)
        cases = [
            ("drop_fprime", None, {}, {}),
            ("fprime_to_f_squared", ("pow", f_of, TWO), {}, extra_fn),
            ("fprime_to_f_minus_one_minus_f", ("sub", f_of, ("sub", ONE, f_of)), {}, extra_fn),
        ]
        if x is not None:
            pre = ("sub", ONE, ("pow", x, TWO)) if tanh else ("mul", x, ("sub", ONE, x))
            cases.append(("fprime_on_preactivation", pre, syms, {}))
        if y is not None:  # σ′ = y(1 − y) written where tanh′ = 1 − y² belongs, or the other way round
            other = ("mul", y, ("sub", ONE, y)) if tanh else ("sub", ONE, ("pow", y, TWO))
            cases.append(("fprime_of_other_activation", other, {}, {}))
        elif src.functions[parts[where[0]][1]] == "act_prime":  # the layer's f′ replaced by σ′
            cases.append(("fprime_of_other_activation", ("call", "mut_sp", (x,)), {}, {"mut_sp": "sigmoid_prime"}))
        for kind, new, symbols, functions in cases:
            tree = replace(form.tree, path, _apply_fprime(parts, where, new))
            s, f = _with(src, form, tree, symbols, functions)
            yield Mutant(kind, f"{kind} at {'/'.join(map(str, path)) or 'top'}", s, f)


def weight_mutants(src: Source, form: Form) -> Iterator[Mutant]:
    for path, node in nodes(form.tree):
        if node[0] == "ref" and form.symbols[node[1]].kind == "weight" and len(node[2]) == 2:
            a, b = node[2]
            if a != b:
                tree = replace(form.tree, path, ("ref", node[1], (b, a)))
                yield Mutant("swap_weight_indices", f"{node[1]}[{a}, {b}] -> [{b}, {a}]", *_with(src, form, tree))


_MOVABLE = ("act", "preact", "delta", "input", "output", "bias", "weight")


def layer_mutants(src: Source, form: Form) -> Iterator[Mutant]:
    for path, node in nodes(form.tree):
        if node[0] != "ref" or not node[2] or form.symbols[node[1]].kind not in _MOVABLE:
            continue
        name, idx = node[1], node[2]
        spec = form.symbols[name]
        if spec.kind == "weight":
            letters = [form.indices[i] for i in idx if isinstance(i, str)]
            if spec.layer is None and len(letters) < 2:
                continue
            base = spec.layer if spec.layer is not None else _upper(letters, form)
        else:
            base = _layer_of(form, name, idx)
        if base is None:
            continue
        kind = {"input": "act", "output": "act"}.get(spec.kind, spec.kind)
        for by in (1, -1):
            moved = SymbolSpec(kind, shift(base, by), None, spec.order)
            tree = replace(form.tree, path, ("ref", "mut_moved", idx))
            s, f = _with(src, form, tree, {"mut_moved": moved})
            yield Mutant("neighbour_layer", f"{name}[{', '.join(map(str, idx))}] moved {by:+d} layer", s, f)


def _upper(letters: list, form: Form):
    # the weight's layer is the later of its two letters' layers; compare them at l = 5, L = 9
    from derive.diff.layers import layer_number

    return max(letters, key=lambda spec: layer_number(spec, 5, 9))


def sign_and_factor_mutants(src: Source, form: Form) -> Iterator[Mutant]:
    tree = form.tree[1] if form.tree[0] == "neg" else ("neg", form.tree)
    yield Mutant("flip_sign", "the whole form negated", *_with(src, form, tree))
    for path, parts in chains(form.tree):
        for i, part in enumerate(parts):
            rest = parts[:i] + parts[i + 1 :]
            yield Mutant(
                "drop_factor",
                f"factor {i} of the product at {path}",
                *_with(src, form, replace(form.tree, path, product(rest))),
            )
            doubled = parts[:i] + [("mul", TWO, part)] + parts[i + 1 :]
            yield Mutant(
                "double_factor", f"factor {i} doubled", *_with(src, form, replace(form.tree, path, product(doubled)))
            )
    if not any(True for _ in chains(form.tree)):
        yield Mutant("double_factor", "the whole form doubled", *_with(src, form, ("mul", TWO, form.tree)))


def own_output_mutants(src: Source, form: Form) -> Iterator[Mutant]:
    if form.target not in ("grad_w", "update_w") or not all(isinstance(a, str) for a in form.at):
        return
    to, frm = form.at
    for path, node in nodes(form.tree):
        if node[0] == "ref" and node[2] == (frm,) and form.symbols[node[1]].kind in ("act", "input", "output"):
            tree = replace(form.tree, path, ("ref", "mut_own", (to,)))
            s, f = _with(src, form, tree, {"mut_own": SymbolSpec("act")})
            yield Mutant("input_to_own_output", f"{node[1]}[{frm}] -> the unit's own output [{to}]", s, f)


def transpose_mutants(src: Source, form: Form) -> Iterator[Mutant]:
    """Each weight matrix read transposed: its declared index order flipped, at every use in the form."""
    used = sorted({n[1] for _, n in nodes(form.tree) if n[0] == "ref" and form.symbols[n[1]].kind == "weight"})
    for name in used:
        spec = form.symbols[name]
        flipped = dataclasses.replace(spec, order="from_to" if spec.order == "to_from" else "to_from")
        yield Mutant(
            "transpose_weights", f"{name} read as its transpose", *_with(src, form, form.tree, {name: flipped})
        )


def _one_term(form: Form, node: tuple, letter: str, renamed: dict) -> tuple:
    """``node`` with ``letter`` fixed to unit 1: each symbol it indexes gets a declared layer (a numeric index
    needs one), collected in ``renamed``."""
    if node[0] == "ref":
        name, idx = node[1], node[2]
        if letter not in idx:
            return node
        spec = form.symbols[name]
        if spec.kind == "weight":
            letters = [form.indices[i] for i in idx if isinstance(i, str)]
            layer = spec.layer if spec.layer is not None else _upper(letters, form)
        else:
            layer = _layer_of(form, name, idx)
        new = f"mut_one_{name}"
        renamed[new] = dataclasses.replace(spec, layer=layer)
        return ("ref", new, tuple(1 if i == letter else i for i in idx))
    out = node
    for key, child in _children(node):
        out = _set(out, key, _one_term(form, child, letter, renamed))
    return out


def missing_sum_mutants(src: Source, form: Form) -> Iterator[Mutant]:
    """Each Sum(body, k) replaced by its first term (k = 1): the sum over the next layer's units left out."""
    for path, node in nodes(form.tree):
        if node[0] == "sum":
            renamed: dict = {}
            body = _one_term(form, node[2], node[1], renamed)
            tree = replace(form.tree, path, body)
            yield Mutant(
                "missing_sum",
                f"Sum over {node[1]} replaced by its term {node[1]} = 1",
                *_with(src, form, tree, renamed),
            )


def form_mutants(src: Source, form: Form) -> Iterator[Mutant]:
    """Every applicable mutant of one form."""
    yield from weight_mutants(src, form)
    yield from transpose_mutants(src, form)
    yield from missing_sum_mutants(src, form)
    yield from layer_mutants(src, form)
    yield from fprime_mutants(src, form)
    yield from sign_and_factor_mutants(src, form)
    yield from own_output_mutants(src, form)


# --------------------------------------------------------------------------
# Mutations of an algorithm: a weight update moved before a step that reads the weight
# --------------------------------------------------------------------------


def _block(alg: Algorithm, ref: tuple) -> tuple:
    """A parameter reference as (name, the layers of its indices): the block of parameters it reads."""
    return ref[1], tuple(alg.indices.get(i, i) if isinstance(i, str) else "unit" for i in ref[2])


def _is_param(alg: Algorithm, name: str) -> bool:
    return name in alg.symbols and alg.symbols[name].kind in ("weight", "bias")


def algorithm_mutants(src: Source, alg: Algorithm) -> Iterator[Mutant]:
    """Each parameter update moved before the first backward step (not an update) that reads it."""
    steps = alg.steps
    for i, (target, _) in enumerate(steps):
        name = target[1]
        if not _is_param(alg, name):
            continue
        for j in range(i):
            reads = {_block(alg, n) for _, n in nodes(steps[j][1]) if n[0] == "ref"}
            if not _is_param(alg, steps[j][0][1]) and _block(alg, target) in reads:
                moved = list(steps)
                moved.insert(j, moved.pop(i))
                what = f"step {i + 1} (updates {name}) moved before step {j + 1}, which reads {name}"
                yield Mutant("stale_weight", what, src, dataclasses.replace(alg, steps=moved))
                break
