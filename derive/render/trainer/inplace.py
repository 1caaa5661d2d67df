"""An elementwise SymPy expression over arrays, printed as numpy calls that write into given arrays.

``a = beta1*m + (1 - beta1)*g`` written as numpy text makes a fresh array for every operation
(``beta1*m``, ``(1 - beta1)*g``, their sum); on arrays of a weight matrix's size each fresh array
costs more in first-touch page faults than the arithmetic itself. :func:`emit` prints the same
expression as a short run of ufunc calls with ``out=``: the value is built in one target array
(allocated by the first call, or an existing array) with at most a few scratch arrays for the
operands that are not plain arrays, and no other array of the operands' size is made.

The expression may hold array symbols (named as the trainer names them, ``grad``, ``m[key]``),
scalar symbols, numbers, ``Add``, ``Mul`` (division is a negative power), ``Pow`` (integer
exponents, square roots, any other exponent through ``np.power``) and the elementwise functions of
:data:`UNARY`. Scalar subexpressions (``1 - beta1**t``) are named by a :class:`Scalars` and computed
once, as Python floats, by the lines it gives, wherever the caller puts them (before a loop over
the arrays). The target may be one of the expression's own arrays when that array occurs once:
its value is read by the first call, before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from derive.render.trainer.printer import TrainerPrinter

#: the elementwise functions the emitter knows, by their numpy ufunc
UNARY = {
    sp.exp: "np.exp",
    sp.log: "np.log",
    sp.tanh: "np.tanh",
    sp.sin: "np.sin",
    sp.cos: "np.cos",
    sp.Abs: "np.absolute",
}

#: binary ufuncs written as augmented assignments when they update their first operand
_AUGMENTED = {"np.add": "+=", "np.subtract": "-=", "np.multiply": "*=", "np.divide": "/="}


@dataclass
class Scalars:
    """The scalar subexpressions of a run of :func:`emit` calls, each named once (``c1``, ``c2``, ...).

    ``lines()`` gives the assignments that compute them, each with the equation numbers
    (``cites``) of the expressions that use it, in the order they were first used.
    """

    prefix: str = "c"
    names: dict[sp.Expr, str] = field(default_factory=dict)
    cites: dict[str, list[int]] = field(default_factory=dict)

    def text(self, expr: sp.Expr, numbers: tuple[int, ...] = ()) -> str:
        """``expr`` as the trainer writes an operand: a name or a whole number as it is, else its scalar's name."""
        if isinstance(expr, sp.Symbol) or expr.is_Integer or expr.is_Float:
            return TrainerPrinter().doprint(expr)
        if expr not in self.names:
            self.names[expr] = f"{self.prefix}{len(self.names) + 1}"
        name = self.names[expr]
        users = self.cites.setdefault(name, [])
        users += [n for n in numbers if n not in users]
        return name

    def lines(self) -> list[tuple[str, str, tuple[int, ...]]]:
        """``(name, value, equation numbers)`` of each scalar, in the order of first use."""
        pr = TrainerPrinter()
        return [(name, pr.doprint(expr), tuple(sorted(self.cites[name]))) for expr, name in self.names.items()]


