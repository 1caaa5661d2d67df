"""Objects that show themselves as maths in Jupyter: one formula, a list of them, a diff result.

Every piece of maths is printed by :class:`derive.render.printer.NotationLatexPrinter` in the
chosen notation, so a notebook shows ``\\delta^{(2)}_{k}`` where SymPy's own printer would show
the internal names of the symbols. Jupyter asks for ``_repr_latex_`` (one formula) or
``_repr_markdown_`` (text with maths); a terminal gets ``str``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import sympy as sp

from derive.render import notations
from derive.render.printer import NotationLatexPrinter


@dataclass(frozen=True)
class Formula:
    """One equation ``lhs = rhs`` of a derivation, printed in one notation.

    ``lhs`` and ``rhs`` are the SymPy expressions (canonical symbols); ``number`` is the
    equation's number in the document, or None for an equation the document does not number.
    """

    lhs: sp.Expr
    rhs: sp.Expr
    notation: str
    n_layers: int
    title: str = ""
    number: int | None = None
    id: str | None = None

    @property
    def equation(self) -> sp.Eq:
        """The formula as a SymPy equation (``Eq(lhs, rhs)``, not evaluated)."""
        return sp.Eq(self.lhs, self.rhs, evaluate=False)

    def latex(self) -> str:
        """``lhs = rhs`` in LaTeX, in the formula's notation."""
        printer = NotationLatexPrinter(self.notation, self.n_layers)
        focus = notations.equation_focus(self.lhs, self.rhs)
        return f"{printer.doprint(self.lhs, focus)} = {printer.doprint(self.rhs, focus)}"

    def _repr_latex_(self) -> str:
        tag = r" \tag{%d}" % self.number if self.number is not None else ""
        return r"$$%s%s$$" % (self.latex(), tag)

    def __str__(self) -> str:
        head = f"({self.number}) " if self.number is not None else ""
        return f"{head}{self.latex()}"

    def __repr__(self) -> str:
        return f"Formula({str(self)!r})"


class Formulas(Sequence):
    """A list of formulas that displays as one block of numbered maths."""

    def __init__(self, items: Sequence[Formula], title: str = ""):
        self._items = list(items)
        self.title = title

    def __getitem__(self, k):
        return self._items[k]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Formula]:
        return iter(self._items)

    def by_id(self, eq_id: str) -> Formula:
        """The formula with a document id such as ``delta-2`` (raises KeyError)."""
        for f in self._items:
            if f.id == eq_id:
                return f
        raise KeyError(eq_id)

    def _repr_markdown_(self) -> str:
        lines = [f"**{self.title}**", ""] if self.title else []
        for f in self._items:
            label = f"{f.title}: " if f.title else ""
            lines.append(f"{label}{f._repr_latex_()}")
            lines.append("")
        return "\n".join(lines)

    def __str__(self) -> str:
        return "\n".join(str(f) for f in self._items)

    def __repr__(self) -> str:
        return f"Formulas({len(self)} equations)"


#: The columns of a diff result's table: header and record field (``latex`` is shown as maths).
DIFF_COLUMNS = (
    ("source", "source"),
    ("where", "citation"),
    ("form", "latex"),
    ("verdict", "verdict"),
    ("convention", "convention"),
    ("mistake", "mistake"),
)


class DiffResult(Sequence):
    """The verdict records of a textbook diff (the records of ``diff --json``), shown as a table."""

    def __init__(self, records: list[dict], arch: str, table: str, status: int):
        self.records = records
        self.arch = arch
        self._table = table
        #: 0 when every form matches (possibly under a stated convention), 1 when some form differs
        self.status = status

    def __getitem__(self, k):
        return self.records[k]

    def __len__(self) -> int:
        return len(self.records)

    def counts(self) -> dict[str, int]:
        """How many records have each verdict."""
        found: dict[str, int] = {}
        for r in self.records:
            found[r["verdict"]] = found.get(r["verdict"], 0) + 1
        return dict(sorted(found.items()))

    def _repr_markdown_(self) -> str:
        head = ", ".join(f"{n} {v}" for v, n in self.counts().items())
        rows = [f"**Textbook diff for {self.arch}**: {head}", ""]
        rows.append("| " + " | ".join(h for h, _ in DIFF_COLUMNS) + " |")
        rows.append("|" + "---|" * len(DIFF_COLUMNS))
        for r in self.records:
            cells = []
            for _, key in DIFF_COLUMNS:
                text = " ".join(str(r.get(key) or "").split()).replace("|", r"\|")
                cells.append(f"${text}$" if key == "latex" and text else text)
            rows.append("| " + " | ".join(cells) + " |")
        return "\n".join(rows)

    def __str__(self) -> str:
        return self._table

    def __repr__(self) -> str:
        return f"DiffResult({self.arch}: {self.counts()})"
