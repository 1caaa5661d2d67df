"""Success means a readable PDF: pdflatex's status, errors anywhere in the log, the PDF checked by poppler."""

from __future__ import annotations

import pytest

from derive.render.latex import pdf

MINIMAL = "\\documentclass{article}\n\\begin{document}\n%s\n\\end{document}\n"


def test_a_line_too_long_for_tex_is_an_error_not_a_pdf():
    """TeX stops with 'Unable to read an entire line'; the PDF it leaves must not be reported as written."""
    with pytest.raises(pdf.TeXError, match="Unable to read an entire line|TeX capacity|pdflatex"):
        pdf.compile_pdf(MINIMAL % ("x" * 250_000))


def test_a_good_document_compiles_and_is_readable():
    data = pdf.compile_pdf(MINIMAL % "Hello.")
    assert data.startswith(b"%PDF-")


def test_pdflatex_failing_without_an_error_line_is_an_error(monkeypatch):
    real = pdf._run_tex

    def failing(*a, **k):
        real(*a, **k)  # TeX runs and writes a good PDF, but its exit status says it failed
        return 12

    monkeypatch.setattr(pdf, "_run_tex", failing)
    with pytest.raises(pdf.TeXError, match="status 12"):
        pdf.compile_pdf(MINIMAL % "Hello.")


@pytest.mark.parametrize("cut", [0.5, 0.95])
def test_a_truncated_pdf_is_refused(tmp_path, cut):
    data = pdf.compile_pdf(MINIMAL % "Hello.")
    broken = data[: int(len(data) * cut)]
    path = tmp_path / "d.pdf"
    path.write_bytes(broken)
    with pytest.raises(pdf.TeXError):
        pdf.check_readable(broken, path)


def test_a_pdf_pdfinfo_cannot_read_is_refused(tmp_path):
    """Intact end markers around a corrupt body: only poppler notices."""
    data = pdf.compile_pdf(MINIMAL % "Hello.")
    start = data.index(b"startxref")
    broken = data[:start] + b"startxref\n999999\n%%EOF\n"
    path = tmp_path / "d.pdf"
    path.write_bytes(broken)
    with pytest.raises(pdf.TeXError, match="not readable"):
        pdf.check_readable(broken, path)


def test_an_error_in_the_middle_of_a_log_line_is_found():
    log = "(./derivation.tex! Unable to read an entire line---bufsize=200000.\nPlease increase buf_size\n"
    assert pdf.first_error(log).startswith("! Unable to read an entire line")
    assert pdf.first_error("Overfull \\hbox: Wow! Great stuff\n") is None
