"""Write a set of output files all at once, or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from derive.spec import SpecError


def check_target(out: Path) -> None:
    """Refuse an OUT that cannot become a directory of ours (raises SpecError)."""
    if out.exists() and not out.is_dir():
        raise SpecError(f"OUT {str(out)!r} exists and is not a directory")
    parent = out.parent if not out.exists() else out
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise SpecError(f"OUT {str(out)!r} is not writable (no write permission on {str(probe)!r})")


def write_all(out: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` into a temporary directory beside ``out`` and rename it into place.

    An existing ``out`` is replaced only after every file has been written, so
    a failure half-way leaves the old directory (or nothing) behind.
    """
    check_target(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as e:  # permissions say yes but the file system says no (read-only, /proc, ...)
        raise SpecError(f"OUT {str(out)!r} cannot be created: {e.strerror}") from None
    try:
        for rel, data in sorted(files.items()):
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        os.chmod(tmp, 0o755)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.rename(out, old / out.name)
            os.rename(tmp, out)
            shutil.rmtree(old)
        else:
            os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