class _Emitter:
    """The calls of one :func:`emit`: ``target`` is the name the result is bound to."""

    def __init__(self, arrays: set[sp.Symbol], target: str, into: str | None, scalars: Scalars, numbers):
        self.arrays = arrays
        self.target = target
        self.into = into
        self.scalars = scalars
        self.numbers = numbers
        self.bound = False  # whether the target name holds its array yet
        self.lines: list[str] = []

    # -- what an expression is

    def is_array(self, e: sp.Expr) -> bool:
        return bool(e.free_symbols & self.arrays)

    def is_leaf(self, e: sp.Expr) -> bool:
        return e in self.arrays

    def need(self, e: sp.Expr) -> int:
        """Scratch arrays that evaluating ``e`` into one array takes (besides that array), in the order
        :meth:`eval` takes the operands: the first computed in place, every other compound one in a scratch."""
        if self.is_leaf(e) or not self.is_array(e):
            return 0
        if isinstance(e, sp.Pow) and not _reciprocal(e):
            operands = [x for x in (e.base, e.exp) if self.is_array(x)]
        elif e.func in UNARY:
            operands = [e.args[0]]
        else:
            operands = self.operands(e)
        start = self.first(operands)
        others = [1 + self.need(x) for x in operands if x is not start and not self.is_leaf(x) and not self.is_leaf(-x)]
        return max([self.need(start), *others])

    def operands(self, e: sp.Expr) -> list[sp.Expr]:
        """The array operands of an Add (terms) or a Mul (factors, denominators as their positive powers)."""
        if isinstance(e, sp.Add):
            return [t for t in e.args if self.is_array(t)]
        numerators, denominators, _ = self.factors(e)
        return numerators + denominators

    def factors(self, e: sp.Expr) -> tuple[list[sp.Expr], list[sp.Expr], sp.Expr]:
        """Array numerators, array denominators and the scalar coefficient of a product (or one power)."""
        numerators, denominators, scalar = [], [], sp.S.One
        for f in sp.Mul.make_args(e):
            if not self.is_array(f):
                scalar *= f
            elif _reciprocal(f):
                denominators.append(f.base if f.exp == -1 else f.base ** (-f.exp))
            else:
                numerators.append(f)
        return numerators, denominators, scalar

    # -- writing

    def call(self, dst: str, func: str, *args: str) -> None:
        """``dst = func(args)``, written into ``dst``: allocating on the target's first write without ``into``."""
        if self.bound and self.into in args and self.into != self.target:
            raise ValueError(f"{self.into} is read after the result was written into it")
        if dst == self.target and not self.bound:
            self.bound = True
            if self.into == self.target and func in _AUGMENTED and args[0] == self.target:
                self.lines.append(f"{self.target} {_AUGMENTED[func]} {args[1]}")  # an update of the array itself
                return
            out = f", out={self.into}" if self.into else ""
            self.lines.append(f"{self.target} = {func}({', '.join(args)}{out})")
            return
        if func in _AUGMENTED and args[0] == dst:
            self.lines.append(f"{dst} {_AUGMENTED[func]} {args[1]}")
            return
        self.lines.append(f"{func}({', '.join(args)}, out={dst})")

    def scalar(self, e: sp.Expr) -> str:
        return self.scalars.text(e, self.numbers)

    def leaf(self, e: sp.Expr) -> str:
        return TrainerPrinter().doprint(e)

    # -- evaluation

    def first(self, candidates: list[sp.Expr]) -> sp.Expr:
        """The operand to compute first, into the destination itself: the one that reads the target's
        own array if any (it must be read before the first write), else the one needing the most scratch."""
        if self.into is not None:
            own = [x for x in candidates if self.into in {s.name for s in x.free_symbols}]
            if own:
                return own[0]
        compound = [x for x in candidates if not self.is_leaf(x) and not self.is_leaf(-x)]
        if compound:
            return max(compound, key=self.need)  # max keeps the first of equals: deterministic
        return candidates[0]

    def operand(self, e: sp.Expr, free: list[str]) -> str:
        """An array operand as text: a leaf by its name, anything else computed into the first free scratch."""
        if self.is_leaf(e):
            return self.leaf(e)
        if not free:
            raise ValueError(f"not enough scratch arrays for {e}")
        self.eval(e, free[0], free[1:])
        return free[0]

    def eval(self, e: sp.Expr, dst: str, free: list[str]) -> None:
        """Write the value of the array expression ``e`` into ``dst``, using the scratch arrays ``free``."""
        if self.is_leaf(e):
            self.call(dst, "np.positive", self.leaf(e))  # a copy
        elif isinstance(e, sp.Add):
            self.add(e, dst, free)
        elif isinstance(e, sp.Mul) or _reciprocal(e):
            self.mul(e, dst, free)
        elif isinstance(e, sp.Pow):
            self.power(e, dst, free)
        elif e.func in UNARY:
            self.unary(UNARY[e.func], e.args[0], dst, free)
        else:
            raise NotImplementedError(f"no in-place form for {e.func.__name__} in {e}")

    def add(self, e: sp.Add, dst: str, free: list[str]) -> None:
        terms = [t for t in e.args if self.is_array(t)]
        constant = sp.Add(*[t for t in e.args if not self.is_array(t)])
        plain = [t for t in terms if self.is_leaf(t)]
        negated = [t for t in terms if t.could_extract_minus_sign() and self.is_leaf(-t)]
        start = self.first(terms)
        if self.first_is_free(terms) and plain and len(plain) + len(negated) == len(terms) > 1:
            start = plain[0]  # leaf ± leaf in one call
        rest = [t for t in terms if t is not start]
        others = [t for t in rest if t in plain or t in negated]
        if self.is_leaf(start) and others:
            other = others[0]
            rest.remove(other)
            negative = other in negated
            func = "np.subtract" if negative else "np.add"
            self.call(dst, func, self.leaf(start), self.leaf(-other if negative else other))
        elif constant != 0 and (start in plain or start in negated):  # leaf ± constant, constant - leaf
            c = self.scalar(constant)
            if start in plain:
                self.call(dst, "np.add", self.leaf(start), c)
            else:
                self.call(dst, "np.subtract", c, self.leaf(-start))
            constant = sp.S.Zero
        else:
            self.eval(start, dst, free)
        for term in rest:
            negative = term.could_extract_minus_sign()
            x = self.operand(-term if negative else term, free)
            self.call(dst, "np.subtract" if negative else "np.add", dst, x)
        if constant != 0:
            negative = constant.could_extract_minus_sign()
            c = self.scalar(-constant if negative else constant)
            self.call(dst, "np.subtract" if negative else "np.add", dst, c)

    def first_is_free(self, candidates: list[sp.Expr]) -> bool:
        """Whether any operand may come first: none reads the array the result goes into."""
        return self.into is None or not any(self.into in {s.name for s in x.free_symbols} for x in candidates)

    def mul(self, e: sp.Expr, dst: str, free: list[str]) -> None:
        numerators, denominators, scalar = self.factors(e)
        c_num, c_den = sp.fraction(scalar)
        start = self.first(numerators + denominators)
        numerators = [x for x in numerators if x is not start]
        in_denominator = start in denominators
        denominators = [x for x in denominators if x is not start]
        scaled = scalar == 1
        if not in_denominator and self.is_leaf(start):
            # the first call reads the leaf and one more operand: another leaf, or the scalar
            other = next((x for x in numerators if self.is_leaf(x)), None)
            if other is not None:
                numerators.remove(other)
                self.call(dst, "np.multiply", self.leaf(start), self.leaf(other))
            elif (d := next((x for x in denominators if self.is_leaf(x)), None)) is not None:
                denominators.remove(d)
                self.call(dst, "np.divide", self.leaf(start), self.leaf(d))
            elif not scaled:
                self.scale_first(dst, self.leaf(start), c_num, c_den)
                scaled = True
            else:
                self.call(dst, "np.positive", self.leaf(start))
        elif in_denominator:
            if self.is_leaf(start):  # x / leaf in one call, x a leaf numerator, another operand or the scalar
                top = next((x for x in numerators if self.is_leaf(x)), None)
                if top is not None:
                    numerators.remove(top)
                    self.call(dst, "np.divide", self.leaf(top), self.leaf(start))
                else:
                    self.call(dst, "np.divide", self.scalar(scalar), self.leaf(start))
                    scaled = True
            else:
                self.eval(start, dst, free)
                here = dst
                if numerators:
                    top = numerators.pop(0)
                    self.call(dst, "np.divide", self.operand(top, free), here)
                else:
                    self.call(dst, "np.divide", self.scalar(scalar), here)
                    scaled = True
        else:
            self.eval(start, dst, free)
        here = dst
        for x in numerators:
            self.call(dst, "np.multiply", here, self.operand(x, free))
        for x in denominators:
            self.call(dst, "np.divide", here, self.operand(x, free))
        if not scaled:
            if scalar == -1:
                self.call(dst, "np.negative", here)
            elif c_num == 1:
                self.call(dst, "np.divide", here, self.scalar(c_den))
            else:
                self.call(dst, "np.multiply", here, self.scalar(scalar))

    def scale_first(self, dst: str, leaf: str, c_num: sp.Expr, c_den: sp.Expr) -> None:
        """``leaf`` times the scalar c_num/c_den in one call: a division when the numerator is 1."""
        if c_num == 1:
            self.call(dst, "np.divide", leaf, self.scalar(c_den))
        elif c_num == -1 and c_den == 1:
            self.call(dst, "np.negative", leaf)
        else:
            self.call(dst, "np.multiply", leaf, self.scalar(c_num / c_den))

    def power(self, e: sp.Pow, dst: str, free: list[str]) -> None:
        base, exp = e.base, e.exp
        if self.is_array(exp):
            b = self.leaf(base) if self.is_leaf(base) else None
            if b is None and self.is_array(base):
                self.eval(base, dst, free)
                b = dst
                x = self.operand(exp, free)
            elif b is None:
                b = self.scalar(base)
                if self.is_leaf(exp):
                    x = self.leaf(exp)
                else:
                    self.eval(exp, dst, free)
                    x = dst
            else:
                x = self.operand(exp, free)
            self.call(dst, "np.power", b, x)
            return
        if exp == 2:
            func, extra = "np.square", ()
        elif exp == sp.S.Half:
            func, extra = "np.sqrt", ()
        else:
            func, extra = "np.power", (self.scalar(exp),)
        self.unary(func, base, dst, free, *extra)

    def unary(self, func: str, arg: sp.Expr, dst: str, free: list[str], *extra: str) -> None:
        if self.is_leaf(arg):
            self.call(dst, func, self.leaf(arg), *extra)
        else:
            self.eval(arg, dst, free)
            self.call(dst, func, dst, *extra)


