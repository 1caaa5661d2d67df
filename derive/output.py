"""Write a set of output files all at once, or not at all.

The rule for OUT: the directory belongs to backprop-derive. A build creates it,
or replaces it whole, and only when everything already in it is a file that a
build writes (:data:`OWN_FILES`). Anything else in it (a user's file, a
subdirectory, a link) makes the build refuse with one line before any work is
done, so a build never deletes what it did not write. An OUT that is a symbolic
link keeps the link: the directory it points to is replaced.

The replacement is a temporary directory beside OUT, filled completely, then
swapped in by two renames under a lock on the parent directory (two builds on
one OUT take turns). If the second rename fails the first is undone, so after
any failure OUT holds the complete previous output or the complete new one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from derive.spec import SpecError

#: Every file name a build may write into OUT.
OWN_FILES = frozenset({"derivation.tex", "derivation.pdf", "derivation.html", "trainer.py", "formulas.json"})
#: Temporary siblings of OUT start with this (short, so a long OUT name still fits).
TEMP_PREFIX = ".backprop-derive."
NAME_MAX = 255
PATH_MAX = 4000


def _shown(out: Path | str) -> str:
    text = str(out)
    return repr(text if len(text) <= 60 else text[:60] + "...")


def resolve(out: Path) -> Path:
    """The directory a build will replace: absolute, with a symbolic link at OUT followed."""
    text = str(out)
    if len(os.fsencode(text)) > PATH_MAX:
        raise SpecError(f"OUT {_shown(out)} is longer than {PATH_MAX} bytes")
    for part in Path(text).parts:
        if len(os.fsencode(part)) > NAME_MAX:
            raise SpecError(f"OUT {_shown(out)} has a name longer than {NAME_MAX} bytes")
    absolute = Path(os.path.abspath(text))
    if os.path.islink(absolute):
        target = Path(os.path.realpath(absolute))
        if not target.is_dir():
            raise SpecError(f"OUT {_shown(out)} is a symbolic link to {_shown(target)}, which is not a directory")
        absolute = target
    else:
        absolute = Path(os.path.realpath(absolute.parent)) / absolute.name
    cwd = Path(os.path.realpath(os.getcwd()))
    if absolute == absolute.parent or absolute == cwd or absolute in cwd.parents:
        raise SpecError(f"OUT {_shown(out)} is the current directory or contains it; name a directory inside it")
    return absolute


def foreign_entries(out: Path, also: Iterable[str] = ()) -> list[str]:
    """Names in ``out`` that a build did not write (a subdirectory or link counts as foreign)."""
    own = OWN_FILES | set(also)
    try:
        entries = list(os.scandir(out))
    except OSError as e:
        raise SpecError(f"OUT {_shown(out)} cannot be read: {e.strerror}") from None
    return sorted(e.name for e in entries if e.name not in own or not e.is_file(follow_symlinks=False))


def check_target(out: Path, also: Iterable[str] = ()) -> Path:
    """Refuse an OUT that cannot become a directory of ours (raises SpecError); return its resolved path."""
    real = resolve(out)
    if real.exists() or real.is_symlink():
        if not real.is_dir() or real.is_symlink():
            raise SpecError(f"OUT {_shown(out)} exists and is not a directory")
        foreign = foreign_entries(real, also)
        if foreign:
            listed = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
            raise SpecError(
                f"OUT {_shown(out)} holds files backprop-derive did not write ({listed}); "
                "move them away or choose another OUT"
            )
    probe = real.parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise SpecError(f"OUT {_shown(out)} is not writable (no write permission on {_shown(probe)})")
    return real


def _make_parents(parent: Path) -> list[Path]:
    """Create the missing ancestors of OUT; return the ones created (deepest last)."""
    missing = []
    probe = parent
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for path in reversed(missing):
        os.mkdir(path)
    return list(reversed(missing))


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` (two builds beside each other take turns)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _error(out: Path, e: OSError) -> SpecError:
    reason = e.strerror or errno.errorcode.get(e.errno or 0, type(e).__name__)
    return SpecError(f"OUT {_shown(out)} could not be written: {reason}; it is unchanged")


def write_all(out: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` into a temporary directory beside ``out`` and swap it into place.

    Raises:
        SpecError: OUT is not ours, or the file system refused (one line; OUT unchanged).
    """
    real = check_target(out, files)
    created: list[Path] = []
    tmp: Path | None = None
    try:
        created = _make_parents(real.parent)
        tmp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=real.parent))
        for rel, data in sorted(files.items()):
            (tmp / rel).write_bytes(data)
        os.chmod(tmp, 0o755)
        with _locked(real.parent):
            check_target(out, files)  # another build may have changed OUT meanwhile
            _swap(tmp, real)
        tmp = None
    except OSError as e:
        raise _error(out, e) from None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
            for path in reversed(created):
                with contextlib.suppress(OSError):
                    os.rmdir(path)


def _swap(tmp: Path, real: Path) -> None:
    """Put ``tmp`` at ``real``; an existing ``real`` is kept until the new one is in place."""
    if not real.exists():
        os.rename(tmp, real)
        return
    old = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=real.parent))
    try:
        os.rename(real, old / "previous")
    except BaseException:
        os.rmdir(old)
        raise
    try:
        os.rename(tmp, real)
    except BaseException:
        os.rename(old / "previous", real)  # undo: the previous output is back whole
        os.rmdir(old)
        raise
    shutil.rmtree(old, ignore_errors=True)
