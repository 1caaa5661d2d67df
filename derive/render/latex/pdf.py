"""Compile derivation.tex to PDF with latexmk/pdflatex, reproducibly and without shell escape."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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


#: A TeX error line: "! " and a capital, at the start of a line or after other output on it
#: ("...)! Unable to read an entire line---bufsize=200000.").
#: Mid-line, only TeX's own messages count, so that a user's "Wow! Great" echoed in a box warning does not.
_ERROR = re.compile(
    r"^(! [^\n]*)|(! (?:Unable to read|TeX capacity exceeded|Emergency stop|LaTeX Error|Package \S+ Error|"
    r"Undefined control sequence|Missing |Extra |Illegal |Paragraph ended|File ended|I can't)[^\n]*)",
    re.MULTILINE,
)


def first_error(log: str) -> str | None:
    """The first ``! ...`` error of a TeX log, with the line it refers to; None when there is none.

    >>> first_error("x\\n! Undefined control sequence.\\nl.12 \\\\foo\\n")
    '! Undefined control sequence. (derivation.tex l.12 \\\\foo)'
    >>> first_error("(./derivation.tex! Unable to read an entire line---bufsize=200000.")
    '! Unable to read an entire line---bufsize=200000.'
    >>> first_error("no errors here!") is None
    True
    """
    m = _ERROR.search(log)
    if m is None:
        return None
    error = (m.group(1) or m.group(2)).strip()[:200]
    after = log[m.end() :].splitlines()[:20]
    where = next((line for line in after if re.match(r"l\.[0-9]+", line)), "")
    return f"{error} (derivation.tex {where.strip()[:80]})" if where else error


def compile_pdf(tex: str, keep_log: Path | None = None) -> bytes:
    """PDF bytes of a LaTeX source.

    Raises:
        TeXMissing: no TeX installation.
        TeXError: TeX reported an error (message: the first error line).
    """
    if not available():
        raise TeXMissing(f"TeX is missing: run 'sudo apt-get install --no-install-recommends {TEX_PACKAGES}'")
    with _workdir() as work:
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
        returncode = _run_tex(cmd, work, env)
        log_path = Path(work) / "derivation.log"
        log = log_path.read_text(encoding="latin-1") if log_path.exists() else ""
        if keep_log is not None:
            keep_log.write_text(log, encoding="latin-1")
        pdf = Path(work) / "derivation.pdf"
        error = first_error(log)
        if error or returncode != 0 or not pdf.exists():
            raise TeXError(error or f"latexmk exited with status {returncode} and no error line in the log")
        data = pdf.read_bytes()
        check_readable(data, pdf)
        return data


@contextmanager
def _workdir() -> Iterator[str]:
    """A temporary folder for TeX, created and removed with SIGTERM and SIGINT held back.

    A signal that arrives meanwhile is delivered right after, so the folder is never
    left half created or half removed by the exception the signal raises.
    """
    with _signals_held():
        work = tempfile.mkdtemp(prefix="backprop-derive-tex.")
    try:
        yield work
    finally:
        with _signals_held():
            shutil.rmtree(work, ignore_errors=True)


@contextmanager
def _signals_held() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _run_tex(cmd: list[str], work: str, env: dict[str, str]) -> int:
    """Run latexmk in ``work`` in a process group of its own; its exit status.

    latexmk starts pdflatex as a child of its own. On a timeout, Ctrl-C or SIGTERM the
    whole group is killed and waited for before the caller removes ``work``: a pdflatex
    left running would write into the folder while it is being deleted and leave it behind.
    """
    proc = subprocess.Popen(
        cmd,
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        return proc.wait(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise TeXError(f"TeX did not finish within {TIMEOUT_S} s") from None
    except BaseException:
        _kill_group(proc)
        raise


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:  # already gone
        pass
    proc.wait()


def check_readable(data: bytes, path: Path) -> None:
    """Raise TeXError unless ``data`` is a complete PDF (ends with %%EOF; poppler's pdfinfo reads it)."""
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-1024:] or b"startxref" not in data[-1024:]:
        raise TeXError("TeX wrote an incomplete PDF (no end-of-file marker)")
    if shutil.which("pdfinfo") is None:
        return
    try:
        info = subprocess.run(
            ["pdfinfo", str(path)], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise TeXError("pdfinfo did not finish reading the PDF within 60 s") from None
    problem = next((line for line in info.stderr.splitlines() if "error" in line.lower()), "")
    if info.returncode != 0 or problem:
        raise TeXError(f"the PDF TeX wrote is not readable: {problem[:120] or 'pdfinfo failed'}")
