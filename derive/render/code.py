"""The trainer's lines beside the equations they compute, read from the trainer's source text.

The pipeline renders trainer.py first and hands its text to the document and the web
page, which show, rule by rule, the lines whose comments cite each equation. The lines
are found in the text itself, so what the documents show is what the build wrote:

* a statement whose comment starts with ``eq. (n)`` (or ``eqs. (m), (n)``, ``eqs. (m) to (n)``)
  computes those equations; uncited assignments just before it whose names it reads
  (a log-sum-exp taken once for all units) belong to it;
* a comment line of its own that starts with a citation covers the statements below it,
  down to the end of their block.

Lines of the one-sample functions (``_gradients_one``, ``_step_one``: the batch lines again,
unit by unit on Python floats) are shown only for an equation no other function cites.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass
from fractions import Fraction

import sympy as sp

from derive.core.model import Derivation

_NUMBER = re.compile(r"\((\d+)\)")
#: a citation at the start of a comment: ``# eq. (5)``, ``# eqs. (1) to (4)``, ``# eqs. (9), (23)``
_CITATION = re.compile(r"#\s*eqs?\.\s*(\(\d+\)(?:\s*(?:,|and|to)\s*\(\d+\))*)")
_ASSIGNED = re.compile(r"\s*([A-Za-z_]\w*)\s*=(?!=)")

#: at most this many statements are shown for one equation (the scalar style has one per unit)
SHOWN = 3
#: at most this many uncited assignments are shown with the line that reads them
TEMPORARIES = 3

#: the rules of the section: key, title, and which equation ids each takes (see :func:`rule_ids`)
RULES = (
    ("forward", "The forward pass and the error"),
    ("output", "The error signals of the output layer"),
    ("hidden", "The error signals of the hidden layers"),
    ("gradients", "The weight and bias gradients"),
    ("update", "The update"),
)

#: forms of the code that differ from the document's, each with a pattern that finds it in a line
FORMS = (
    ("sigmoid", re.compile(r"tanh\(0\.5\*")),  # σ(a) = ½ tanh(½a) + ½
    ("logistic", re.compile(r"\b_logistic\(")),  # the trainer's σ of an array: 1/(1 + e^-a), tanh form if small
    ("softplus", re.compile(r"logaddexp\(0, ")),  # log(1 + e^u)
    ("logsumexp", re.compile(r"logaddexp(?!\(0, )")),  # log Σ e^u, of a softmax and its cross-entropy
    ("expm1", re.compile(r"expm1\(")),  # e^u − 1
    ("heaviside", re.compile(r"heaviside\(")),  # the unit step H(u), with its value at u = 0 as second argument
)


def cited_numbers(comment: str) -> tuple[int, ...]:
    """The equation numbers a comment cites at its start (none when it does not start with a citation).

    >>> cited_numbers("# eq. (5)"), cited_numbers("# eqs. (1) to (4): the pass"), cited_numbers("# eqs. (9), (23)")
    ((5,), (1, 2, 3, 4), (9, 23))
    >>> cited_numbers("# one sample: see eq. (5)")
    ()
    """
    m = _CITATION.match(comment.strip())
    if not m:
        return ()
    numbers: list[int] = []
    parts = re.split(r"\s*(,|and|to)\s*", m.group(1))
    for n, part in enumerate(parts):
        if part in (",", "and", "to"):
            continue
        value = int(_NUMBER.fullmatch(part).group(1))
        if n >= 2 and parts[n - 1] == "to":
            numbers += range(numbers[-1] + 1, value + 1)
        else:
            numbers.append(value)
    return tuple(numbers)


@dataclass(frozen=True)
class Statement:
    """One logical line of the source: where it is, its text, and what its comment cites."""

    first: int  # 0-based index of its first physical line
    last: int  # and of its last
    indent: int
    code: str  # its text without comments
    numbers: tuple[int, ...]  # cited by a comment on the statement itself
    leading: tuple[int, ...]  # cited by a comment line of its own (no code)
    function: str  # the top-level def it is in ("" outside any)


def _statements(source: str) -> list[Statement]:
    """Every logical line of ``source``, comment lines of their own included."""
    out: list[Statement] = []
    function = ""
    code: list[str] = []
    comments: list[str] = []
    start = None
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER):
            continue
        if start is None:
            start = tok.start
        if tok.type == tokenize.COMMENT:
            comments.append(tok.string)
        elif tok.type not in (tokenize.NEWLINE, tokenize.NL):
            code.append(tok.string)
        if tok.type == tokenize.NEWLINE or (tok.type == tokenize.NL and not code):
            if code[:1] in (["def"], ["class"]) and start[1] == 0:
                function = code[1]
            cites = cited_numbers(comments[0]) if comments else ()
            out.append(
                Statement(
                    first=start[0] - 1,
                    last=tok.start[0] - 1,
                    indent=start[1],
                    code=" ".join(code),
                    numbers=cites if code else (),
                    leading=() if code else cites,
                    function=function,
                )
            )
            code, comments, start = [], [], None
    return out


def _uses(code: str, name: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", code) is not None


@dataclass(frozen=True)
class Block:
    """Lines of the trainer that compute some equations: verbatim, in the function they are in."""

    numbers: tuple[int, ...]
    function: str
    first: int  # 0-based index of the first line in the source
    lines: tuple[str, ...]  # physical lines, indentation kept


def blocks(source: str) -> list[Block]:
    """Every block of ``source`` that a citation covers, in the order of the source."""
    text = source.splitlines()
    stmts = [s for s in _statements(source) if s.code or s.leading]
    out = []
    for n, s in enumerate(stmts):
        if s.numbers:
            first = n  # uncited assignments just before it that it reads belong to it
            while first > 0:
                prev = stmts[first - 1]
                m = _ASSIGNED.match(prev.code)
                if prev.numbers or prev.leading or prev.indent != s.indent or not m or not _uses(s.code, m.group(1)):
                    break
                first -= 1
            if n - first > TEMPORARIES:  # a long run is the unpacking of inputs, not part of this line
                first = n
            lo = stmts[first].first
            out.append(Block(s.numbers, s.function, lo, tuple(text[lo : s.last + 1])))
        elif s.leading:
            end = n + 1
            while end < len(stmts) and stmts[end].indent == s.indent and stmts[end].code:
                end += 1
            if end > n + 1:
                out.append(Block(s.leading, s.function, s.first, tuple(text[s.first : stmts[end - 1].last + 1])))
    return out


def _dedent(lines: tuple[str, ...]) -> list[str]:
    cut = len(lines[0]) - len(lines[0].lstrip())
    return [line[cut:] if line[:cut].isspace() else line.lstrip() for line in lines]


def shown(found: list[Block], number: int) -> dict:
    """The lines shown for equation ``number`` among the :func:`blocks` ``found``: those of the first
    function that cites it, batch functions first.

    Returns ``{"function": name, "blocks": [lines, ...], "more": blocks left out}``,
    with ``blocks`` empty when no line of the source cites the equation.
    """
    citing = [b for b in found if number in b.numbers]
    batch = [b for b in citing if not b.function.endswith("_one")]
    citing = batch or citing
    if not citing:
        return {"function": "", "blocks": [], "more": 0}
    function = citing[0].function
    inside = [b for b in citing if b.function == function]
    runs: list[list[Block]] = []  # blocks that follow each other in the source make one listing
    for b in inside[:SHOWN]:
        if runs and runs[-1][-1].first + len(runs[-1][-1].lines) == b.first:
            runs[-1].append(b)
        else:
            runs.append([b])
    return {
        "function": function,
        "blocks": [_dedent(tuple(line for b in run for line in b.lines)) for run in runs],
        "more": len(inside) - SHOWN if len(inside) > SHOWN else 0,
    }


def rule_ids(d: Derivation, rule: str) -> list[str]:
    """The ids of the equations of one rule of :data:`RULES`, in the order of their numbers."""
    ids = [e.id for e in d.equations]
    L = d.spec.n_layers
    if rule == "forward":
        return [i for i in ids if i.startswith("forward-")] + ["error"]
    if rule == "output":  # a softmax without cross-entropy has no one δ form: its δ lines cite ∂E/∂y
        return [f"delta-{L}"] if f"delta-{L}" in ids else ["dE-dy"]
    if rule == "hidden":
        return [f"delta-{l}" for l in range(L - 1, 0, -1) if f"delta-{l}" in ids]
    if rule == "gradients":
        return [i for i in ids if i.startswith(("grad-w-", "grad-b-"))]
    return [i for i in ids if i.startswith("update-")]


def heaviside_at_zero(text: str) -> list[str]:
    """The second arguments of the ``heaviside(u, h)`` calls in ``text`` (the step's value at 0), as written.

    >>> heaviside_at_zero("d = np.heaviside(A1 @ (W.T), 1/2) * _heaviside(a[0], 0.5)")
    ['1/2', '0.5']
    """
    found = []
    for m in re.finditer(r"heaviside\(", text):
        depth, last, k = 1, m.end(), m.end()
        while k < len(text) and depth:
            if text[k] in "([{":
                depth += 1
            elif text[k] in ")]}":
                depth -= 1
            elif text[k] == "," and depth == 1:
                last = k + 1
            k += 1
        found.append(text[last : k - 1].strip())
    return found


def step_convention(text: str) -> dict | None:
    """The value at 0 of the unit steps in ``text`` beside the one the document's derivatives use.

    The document's ReLU derivative is SymPy's ``Heaviside`` step, whose value at 0 is ``Heaviside(0)``;
    ``agree`` says whether every step of the code takes that value. None when the code has no step.
    """
    written = sorted(set(heaviside_at_zero(text)))
    if not written:
        return None
    document = sp.Heaviside(sp.S.Zero)
    try:
        values = [sp.Rational(Fraction(v)) for v in written]
    except ValueError:  # not a plain number: it cannot be shown to agree
        values = []
    return {
        "code": written,
        "document": str(document),  # as text (1/2), the code's way
        "document_tex": sp.latex(document).replace(r"\frac", r"\tfrac"),
        "agree": bool(values) and all(v == document for v in values),
    }


def section(d: Derivation, source: str) -> dict:
    """Each rule with its equations and the trainer lines that compute them.

    Equations that the same lines compute (the update of every parameter array) share one entry.
    Each rule also lists the :data:`FORMS` its lines show, so the documents can say how the code's form differs.
    Returns ``{"rules": [...], "shown": SHOWN, "trimmed": whether some equation has more lines than shown}``.
    """
    found = blocks(source)
    rules = []
    for key, title in RULES:
        entries: list[dict] = []
        for eq_id in rule_ids(d, key):
            number = d.equation(eq_id).number
            lines = shown(found, number)
            same = [e for e in entries if e["blocks"] == lines["blocks"] and lines["blocks"]]
            if same:
                same[0]["ids"].append(eq_id)
                same[0]["numbers"].append(number)
            else:
                entries.append({"ids": [eq_id], "numbers": [number], "title": d.equation(eq_id).title, **lines})
        text = "\n".join(line for e in entries for b in e["blocks"] for line in b)
        forms = [form for form, pattern in FORMS if pattern.search(text)]
        if entries:
            step = step_convention(text)
            rules.append({"key": key, "title": title, "entries": entries, "forms": forms, "step": step})
    trimmed = any(e["more"] for rule in rules for e in rule["entries"])
    return {"rules": rules, "shown": SHOWN, "trimmed": trimmed}
