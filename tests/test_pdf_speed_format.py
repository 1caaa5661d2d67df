"""The cached preamble format: the same PDF bytes as without the cache, and a real speed-up (the packages are not read).

Every test uses a cache folder of its own (BACKPROP_DERIVE_CACHE), never the user's.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from derive.pipeline import derivation
from derive.render.latex import document, pdf, texformat
from derive.spec import make_spec

ROOT = Path(__file__).parent.parent
#: A line that only the plain compile's log has: TikZ read from its package file.
TIKZ_READ = re.compile(r"\(/[^()\s]*/tikz\.sty")


@pytest.fixture(scope="module")
def tex_232() -> str:
    return document.render(derivation(make_spec("2-3-2")))


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory, tex_232):
    """A cache folder holding the format of the document's preamble, made by one ordinary compile."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BACKPROP_DERIVE_CACHE", str(folder))
        first = pdf.compile_pdf(tex_232)
        assert texformat.cached(tex_232) is not None, "the first compile did not keep a format"
    return folder, first


def test_a_compile_with_the_cached_format_gives_the_bytes_of_a_compile_without_cache(
    warm_cache, tex_232, tmp_path, monkeypatch
):
    folder, first = warm_cache
    monkeypatch.setenv("BACKPROP_DERIVE_CACHE", "")
    assert texformat.cached(tex_232) is None
    plain_log = tmp_path / "plain.log"
    plain = pdf.compile_pdf(tex_232, keep_log=plain_log)
    monkeypatch.setenv("BACKPROP_DERIVE_CACHE", str(folder))
    fast_log = tmp_path / "fast.log"
    fast = pdf.compile_pdf(tex_232, keep_log=fast_log)
    assert fast == plain == first
    assert TIKZ_READ.search(plain_log.read_text(encoding="latin-1"))
    assert not TIKZ_READ.search(fast_log.read_text(encoding="latin-1")), "the packages were read: no format used"


def test_committed_outputs_come_out_the_same_with_the_cache(warm_cache, tmp_path):
    folder, _ = warm_cache
    out = tmp_path / "o"
    env = dict(os.environ, BACKPROP_DERIVE_CACHE=str(folder))
    cmd = [sys.executable, "-m", "derive", "build", "--arch", "2-3-2", "--out", str(out)]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    committed = ROOT / "generated" / "2-3-2"
    for path in sorted(committed.iterdir()):
        assert (out / path.name).read_bytes() == path.read_bytes(), path.name


def test_an_error_in_the_body_names_the_same_line_with_the_format(warm_cache, tex_232, monkeypatch):
    folder, _ = warm_cache
    lines = tex_232.split("\n")
    at = lines.index("\\maketitle")
    lines.insert(at + 1, "\\undefinedmacro")
    bad = "\n".join(lines)
    messages = []
    for setting in ("", str(folder)):
        monkeypatch.setenv("BACKPROP_DERIVE_CACHE", setting)
        with pytest.raises(pdf.TeXError) as caught:
            pdf.compile_pdf(bad)
        messages.append(str(caught.value))
    assert messages[0] == messages[1] == f"! Undefined control sequence. (derivation.tex l.{at + 2} \\undefinedmacro)"


