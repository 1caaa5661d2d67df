"""Render derivation.tex from a verified Derivation (Jinja templates in templates/doc/).

Templates use LaTeX-friendly delimiters (``((( value )))``, ``((* block *))``)
and ``StrictUndefined``; maths arrives printed by SymPy's printer and any text
that came from the user goes through the ``tex`` escaping filter.
"""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2
import sympy as sp

from derive.core import update
from derive.core.model import Derivation
from derive.render import correspondence, gradients, notations, numbers, steps, templates
from derive.render import example as example_mod
from derive.render.chain import SMALL_WIDTH
from derive.render.latex import chain, code, diagram, proofs, rules, why, worked
from derive.render.latex import context as lc
from derive.render.printer import NotationLatexPrinter
from derive.render.rules import backward_matrix

TEMPLATES = templates.directory("doc")

_ESCAPES = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "%": r"\%",
    "_": r"\_",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    "δ": r"$\delta$",
    "′": "'",
    "−": "-",
    "“": "``",
    "”": "''",
    "Σ": r"$\Sigma$",
    "·": r"$\cdot$",
    "±": r"$\pm$",
    "≤": r"$\leq$",
    "×": r"$\times$",
    "Ω": r"$\Omega$",
    "λ": r"$\lambda$",
    "θ": r"$\theta$",
    "²": r"$^2$",
    "\n": " ",
}