def _reciprocal(e: sp.Expr) -> bool:
    """A power with a negative number as exponent: a denominator."""
    return isinstance(e, sp.Pow) and e.exp.is_number and bool(e.exp.is_negative)


def _occurrences(e: sp.Expr, s: sp.Symbol) -> int:
    return sum(1 for node in sp.preorder_traversal(e) if node == s)


def emit(
    expr: sp.Expr,
    target: str,
    arrays: set[sp.Symbol],
    scalars: Scalars,
    into: str | None = None,
    scratch: tuple[str, ...] = (),
    numbers: tuple[int, ...] = (),
) -> list[str]:
    """numpy lines that bind ``target`` to the value of ``expr`` without temporaries of the arrays' size.

    Args:
        expr: an elementwise expression; the symbols in ``arrays`` are arrays of one shape, the others scalars.
        target: the name the result is bound to (its first line is ``target = np.f(..., out=into)``).
        arrays: the array symbols.
        scalars: names and computes scalar subexpressions once (shared by the calls of one function).
        into: an existing array to write the result into (None: the first call allocates the result).
            It may be one of ``expr``'s arrays if that occurs once in ``expr``.
        scratch: arrays the lines may overwrite for intermediate values; none may occur in ``expr``.
        numbers: the equation numbers ``expr`` computes, recorded with the scalars it uses.
    Returns:
        The lines, in order; ValueError when ``scratch`` has too few arrays for ``expr``.
    """
    em = _Emitter(arrays, target, into, scalars, numbers)
    if not em.is_array(expr):
        raise ValueError(f"{expr} holds no array: it is a scalar")
    names = {s.name for s in expr.free_symbols}
    if clash := names & set(scratch):
        raise ValueError(f"scratch arrays {sorted(clash)} occur in {expr}")
    if into is not None and into in scratch:
        raise ValueError(f"{into} is both the result's array and a scratch array")
    if into is not None and into in names and _occurrences(expr, sp.Symbol(into)) > 1:
        raise ValueError(f"{into} occurs more than once in {expr}: it cannot also receive the result")
    if em.need(expr) > len(scratch):
        raise ValueError(f"{expr} needs {em.need(expr)} scratch arrays; {len(scratch)} given")
    em.eval(expr, target, list(scratch))
    return em.lines