def test_a_damaged_format_falls_back_to_the_same_bytes(warm_cache, tex_232, tmp_path, monkeypatch):
    folder, first = warm_cache
    copy = tmp_path / "cache"
    (copy / "tex").mkdir(parents=True)
    for path in (folder / "tex").iterdir():
        data = path.read_bytes()
        (copy / "tex" / path.name).write_bytes(data[: len(data) // 2] if path.suffix == ".fmt" else data)
    monkeypatch.setenv("BACKPROP_DERIVE_CACHE", str(copy))
    assert texformat.cached(tex_232) is not None
    assert pdf.compile_pdf(tex_232) == first
    assert texformat.cached(tex_232) is None and not texformat.wanted(tex_232)  # not tried again


LOSSY = r"""\documentclass{article}
\pdfcompresslevel=0 \pdfobjcompresslevel=0
\usepackage{xcolor}
\immediate\pdfobj{(made in the preamble)}\pdfcatalog{/Lost \the\pdflastobj\space 0 R}
\usepackage{array}
\begin{document}
Hello.
\end{document}
"""


def test_a_preamble_a_format_cannot_hold_is_compiled_without_one(tmp_path, monkeypatch):
    """pdfTeX drops immediate objects and catalog entries from a format: the check against the plain PDF notices."""
    monkeypatch.setenv("BACKPROP_DERIVE_CACHE", "")
    plain = pdf.compile_pdf(LOSSY)
    assert b"made in the preamble" in plain
    monkeypatch.setenv("BACKPROP_DERIVE_CACHE", str(tmp_path))
    assert texformat.wanted(LOSSY)
    assert pdf.compile_pdf(LOSSY) == plain
    assert texformat.cached(LOSSY) is None and not texformat.wanted(LOSSY)
    assert pdf.compile_pdf(LOSSY) == plain


def test_a_stale_format_is_not_used(warm_cache, tex_232, tmp_path, monkeypatch):
    """The format records the TeX files it read; a package update (another size or time) makes it stale."""
    folder, _ = warm_cache
    copy = tmp_path / "cache"
    (copy / "tex").mkdir(parents=True)
    for path in (folder / "tex").iterdir():
        text = path.read_bytes()
        if path.suffix == ".json":
            text = re.sub(rb'(tikz\.sty", )(\d+)', lambda m: m[1] + str(int(m[2]) + 1).encode(), text)
        (copy / "tex" / path.name).write_bytes(text)
    monkeypatch.setenv("BACKPROP_DERIVE_CACHE", str(copy))
    assert texformat.cached(tex_232) is None


def test_the_preamble_split_keeps_line_numbers_and_pdftex_settings(warm_cache, tex_232, monkeypatch):
    folder, _ = warm_cache
    monkeypatch.setenv("BACKPROP_DERIVE_CACHE", str(folder))
    fmt = texformat.cached(tex_232)
    job = texformat.job_source(tex_232, fmt).split("\n")
    lines = tex_232.split("\n")
    assert len(job) == len(lines) and job[fmt.lines :] == lines[fmt.lines :]
    assert lines[fmt.lines - 1].startswith("\\usepackage") and "\\begin{document}" in lines[fmt.lines :]
    assert "\\pdftrailerid{}" in job[: fmt.lines] and not any("usepackage" in line for line in job[: fmt.lines])


def _tex_processes() -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,ppid,args"], capture_output=True, text=True).stdout
    me = str(os.getpid())
    return [line for line in out.splitlines() if "pdflatex" in line and line.split()[1] == me]


def test_leaving_a_background_compile_early_kills_tex_and_removes_its_folder(tex_232, tmp_path, monkeypatch):
    monkeypatch.setenv("BACKPROP_DERIVE_CACHE", "")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    with pytest.raises(KeyboardInterrupt):
        with pdf.Background() as job:
            job.start(tex_232)
            deadline = time.monotonic() + 60
            while not _tex_processes() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert _tex_processes(), "TeX did not start"
            raise KeyboardInterrupt
    assert not _tex_processes()
    assert list(tmp_path.iterdir()) == []
    assert [t.name for t in threading.enumerate() if t.name == "pdflatex"] == []


def test_a_second_compile_of_the_same_document_runs_tex_once_with_the_same_bytes(
    warm_cache, tex_232, tmp_path, monkeypatch
):
    """The .aux, .toc and .out of the last compile are put in place first: like a second run in a LaTeX folder."""
    folder, first = warm_cache
    copy = tmp_path / "cache"
    (copy / "tex").mkdir(parents=True)
    for path in (folder / "tex").iterdir():
        (copy / "tex" / path.name).write_bytes(path.read_bytes())
    monkeypatch.setenv("BACKPROP_DERIVE_CACHE", str(copy))
    runs = []
    real = pdf._run_tex

    def counted(cmd, *a, **k):
        runs.append(cmd)
        return real(cmd, *a, **k)

    monkeypatch.setattr(pdf, "_run_tex", counted)
    assert pdf.compile_pdf(tex_232) == first
    scratch = len(runs)
    assert scratch >= 2  # from scratch: until a run reads what the one before wrote and changes nothing
    assert pdf.compile_pdf(tex_232) == first
    assert len(runs) == scratch + 1
    other = tex_232.replace("\\begin{abstract}", "\\begin{abstract}\nOne more sentence.", 1)
    pdf.compile_pdf(other)
    assert len(runs) >= scratch + 3  # another document finds nothing to start from
    count = len(runs)
    for record in (copy / "tex-aux").iterdir():  # a changed TeX file (here: the format) makes the record stale
        record.write_text(record.read_text().replace('.fmt", ', '.fmt", 1'))
    assert pdf.compile_pdf(tex_232) == first
    assert len(runs) == count + scratch
