"""Running pdfTeX: a temporary folder, a process group per run, a time limit and cancellation.

A run that is interrupted (timeout, Ctrl-C, SIGTERM, or :meth:`Processes.cancel` from
another thread) kills pdfTeX's whole process group and waits for it before the caller
removes the folder, so that nothing writes into a folder that is being deleted.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: Fixed creation date (2024-01-01) so the same .tex gives the same PDF bytes.
SOURCE_DATE_EPOCH = "1704067200"


class TeXError(RuntimeError):
    """TeX stopped; the message is the first error of the log."""


class TeXTimeout(TeXError):
    """TeX did not finish in time (trying again would only take as long)."""


class Cancelled(BaseException):
    """The build that asked for the PDF stopped; TeX was killed."""


def environment() -> dict[str, str]:
    """The environment of every TeX run: a fixed date, and no reading of files outside the folder."""
    return dict(os.environ, SOURCE_DATE_EPOCH=SOURCE_DATE_EPOCH, FORCE_SOURCE_DATE="1", openin_any="p")


class Processes:
    """The TeX processes one compile has running, so that another thread can kill them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: set[subprocess.Popen] = set()
        self.cancelled = False

    def start(self, cmd: list[str], work: str, env: dict[str, str]) -> subprocess.Popen:
        with self._lock:
            if self.cancelled:
                raise Cancelled
            proc = subprocess.Popen(
                cmd,
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            self._live.add(proc)
        return proc

    def finished(self, proc: subprocess.Popen) -> None:
        with self._lock:
            self._live.discard(proc)

    def cancel(self) -> None:
        """Kill every running TeX process of this compile, and any it would start later."""
        with self._lock:
            self.cancelled = True
            for proc in self._live:
                _signal_group(proc)


_local = threading.local()


@contextmanager
def owned_by(processes: Processes) -> Iterator[None]:
    """Runs of the current thread register with ``processes`` (see :meth:`Processes.cancel`)."""
    _local.processes = processes
    try:
        yield
    finally:
        _local.processes = None


def run(cmd: list[str], work: str, env: dict[str, str], timeout: float) -> int:
    """Run ``cmd`` in ``work`` in a process group of its own; its exit status.

    Raises:
        TeXTimeout: it ran longer than ``timeout`` seconds (it was killed).
        Cancelled: the compile was cancelled meanwhile (it was killed).
    """
    processes = getattr(_local, "processes", None) or Processes()
    proc = processes.start(cmd, work, env)
    try:
        returncode = proc.wait(timeout=max(timeout, 0.001))
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise TeXTimeout("TeX did not finish within the time limit") from None
    except BaseException:
        _kill_group(proc)
        raise
    finally:
        processes.finished(proc)
    if processes.cancelled:
        raise Cancelled
    return returncode


def _signal_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:  # already gone
        pass


def _kill_group(proc: subprocess.Popen) -> None:
    _signal_group(proc)
    proc.wait()


@contextmanager
def workdir() -> Iterator[str]:
    """A temporary folder for TeX, created and removed with SIGTERM and SIGINT held back.

    A signal that arrives meanwhile is delivered right after, so the folder is never
    left half created or half removed by the exception the signal raises.
    """
    with signals_held():
        work = tempfile.mkdtemp(prefix="backprop-derive-tex.")
    try:
        yield work
    finally:
        with signals_held():
            shutil.rmtree(work, ignore_errors=True)


@contextmanager
def signals_held() -> Iterator[None]:
    """SIGTERM and SIGINT wait until the block ends (in the main thread; other threads never take them)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
