"""Stage 4: from a spec to the files of ``generated/<name>/``.

Each renderer reads the verified Derivation and returns file contents; this
module only chains them and hands the result to :mod:`derive.output`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from derive import render_json, render_latex, render_trainer
from derive.model import Derivation
from derive.spec import NetworkSpec
from derive.symbolic import derive
from derive.verify import verify


@dataclass(frozen=True)
class BuildOptions:
    """Options that shape the outputs but not the mathematics."""

    style: str | None = None  # trainer code style; None chooses by size
    example: Path | None = None  # worked-example JSON file
    pdf: bool = True


def derivation(spec: NetworkSpec) -> Derivation:
    """Derive and prove (the part every output shares)."""
    return verify(derive(spec))


def render_files(d: Derivation, options: BuildOptions) -> dict[str, bytes]:
    """Every output file of one build, as bytes (no PDF; see :func:`derive.cli.build`)."""
    files = {"formulas.json": render_json.render(d).encode()}
    files["trainer.py"] = render_trainer.render(d, options.style).encode()
    files["derivation.tex"] = render_latex.render(d, options.example).encode()
    return files
