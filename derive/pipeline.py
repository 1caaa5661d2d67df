"""Stage 4: from a spec to the files of ``generated/<name>/``.

Each renderer reads the verified Derivation and returns file contents; this
module only chains them and hands the result to :mod:`derive.output`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from derive.core.model import Derivation
from derive.core.symbolic import derive
from derive.prove.verify import verify
from derive.render import formulas, notations
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


def render_files(d: Derivation, options: BuildOptions) -> dict[str, bytes]:
    """Every output file of one build, as bytes (no PDF; see :func:`derive.cli.build`)."""
    files = {"formulas.json": formulas.render(d, options.notation).encode()}
    files["trainer.py"] = render.render(d, options.style).encode()
    files["derivation.tex"] = document.render(d, options.example, options.notation).encode()
    return files