def tex_escape(text: object) -> str:
    """Text as literal LaTeX: every special character escaped, unknown non-ASCII shown as its code point.

    >>> tex_escape(r"\\input{/etc/passwd} $5 % #_")
    '\\\\textbackslash{}input\\\\{/etc/passwd\\\\} \\\\$5 \\\\% \\\\#\\\\_'
    """
    out = []
    for ch in str(text):
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 32:
            out.append(" ")
        elif ord(ch) > 126:
            out.append(r"\texttt{[U+%04X]}" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


_TT_SPECIAL = set("\\{}$&#%_^~")


def tex_literal(text: object) -> str:
    r"""User text in typewriter type, every character shown as itself (``\char`` for TeX's specials).

    The typewriter font has a glyph for each ASCII character, so the PDF's text is the user's text.

    >>> tex_literal("a_b{")
    '\\texttt{a\\char95{}\\allowbreak{}b\\char123{}}'
    """
    out = []
    for ch in str(text):
        if ch in _TT_SPECIAL:
            out.append(r"\char%d{}" % ord(ch))
        elif ch in "<>|\"'-`":
            out.append(r"\char%d{}" % ord(ch))
        else:
            out.append(tex_escape(ch))
        if ch in "/.-_":  # long paths may break after a separator
            out.append(r"\allowbreak{}")
    return r"\texttt{%s}" % "".join(out)


def number(value: float) -> str:
    """A number the example computed, as every table and sentence prints it (:mod:`derive.render.numbers`).

    >>> number(0.0), number(-1.23456e-9), number(12005999999000000512.0)
    ('0.000000', '\\\\ensuremath{-1.235\\\\times 10^{-9}}', '\\\\ensuremath{1.200600\\\\times 10^{19}}')
    """
    return numbers.latex(value)


@functools.cache  # one per process; compiled templates are cached between runs too
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        block_start_string="((*",
        block_end_string="*))",
        variable_start_string="(((",
        variable_end_string=")))",
        comment_start_string="((#",
        comment_end_string="#))",
        undefined=jinja2.StrictUndefined,
        bytecode_cache=templates.bytecode_cache(),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["tex"] = tex_escape
    env.filters["literal"] = tex_literal
    env.filters["num"] = number
    env.filters["given"] = lambda v: numbers.latex(v, given=True)  # a number given to the example, as given
    env.filters["small"] = lambda v: numbers.latex(v, small=True)  # Adam's moments: small ones with a power of ten
    env.filters["paren"] = lambda name: f"({name})"
    env.filters["sci"] = proofs.scientific
    env.filters["coord"] = lambda xy: "(%s,%s)" % tuple(f"{round(v, 3):g}" for v in xy)
    return env


def _mapping(d: Derivation, notation: str) -> dict:
    """The symbols of this notation where they differ from the default's (:mod:`derive.render.correspondence`)."""
    printers = {k: NotationLatexPrinter(k, d.spec.n_layers) for k in correspondence.presets(notation)}
    rows = correspondence.rows(d, notation, lambda k, e, focus: printers[k].doprint(e, focus))
    return {
        "keys": list(printers),
        "names": [notations.NOTATIONS[k].cited for k in printers],
        "short": [notations.NOTATIONS[k].name for k in printers],
        "rows": rows,
    }


def _first_line(c: lc.Printing, a: sp.Symbol, definition: sp.Expr) -> str:
    """The first line of a derivation shown line by line: ∂/∂a of the activation's definition."""
    return r"\frac{\partial}{\partial %s} \left(%s\right)" % (c.tex(a), c.tex(definition))


def shown_steps(d: Derivation, c: lc.Printing) -> dict[str, dict]:
    """The proved derivations shown line by line (:func:`derive.render.steps.shown`), keyed by id."""
    return steps.shown(d, c, _first_line)


def template_values(
    d: Derivation, ex: example_mod.Example, notation: str = "bishop", trainer: str | None = None
) -> dict:
    """Every value the templates use (``trainer``: the text of the trainer.py written beside the document)."""
    c = lc.Printing(d, notation)
    infos = [lc.layer_info(c, layer) for layer in d.layers]
    small = max(d.spec.sizes) <= SMALL_WIDTH
    letters = c.nota.index_letters
    hidden = [chain.hidden_chain(c, layer) for layer in reversed(d.layers[:-1])]
    bp2 = {layer.index: c.tex(backward_matrix(d, layer)) for layer in d.layers[:-1]}
    return {
        "spec": d.spec,
        "arch": d.spec.arch,
        "L": d.spec.n_layers,
        "small": small,
        "table": d.spec.n_parameters <= gradients.TABLE_PARAMETERS,
        "nota": c.nota,
        # the source's number of a layer, and its symbol of the error signal, for sentences
        "ln": c.nota.layer_name,
        "D": c.nota.letters["delta"],
        # δ's letter at the output, and every letter of δ (seed 003: δ at the output, γ below)
        "D_out": c.nota.signal_letters(d.spec.n_layers)[0],
        "D_all": "/".join(c.nota.signal_letters(d.spec.n_layers)),
        "E": c.printer.doprint(sp.Symbol("E")),
        "eq": {e.id: {"id": e.id, "number": e.number, **c.eq(e.lhs, e.rhs)} for e in d.equations},
        # the optimiser's equations, whichever the core derived (ids "update-...")
        "updates": [e.id for e in d.equations if e.id.startswith("update-")],
        # Adam's equations by part (m, v, mhat, vhat, change), for the algorithm's steps
        "adam": update.adam_groups(d.equations) if d.spec.optimizer == "adam" else None,
        "layers": infos,
        "out": infos[-1],
        "symbols": lc.symbol_rows(c, infos),
        "diagram": diagram.diagram(d, c.printer),
        "loss": d.spec.loss,
        # the source's words: its name of the loss function, of E (error, cost, loss) and of a (pre-activation)
        "loss_name": c.nota.loss_name(d.spec.loss),
        "cost": c.nota.cost,
        "pre": c.nota.pre,
        "reduction": d.reduction,
        "assumptions": d.assumptions,
        "chain": chain.output_chain(c),
        "hidden": hidden,
        "bp2": bp2,
        "grad_rows": lc.gradient_rows(c) if d.spec.n_parameters <= gradients.TABLE_PARAMETERS else [],
        "counts": lc.layer_counts(d),
        "n_params": d.spec.n_parameters,
        "example": worked.section(d, c, ex),
        "proofs": proofs.records(d, c),
        "checked": proofs.how_checked(d),
        "fast": proofs.directional_setup(),
        # the index letters repeat when the net has more levels (inputs and layers) than letters
        "index_cycle": len(letters) if d.spec.n_layers + 1 > len(letters) else 0,
        "proof_summary": d.proof_summary,
        "proof_sentence": proofs.summary_sentence(d, c.nota.cost),
        "mapping": _mapping(d, notation),
        "g": rules.section(d, c),
        "top_letters": c.nota.top_letters(),
        "why": why.section(d, c),
        "steps": shown_steps(d, c),
        "code": code.section(d, trainer) if trainer is not None else None,
    }


def render(
    d: Derivation, example_path: Path | None = None, notation: str = "bishop", trainer: str | None = None
) -> str:
    """derivation.tex for a verified Derivation.

    Args:
        d: the verified Derivation.
        example_path: a worked-example JSON file (validated by
            :func:`derive.render.example.load`), or None for the seeded one.
        notation: the symbol preset of the document (:data:`derive.render.notations.NOTATIONS`).
        trainer: the text of the trainer.py built with the document, whose lines the section on the
            code shows beside the equations; None leaves that section out.
    Returns:
        The LaTeX source, deterministic for the same inputs.
    """
    ex = example_mod.load(example_path, d.spec) if example_path else example_mod.default(d)
    return environment().get_template("main.tex.j2").render(**template_values(d, ex, notation, trainer))
