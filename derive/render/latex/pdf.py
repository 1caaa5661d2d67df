"""Compile derivation.tex to PDF with latexmk/pdflatex, reproducibly and without shell escape."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

#: The Debian packages that provide everything the document uses.
TEX_PACKAGES = (
    "texlive-latex-base texlive-latex-recommended texlive-pictures texlive-fonts-recommended latexmk poppler-utils"
)
#: Fixed creation date (2024-01-01) so the same .tex gives the same PDF bytes.
SOURCE_DATE_EPOCH = "1704067200"
TIMEOUT_S = 300


class TeXMissing(RuntimeError):
    """latexmk or pdflatex is not installed."""


class TeXError(RuntimeError):
    """TeX stopped; the message is the first error of the log."""


def available() -> bool:
    return shutil.which("latexmk") is not None and shutil.which("pdflatex") is not None


def first_error(log: str) -> str:
    """The first ``! ...`` error of a TeX log, with the line it refers to.

    >>> first_error("x\\n! Undefined control sequence.\\nl.12 \\\\foo\\n")
    '! Undefined control sequence. (derivation.tex l.12 \\\\foo)'
    """
    lines = log.splitlines()
    for n, line in enumerate(lines):
        if line.startswith("!"):
            where = next((m for m in lines[n + 1 : n + 20] if re.match(r"l\.[0-9]+", m)), "")
            return f"{line.strip()} (derivation.tex {where.strip()})" if where else line.strip()
    return "TeX failed without an error line in the log"


def compile_pdf(tex: str, keep_log: Path | None = None) -> bytes:
    """PDF bytes of a LaTeX source.

    Raises:
        TeXMissing: no TeX installation.
        TeXError: TeX reported an error (message: the first error line).
    """
    if not available():
        raise TeXMissing(f"TeX is missing: run 'sudo apt-get install --no-install-recommends {TEX_PACKAGES}'")
    with tempfile.TemporaryDirectory(prefix="backprop-derive-tex.") as work:
        src = Path(work) / "derivation.tex"
        src.write_text(tex, encoding="utf-8")
        env = dict(os.environ, SOURCE_DATE_EPOCH=SOURCE_DATE_EPOCH, FORCE_SOURCE_DATE="1", openin_any="p")
        cmd = [
            "latexmk",
            "-pdf",
            "-interaction=nonstopmode",
            "-halt-on-error",
            "-no-shell-escape",
            "-quiet",
            "derivation.tex",
        ]
        try:
            subprocess.run(cmd, cwd=work, env=env, capture_output=True, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise TeXError(f"TeX did not finish within {TIMEOUT_S} s") from None
        log_path = Path(work) / "derivation.log"
        log = log_path.read_text(encoding="latin-1") if log_path.exists() else ""
        if keep_log is not None:
            keep_log.write_text(log, encoding="latin-1")
        pdf = Path(work) / "derivation.pdf"
        if "\n!" in "\n" + log or not pdf.exists():
            raise TeXError(first_error(log))
        return pdf.read_bytes()
