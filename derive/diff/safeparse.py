"""A restricted parser for formulas written in SymPy syntax, from untrusted files.

``sympify`` and ``parse_expr`` evaluate Python, so neither may see a form from
a user's file (or from the catalog). This module walks Python's ``ast`` and
accepts only arithmetic, whitelisted function calls, whitelisted names and
subscripts of whitelisted names; everything else is refused before any object
is built. The result is a small tree of tuples (:data:`Node`) that
:mod:`derive.diff.compare` turns into SymPy objects itself, once per concrete unit.

>>> parse("h_prime(a[j]) * Sum(w[k, j] * delta[k], k)", names={"a", "w", "delta"}, functions={"h_prime"})[2]
('sum', 'k', ('mul', ('ref', 'w', ('k', 'j')), ('ref', 'delta', ('k',))))
"""

from __future__ import annotations

import ast
from fractions import Fraction

#: Limits that keep a hostile form cheap to refuse.
MAX_LENGTH = 600
MAX_DEPTH = 24
MAX_NODES = 400
MAX_EXPONENT = 8
MAX_INTEGER = 10**6
#: Function calls nest at most this deep (exp(exp(exp(...))) overflows any precision).
MAX_CALL_NESTING = 3

Node = tuple


class UnsafeForm(ValueError):
    """A form that the restricted grammar refuses; the message is one line."""


_BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}


def _precheck(text: str) -> None:
    if not isinstance(text, str):
        raise UnsafeForm("a form must be a string")
    if len(text) > MAX_LENGTH:
        raise UnsafeForm(f"form is {len(text)} characters long; the limit is {MAX_LENGTH}")
    if "__" in text:
        raise UnsafeForm("double underscores are not allowed in a form")
    if not text.isascii():
        bad = next(c for c in text if not c.isascii())
        raise UnsafeForm(f"character {bad!r} (U+{ord(bad):04X}) is not allowed; a form is written in ASCII")
    if text.count("(") > MAX_NODES // 4 or text.count("[") > MAX_NODES // 4:
        raise UnsafeForm("form has too many brackets")


def _syntax(text: str, mode: str) -> ast.AST:
    try:
        return ast.parse(text.strip(), mode=mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        msg = getattr(e, "msg", None) or type(e).__name__
        raise UnsafeForm(f"not a formula ({msg})") from None


class _Walker:
    def __init__(
        self, names: set[str], functions: set[str], indices: set[str] | None, exponents: set[str] = frozenset()
    ) -> None:
        self.names, self.functions, self.indices = names, functions, indices
        self.exponents = exponents  # names that may stand as an exponent (Adam's step count t in β^t)
        self.count = 0

    def unknown(self, name: str) -> UnsafeForm:
        known = ", ".join(sorted(self.names))
        funcs = ", ".join(sorted(self.functions | {"Sum"}))
        idx = f"; indices: {', '.join(sorted(self.indices))}" if self.indices is not None else ""
        return UnsafeForm(f"unknown symbol {name!r}; known symbols: {known}; functions: {funcs}{idx}")

    def index(self, node: ast.AST) -> str | int:
        if isinstance(node, ast.Name):
            if self.indices is not None and node.id not in self.indices:
                raise UnsafeForm(f"unknown index {node.id!r}; declared indices: {', '.join(sorted(self.indices))}")
            return node.id
        if isinstance(node, ast.Constant) and type(node.value) is int and 0 < node.value <= MAX_INTEGER:
            return node.value
        raise UnsafeForm("an index must be an index letter or a positive integer")

    def __call__(self, node: ast.AST, depth: int = 0) -> Node:
        self.count += 1
        if depth > MAX_DEPTH:
            raise UnsafeForm(f"form is nested deeper than {MAX_DEPTH} levels")
        if self.count > MAX_NODES:
            raise UnsafeForm(f"form has more than {MAX_NODES} parts")
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            op = _BINOPS[type(node.op)]
            left, right = self(node.left, depth + 1), self(node.right, depth + 1)
            named = right[0] == "ref" and right[1] in self.exponents and not right[2]
            if op == "pow" and not named and not (right[0] == "num" and abs(right[1]) <= MAX_EXPONENT):
                raise UnsafeForm(f"an exponent must be a number of size at most {MAX_EXPONENT}")
            return (op, left, right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            inner = self(node.operand, depth + 1)
            return ("neg", inner) if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.Constant):
            value = node.value
            if type(value) not in (int, float) or abs(value) > MAX_INTEGER:
                raise UnsafeForm(f"constant {value!r} is not allowed (numbers up to {MAX_INTEGER} only)")
            return ("num", Fraction(str(value)))
        if isinstance(node, ast.Name):
            if node.id not in self.names:
                raise self.unknown(node.id)
            return ("ref", node.id, ())
        if isinstance(node, ast.Subscript):
            if not isinstance(node.value, ast.Name):
                raise UnsafeForm("only a symbol name may be subscripted")
            if node.value.id not in self.names:
                raise self.unknown(node.value.id)
            parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            return ("ref", node.value.id, tuple(self.index(p) for p in parts))
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitXor):
            raise UnsafeForm("'^' is not a power here: write x**2 for x squared")
        raise UnsafeForm(f"{type(node).__name__} is not allowed in a form")

    def call(self, node: ast.Call, depth: int) -> Node:
        if not isinstance(node.func, ast.Name):
            raise UnsafeForm("only whitelisted functions may be called (no attribute access)")
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise UnsafeForm("function calls take plain positional arguments only")
        fn = node.func.id
        if fn == "Sum":
            if len(node.args) != 2 or not isinstance(node.args[1], ast.Name):
                raise UnsafeForm("Sum takes two arguments: Sum(body, index)")
            idx = self.index(node.args[1])
            return ("sum", idx, self(node.args[0], depth + 1))
        if fn not in self.functions:
            allowed = ", ".join(sorted(self.functions | {"Sum"}))
            raise UnsafeForm(
                f'function {fn!r} is not allowed here; declare it in the [functions] table (e.g. {fn} = "sigmoid" or '
                f'"act", "act_prime"), or use one of: {allowed}'
            )
        if len(node.args) != 1:
            raise UnsafeForm(f"{fn} takes one argument")
        return ("call", fn, tuple(self(a, depth + 1) for a in node.args))


