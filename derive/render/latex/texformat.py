"""A precompiled pdfTeX format of a document's package preamble, kept in the per-user cache.

Loading TikZ, pgfplots, amsmath, hyperref, ... takes most of a pdflatex run on a short
document. The *fixed preamble* (the lines from ``\\documentclass`` to the last
``\\usepackage`` line) is run once by ``pdflatex -ini`` and saved with ``\\dump``; later
runs load that format and read the document with those lines commented out, so line
numbers, file name and everything after them stay as they are.

A format cannot hold everything a preamble does. What is known to be lost is put back:
lines of pdfTeX settings (``\\pdftrailerid{}``, ...) are kept in the document, and the
whatsits the packages leave on the main vertical list (xcolor's colour push, geometry's
empty ``\\write``) are replayed. Anything else lost makes the format unusable; and a
new format is only kept after a compile with it gave the same PDF bytes as the plain
compile, so the cache never changes an output.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from derive import cache
from derive.render.latex.texrun import signals_held

#: Bumped whenever the way formats are built or used changes (old ones are then ignored).
VERSION = "1"
#: Formats kept in the cache (each is a few megabytes).
KEEP = 6
#: One complete package line: ``\\usepackage[options]{names}``.
_PACKAGE_LINE = re.compile(r"\\(?:usepackage|RequirePackage)(?:\[[^\]\n]*\])?\{[^}\n]*\}[ \t]*(?:%.*)?")
#: The pdfTeX settings a format does not keep; such preamble lines are run again.
_KEPT_LINE = re.compile(r"\\pdf[a-z]+")
_SETUP = r"""\csname @@input\endcsname derivation.tex
\showboxdepth=1000 \showboxbreadth=1000
\message{BPD-LISTS}\showlists
\message{BPD-STACKS[\pdfcolorstackinit page{}]}
\dump
"""
#: What \showlists may show on the main vertical list at the end of the preamble, and how to replay it.
_REPLAY = (
    (re.compile(r"\\write-\{\}"), lambda m: r"\write-1{}"),
    (
        re.compile(r"\\pdfcolorstack ([0-9]+) push \{([0-9. A-Za-z]*)\}"),
        lambda m: rf"\pdfcolorstack{m[1]} push{{{m[2]}}}",
    ),
)
_LIST_FRAME = re.compile(
    r"|### (?:vertical mode entered at line 0|current page:.*|recent contributions:)"
    r"|prevdepth .*|total height .*| goal height .*"
)


@dataclass(frozen=True)
class Format:
    path: Path  # the .fmt file
    key: str
    lines: int  # the preamble lines it holds
    replay: str  # TeX put on the last of those lines: what the format could not hold


def preamble_lines(tex: str) -> int | None:
    """How many lines of ``tex`` a format can hold; None when a format would not help.

    >>> preamble_lines("\\\\documentclass{article}\\n\\\\usepackage{tikz}\\n\\\\title{x}\\n\\\\begin{document}\\n")
    2
    >>> preamble_lines("\\\\documentclass{article}\\n\\\\begin{document}\\n") is None
    True
    """
    if not tex.startswith("\\documentclass"):
        return None
    end = None
    for i, line in enumerate(tex.split("\n")):
        if line.startswith("\\begin{document}"):
            return end
        if _PACKAGE_LINE.fullmatch(line):
            end = i + 1
        elif line.lstrip().startswith(("\\usepackage", "\\RequirePackage")):
            end = None  # a package line spread over several lines: no safe place to cut before it
    return None


def _key(prefix: str) -> str | None:
    engine = shutil.which("pdflatex")
    if engine is None:
        return None
    real = os.path.realpath(engine)
    st = os.stat(real)
    text = "\0".join([VERSION, real, str(st.st_size), str(st.st_mtime_ns), prefix])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _prefix(tex: str) -> tuple[str, int] | None:
    n = preamble_lines(tex)
    if n is None:
        return None
    return "\n".join(tex.split("\n")[:n]) + "\n", n


def preamble_key(tex: str) -> str | None:
    """The cache key of ``tex``'s preamble (None when it has none a format could hold)."""
    found = _prefix(tex)
    return _key(found[0]) if found else None


def cached(tex: str) -> Format | None:
    """The cached format for ``tex``'s preamble, when there is one and the TeX files it read are unchanged."""
    folder = cache.folder("tex")
    found = _prefix(tex)
    if folder is None or found is None:
        return None
    key = _key(found[0])
    if key is None:
        return None
    try:
        meta = json.loads((folder / f"{key}.json").read_text(encoding="utf-8"))
        for path, size, mtime in meta["inputs"]:
            st = os.stat(path)
            if (st.st_size, st.st_mtime_ns) != (size, mtime):
                return None
        fmt = Format(folder / f"{key}.fmt", key, found[1], meta["replay"])
        return fmt if fmt.path.is_file() else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def wanted(tex: str) -> bool:
    """Whether to build a format for ``tex``: the cache is on, the preamble has packages, and no earlier try failed."""
    folder = cache.folder("tex")
    found = _prefix(tex)
    if folder is None or found is None:
        return False
    key = _key(found[0])
    return key is not None and not (folder / f"{key}.bad").exists()