def program(
    steps: list[tuple[str, sp.Expr, tuple[int, ...]]],
    arrays: set[sp.Symbol],
    scalars: Scalars,
    results: dict[str, str | None],
    buffers: tuple[str, ...] = (),
    spent: tuple[str, ...] = (),
) -> list[list[str]]:
    """The lines of a run of assignments over arrays, each written by :func:`emit` into an array chosen here.

    Args:
        steps: ``(target, expression, equation numbers)`` in order; every target is an array symbol
            of ``arrays`` (or, for the last, the name of where its result goes).
        arrays: the array symbols.
        scalars: see :func:`emit`.
        results: the targets that must end in a given array (its name) or in a new one (None);
            every other target is intermediate and goes into a buffer no later step still needs.
        buffers: arrays free to overwrite from the start.
        spent: input arrays that may be overwritten once no later step reads them (fresh gradients).
    Returns:
        For each step its lines; ValueError when the buffers do not suffice.
    """
    uses: dict[str, int] = {}
    for i, (_, rhs, _) in enumerate(steps):
        for s in rhs.free_symbols:
            uses[s.name] = i
    holder = {b: b for b in (*buffers, *spent)}  # each buffer -> the name of the value it holds now
    out = []
    for i, (lhs, rhs, numbers) in enumerate(steps):
        reads = {s.name for s in rhs.free_symbols}
        free = [b for b in holder if uses.get(holder[b], -1) < i]  # no later step reads what they hold
        ending = [  # read here for the last time, and once: each may receive the result
            b
            for b in holder
            if holder[b] in reads and uses[holder[b]] == i and _occurrences(rhs, sp.Symbol(holder[b])) == 1
        ]
        if lhs in results:  # (the buffer it occupies, if one, and the name its array is written through)
            given = results[lhs]
            if given in holder and given not in free and given not in ending:
                raise ValueError(f"{given} still holds {holder[given]} when {lhs} is written into it")
            candidates = [(given if given in holder else None, holder[given] if given in ending else given)]
        else:
            candidates = [(b, holder[b]) for b in ending] + [(b, b) for b in free]
        for buffer, into in candidates:
            scratch = tuple(f for f in free if f != buffer)
            if _Emitter(arrays, lhs, into, scalars, numbers).need(rhs) <= len(scratch):
                break
        else:
            raise ValueError(f"too few buffers for {lhs} = {rhs}")
        if buffer is not None:
            holder[buffer] = lhs
        out.append(emit(rhs, lhs, arrays, scalars, into, scratch, numbers))
    return out