def _check_cost(tree: Node) -> Node:
    """Refuse powers of powers beyond degree MAX_EXPONENT and calls nested deeper than MAX_CALL_NESTING."""
    stack = [(tree, 1, 0)]
    while stack:
        node, degree, calls = stack.pop()
        if node[0] == "pow":
            degree *= max(1, abs(node[2][1])) if node[2][0] == "num" else 1  # a step count: a scalar's power
            if degree > MAX_EXPONENT:
                raise UnsafeForm(f"powers of powers reach degree {degree}; the limit is {MAX_EXPONENT}")
            stack.append((node[1], degree, calls))
        elif node[0] == "call":
            if calls + 1 > MAX_CALL_NESTING:
                raise UnsafeForm(f"function calls nest deeper than {MAX_CALL_NESTING} levels")
            stack.extend((arg, degree, calls + 1) for arg in node[2])
        elif node[0] in ("add", "sub", "mul", "div"):
            stack.extend((child, degree, calls) for child in node[1:])
        elif node[0] == "neg":
            stack.append((node[1], degree, calls))
        elif node[0] == "sum":
            stack.append((node[2], degree, calls))
    return tree


def parse(text: str, names: set[str], functions: set[str], indices: set[str] | None = None) -> Node:
    """Parse one expression into a :data:`Node` tree, or raise :class:`UnsafeForm`.

    Args:
        text: the formula, in SymPy syntax (``w[k, j]`` for indexed symbols).
        names: symbol names the form may use.
        functions: function names the form may call (``Sum`` is always allowed).
        indices: index letters the form may use (None: any name).
    """
    _precheck(text)
    tree = _syntax(text, "eval")
    return _check_cost(_Walker(set(names), set(functions), indices)(tree.body))


def parse_step(
    text: str, names: set[str], functions: set[str], indices: set[str] | None = None, exponents: set[str] = frozenset()
) -> tuple[Node, Node]:
    """Parse one algorithm step ``target = expression``; the target may be a new name.

    ``exponents`` are the names that may be an exponent (a step count t: β**t), besides numbers.

    >>> parse_step("v[k, n] = v[k, n] - alpha * d[k]", {"v", "alpha", "d"}, set())[0]
    ('ref', 'v', ('k', 'n'))
    """
    _precheck(text)
    tree = _syntax(text, "exec")
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Assign) or len(tree.body[0].targets) != 1:
        raise UnsafeForm("a step must be one assignment: name[indices] = expression")
    target = tree.body[0].targets[0]
    base = target.value if isinstance(target, ast.Subscript) else target
    if not isinstance(base, ast.Name):
        raise UnsafeForm("a step assigns to a name or a subscripted name")
    walker = _Walker(set(names) | {base.id}, set(functions), indices, set(exponents))
    return walker(target), _check_cost(walker(tree.body[0].value))
