"""Compile derivation.tex to PDF with pdflatex, reproducibly and without shell escape."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from derive.render.latex import texaux, texformat, texrun
from derive.render.latex.texrun import TeXError, TeXTimeout, environment, workdir

#: The Debian packages that provide everything the document uses.
TEX_PACKAGES = "texlive-latex-base texlive-latex-recommended texlive-pictures texlive-fonts-recommended poppler-utils"
TIMEOUT_S = 300
#: pdflatex runs at most this often, as latexmk does, when the .aux files keep changing.
MAX_RUNS = 5
#: The files a run writes that are not read back by the next run.
_NOT_READ = {"derivation.tex", "derivation.log", "derivation.pdf", "derivation.fls"}


class TeXMissing(RuntimeError):
    """pdflatex is not installed."""


def available() -> bool:
    return shutil.which("pdflatex") is not None


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

    With the cache on, the preamble's packages come from a precompiled format (see
    :mod:`texformat`); the bytes are the same as without it. Anything wrong with a format
    makes this compile without it.

    Raises:
        TeXMissing: no TeX installation.
        TeXError: TeX reported an error (message: the first error line).
    """
    if not available():
        raise TeXMissing(f"TeX is missing: run 'sudo apt-get install --no-install-recommends {TEX_PACKAGES}'")
    deadline = time.monotonic() + TIMEOUT_S
    fmt = texformat.cached(tex)
    if fmt is not None:
        try:
            return _compile(tex, keep_log, fmt, deadline, remember=True)
        except TeXTimeout:
            raise
        except TeXError:
            pass  # the document's own error (the plain compile reports it again) or a broken format
    data = _compile(tex, keep_log, None, deadline)
    if fmt is not None and fmt.path.is_file():  # (a format removed meanwhile by another build is no fault of it)
        texformat.reject(fmt.key)  # the plain compile worked where the format failed
    elif texformat.wanted(tex):
        _make_format(tex, data, deadline)
    return data


class Background:
    """:func:`compile_pdf` in a thread of its own, so that other files are rendered while TeX runs.

    Use it as a context manager: leaving the block by an exception (Ctrl-C, SIGTERM, a
    failing renderer) kills TeX and waits until its temporary folder is removed.
    SIGTERM and SIGINT stay with the main thread.
    """

    def __init__(self) -> None:
        self._processes = texrun.Processes()
        self._thread: threading.Thread | None = None
        self._outcome: tuple[bytes | None, BaseException | None] = (None, None)

    def start(self, tex: str) -> None:
        self._thread = threading.Thread(target=self._work, args=(tex,), name="pdflatex")
        self._thread.start()

    def _work(self, tex: str) -> None:
        if threading.current_thread() is not threading.main_thread():
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        try:
            with texrun.owned_by(self._processes):
                self._outcome = (compile_pdf(tex), None)
        except BaseException as e:  # handed to the thread that asks for the result
            self._outcome = (None, e)

    def result(self) -> bytes:
        """The PDF bytes (waits for TeX); raises what :func:`compile_pdf` raised."""
        if self._thread is None:
            raise RuntimeError("no PDF was started")
        self._thread.join()
        data, error = self._outcome
        if error is not None:
            raise error
        assert data is not None
        return data

    def __enter__(self) -> Background:
        return self

    def __exit__(self, kind, value, tb) -> None:
        if self._thread is None:
            return
        with texrun.signals_held():
            if kind is not None:
                self._processes.cancel()
            self._thread.join()


def _make_format(tex: str, expected: bytes, deadline: float) -> None:
    """Build the format of ``tex``'s preamble; keep it if compiling with it gives exactly ``expected``."""
    try:
        with workdir() as work:
            fmt = texformat.build(tex, work, lambda cmd: _run_tex(cmd, work, environment(), deadline))
            if fmt is None:
                key = texformat.preamble_key(tex)
                if key:
                    texformat.reject(key)
                return
            try:
                same = _compile(tex, None, fmt, deadline) == expected
            except TeXTimeout:
                return  # a slow machine, not a broken format: try again next time
            except TeXError:
                same = False
            if same:
                texformat.keep(fmt)
            else:
                texformat.reject(fmt.key)
    except (TeXTimeout, OSError):
        pass  # the PDF is made; only the speed-up is missing


def _compile(
    tex: str, keep_log: Path | None, fmt: texformat.Format | None, deadline: float, remember: bool = False
) -> bytes:
    """Run pdflatex until the files it reads back stop changing (at most MAX_RUNS times); the PDF bytes.

    With a format, the read-back files of the last compile of the same document are put in
    place first (see :mod:`texaux`), and with ``remember`` the final ones are kept for the next.
    """
    with workdir() as work:
        folder = Path(work)
        (folder / "derivation.tex").write_text(tex if fmt is None else texformat.job_source(tex, fmt), encoding="utf-8")
        cmd = ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "derivation.tex"]
        if fmt is not None:
            cmd[1:1] = [f"-fmt={fmt.path}", "-recorder"]
            for name, data in texaux.load(tex, fmt).items():
                (folder / name).write_bytes(data)
        env = environment()
        state, stable = _read_back(folder), False
        for _ in range(MAX_RUNS):
            returncode = _run_tex(cmd, work, env, deadline)
            log_path = folder / "derivation.log"
            log = log_path.read_text(encoding="latin-1") if log_path.exists() else ""
            error = first_error(log)
            if error or returncode != 0:
                break
            state, previous = _read_back(folder), state
            if state == previous:
                stable = True
                break
        if keep_log is not None:
            keep_log.write_text(log, encoding="latin-1")
        pdf = folder / "derivation.pdf"
        if error or returncode != 0 or not pdf.exists():
            raise TeXError(error or f"pdflatex exited with status {returncode} and no error line in the log")
        data = pdf.read_bytes()
        check_readable(data, pdf)
        if stable and remember and fmt is not None:
            texaux.save(tex, fmt, state, folder / "derivation.fls", work)
        return data


def _read_back(folder: Path) -> dict[str, bytes]:
    """The files a run leaves for the next one (.aux, .toc, .out, ...): when they change, TeX runs again."""
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.name not in _NOT_READ and p.is_file()}


def _run_tex(cmd: list[str], work: str, env: dict[str, str], deadline: float) -> int:
    """Run one TeX command in ``work``; its exit status (see :func:`texrun.run`)."""
    try:
        return texrun.run(cmd, work, env, deadline - time.monotonic())
    except TeXTimeout:
        raise TeXTimeout(f"TeX did not finish within {TIMEOUT_S} s") from None


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
