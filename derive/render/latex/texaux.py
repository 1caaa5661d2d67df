"""The files pdflatex reads back (.aux, .toc, .out) at the end of the last compile of the same document.

A LaTeX user who compiles twice in one folder starts the second time with the .aux of
the first; this does the same through the per-user cache. The first run then already
sees what the second would see, and when its read-back files come out unchanged it was
the last: the state the runs from scratch end in, so the PDF is the same. The record is
keyed by the exact document and format, and holds the size and time of every file TeX
read, so a changed document, package, font or format finds nothing.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
from pathlib import Path

from derive import cache
from derive.render.latex import texformat

VERSION = "1"
#: Documents whose files are kept (each a few kilobytes).
KEEP = 32
_NAME = re.compile(r"derivation\.[a-z]{1,8}")


def _path(tex: str, fmt: texformat.Format) -> Path | None:
    folder = cache.folder("tex-aux")
    if folder is None:
        return None
    key = hashlib.sha256("\0".join([VERSION, fmt.key, tex]).encode()).hexdigest()[:32]
    return folder / f"{key}.json"


def load(tex: str, fmt: texformat.Format) -> dict[str, bytes]:
    """The read-back files of the last compile of ``tex`` with ``fmt``; empty when there is none or it is stale."""
    path = _path(tex, fmt)
    if path is None:
        return {}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        for name, size, mtime in record["inputs"]:
            st = os.stat(name)
            if (st.st_size, st.st_mtime_ns) != (size, mtime):
                return {}
        files = {name: base64.b64decode(data) for name, data in record["files"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return files if all(_NAME.fullmatch(name) for name in files) else {}


def save(tex: str, fmt: texformat.Format, files: dict[str, bytes], recorded: Path, work: str) -> None:
    """Remember ``files``, the read-back state a compile ended in; ``recorded`` is its -recorder list."""
    path = _path(tex, fmt)
    if path is None or not all(_NAME.fullmatch(name) for name in files):
        return
    with contextlib.suppress(OSError, ValueError):
        inputs = []
        lines = recorded.read_text(encoding="utf-8", errors="replace").splitlines()
        for name in sorted({line[6:] for line in lines if line.startswith("INPUT /")}):
            if not name.startswith(work + os.sep):
                st = os.stat(name)
                inputs.append([name, st.st_size, st.st_mtime_ns])
        record = {"inputs": inputs, "files": {n: base64.b64encode(d).decode() for n, d in sorted(files.items())}}
        texformat.place(path, lambda p: p.write_text(json.dumps(record), encoding="utf-8"))
        records = sorted(path.parent.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in records[KEEP:]:
            old.unlink(missing_ok=True)
