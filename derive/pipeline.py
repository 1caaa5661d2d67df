"""Stage 4: from a spec to the files of ``generated/<name>/``.

Each renderer reads the verified Derivation and returns file contents; this
module only chains them and hands the result to :mod:`derive.output`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from derive.core.model import Derivation
from derive.core.symbolic import derive
from derive.prove.verify import verify
from derive.render import formulas, notations
from derive.render.html import page
from derive.render.latex import document
from derive.render.trainer import render
from derive.spec import NetworkSpec, SpecError


@dataclass(frozen=True)
class BuildOptions:
    """Options that shape the outputs but not the mathematics."""

    style: str | None = None  # trainer code style; None chooses by size
    example: Path | None = None  # worked-example JSON file
    pdf: bool = True
    notation: str = "bishop"  # symbols of the document and the LaTeX fields of formulas.json
    tex: bool = True  # write derivation.tex (it is rendered for the PDF either way)
    html: bool = True  # write derivation.html


#: The document formats ``build --format`` chooses among (trainer.py and formulas.json are always written).
FORMATS = ("pdf", "html", "tex")


def check_formats(text: str) -> tuple[str, ...]:
    """The formats of a ``--format`` value such as ``pdf,html`` (raises SpecError on an unknown one).

    >>> check_formats("html,tex")
    ('html', 'tex')
    """
    chosen = tuple(f.strip() for f in text.split(","))
    for f in chosen:
        if f not in FORMATS:
            raise SpecError(f"unknown format {f!r}; valid: {', '.join(FORMATS)} (joined by ',')")
    return chosen


def check_notation(notation: str) -> str:
    """``notation`` if it names a preset (raises SpecError otherwise)."""
    if notation not in notations.NOTATIONS:
        raise SpecError(f"unknown notation {notation!r}; valid: {', '.join(sorted(notations.NOTATIONS))}")
    return notation


def output_name(spec: NetworkSpec, notation: str = "bishop") -> str:
    """The default folder under ``generated/``: the spec's name, and the notation when it is not the default.

    >>> from derive.spec import make_spec
    >>> output_name(make_spec("2-3-2")), output_name(make_spec("2-3-2", "tanh"), "nielsen")
    ('2-3-2', '2-3-2-tanh-nielsen')
    """
    return spec.name if notation == "bishop" else f"{spec.name}-{notation}"


def derivation(spec: NetworkSpec) -> Derivation:
    """Derive and prove (the part every output shares)."""
    return verify(derive(spec))


def render_files(
    d: Derivation, options: BuildOptions, tex_ready: Callable[[str], None] | None = None
) -> dict[str, bytes]:
    """Every output file of one build, as bytes (no PDF; see :func:`derive.cli.build`).

    derivation.tex is among them when either the .tex or the PDF is asked for; the caller
    drops it after compiling when only the PDF is wanted. ``tex_ready`` is called with it
    as soon as it is rendered, before the other files, so that TeX can run meanwhile.
    """
    files: dict[str, bytes] = {}
    trainer = render.render(d, options.style)  # the documents show its lines beside the equations
    if options.tex or options.pdf:
        tex = document.render(d, options.example, options.notation, trainer)
        if tex_ready is not None:
            tex_ready(tex)
        files["derivation.tex"] = tex.encode()
    files["formulas.json"] = formulas.render(d, options.notation).encode()
    files["trainer.py"] = trainer.encode()
    if options.html:
        files["derivation.html"] = page.render(d, options.notation, options.example, trainer).encode()
    return files