def job_source(tex: str, fmt: Format) -> str:
    """``tex`` as it is run with ``fmt``: the preamble lines commented out, pdfTeX settings kept, the replay added."""
    lines = tex.split("\n")
    for i in range(fmt.lines):
        if not _KEPT_LINE.match(lines[i]):
            lines[i] = "%"
    lines[fmt.lines - 1] = fmt.replay + "%"
    return "\n".join(lines)


def build(tex: str, work: str, run: Callable[[list[str]], int]) -> Format | None:
    """Dump the format of ``tex``'s preamble in ``work``; None when it cannot be made faithfully."""
    found = _prefix(tex)
    key = _key(found[0]) if found else None
    if found is None or key is None:
        return None
    folder = Path(work)
    (folder / "derivation.tex").write_text(found[0], encoding="utf-8")
    (folder / "bpdsetup.tex").write_text(_SETUP, encoding="utf-8")
    before = set(os.listdir(work))
    run(
        ["pdflatex", "-ini", "-interaction=nonstopmode", "-no-shell-escape", "-recorder", "-jobname=derivation"]
        + ["&pdflatex", "bpdsetup.tex"]
    )
    made = set(os.listdir(work)) - before
    log_path = folder / "derivation.log"
    if made != {"derivation.fmt", "derivation.log", "derivation.fls"}:
        return None  # no format, or the preamble wrote files of its own
    replay = _replay(log_path.read_text(encoding="latin-1"))
    if replay is None:
        return None
    return Format(folder / "derivation.fmt", key, found[1], replay)


def _replay(log: str) -> str | None:
    """The TeX that replays the main vertical list shown in the log; None if it holds anything else."""
    if re.search(r"^! (?!OK\.)", log, re.M) or "BPD-STACKS[1]" not in log:
        return None  # an error, or the preamble made a colour stack (a format does not keep them)
    shown = log.split("BPD-LISTS", 1)[-1].split("! OK.", 1)[0].splitlines()
    replay = []
    for line in shown:
        for pattern, make in _REPLAY:
            m = pattern.fullmatch(line)
            if m:
                replay.append(make(m))
                break
        else:
            if not _LIST_FRAME.fullmatch(line):
                return None
    return "".join(replay)


def _inputs(fls: Path) -> list[list]:
    """Size and time of every TeX file the format was made from (a package update makes it stale)."""
    paths = {
        line[6:]
        for line in fls.read_text(encoding="utf-8", errors="replace").splitlines()
        if line.startswith("INPUT /")
    }
    out = []
    for path in sorted(paths):
        st = os.stat(path)
        out.append([path, st.st_size, st.st_mtime_ns])
    return out


def keep(fmt: Format) -> None:
    """Put a format built (and checked) in a work folder into the cache; a failure only costs speed."""
    folder = cache.folder("tex")
    if folder is None:
        return
    meta = {"inputs": _inputs(fmt.path.with_suffix(".fls")), "replay": fmt.replay}
    with contextlib.suppress(OSError):
        place(folder / f"{fmt.key}.fmt", lambda p: shutil.copyfile(fmt.path, p))
        # the .json last: it says that the .fmt beside it is complete
        place(folder / f"{fmt.key}.json", lambda p: p.write_text(json.dumps(meta), encoding="utf-8"))
    _prune(folder)


def place(target: Path, write: Callable[[Path], object]) -> None:
    """Write ``target`` under a temporary name and rename it: a reader sees the whole file or none."""
    with signals_held():  # a signal meanwhile must not leave a temporary file in the cache
        fd, name = tempfile.mkstemp(prefix=".tmp.", dir=target.parent)
        os.close(fd)
        try:
            write(Path(name))
            os.replace(name, target)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise


def reject(key: str) -> None:
    """Remember that the format of this preamble changes the output (or cannot be made): no more tries."""
    folder = cache.folder("tex")
    if folder is None:
        return
    with contextlib.suppress(OSError):
        (folder / f"{key}.bad").touch()
        for suffix in (".json", ".fmt"):
            (folder / f"{key}{suffix}").unlink(missing_ok=True)


def _prune(folder: Path) -> None:
    with contextlib.suppress(OSError):
        metas = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in metas[KEEP:]:
            old.unlink(missing_ok=True)
            old.with_suffix(".fmt").unlink(missing_ok=True)
