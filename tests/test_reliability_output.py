"""OUT: a build never deletes what it did not write, and after any failure OUT is whole (old or new)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from derive import cli, output
from derive.spec import SpecError

OLD = {"derivation.tex": b"old tex", "trainer.py": b"old trainer", "formulas.json": b"{}"}
NEW = {"derivation.tex": b"new tex", "trainer.py": b"new trainer", "formulas.json": b"[1]"}


def contents(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in d.iterdir()}


def leftovers(parent: Path) -> list[str]:
    if not parent.exists():
        return []
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(output.TEMP_PREFIX))


def cli_run(args, capsys, monkeypatch, derive_called=None):
    """Run the CLI in-process; fail the test if the derivation starts when it must not."""
    if derive_called is not None:

        def refuse(spec):
            raise AssertionError("the derivation started before OUT was checked")

        monkeypatch.setattr(cli.build_stage, "derivation", refuse)
    status = cli.main(args)
    err = capsys.readouterr().err
    return status, [line for line in err.splitlines() if line.strip()]


def test_foreign_files_in_out_are_refused_before_the_derivation(tmp_path, capsys, monkeypatch):
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    (d / "thesis.tex").write_text("x")
    (d / "sub" / "data.csv").write_text("y")
    status, lines = cli_run(["build", "--arch", "2-3-2", "--no-pdf", "--out", str(d)], capsys, monkeypatch, True)
    assert status == 2 and len(lines) == 1 and "did not write" in lines[0], lines
    assert "sub" in lines[0] and "thesis.tex" in lines[0]
    assert (d / "thesis.tex").read_text() == "x" and (d / "sub" / "data.csv").read_text() == "y"
    assert leftovers(tmp_path) == []


def test_an_out_of_our_own_files_is_replaced_whole(tmp_path):
    d = tmp_path / "d"
    output.write_all(d, {**OLD, "derivation.pdf": b"%PDF old"})
    output.write_all(d, NEW)
    assert contents(d) == NEW  # the stale PDF of the previous build is gone with it
    assert leftovers(tmp_path) == []


def test_symlinked_out_keeps_the_link_and_replaces_its_target(tmp_path):
    target = tmp_path / "real"
    output.write_all(target, OLD)
    link = tmp_path / "link"
    link.symlink_to(target)
    output.write_all(link, NEW)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert contents(target) == NEW
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("kind", ["dangling", "to-file"])
def test_symlink_out_to_no_directory_is_one_line_before_the_derivation(tmp_path, capsys, monkeypatch, kind):
    link = tmp_path / "link"
    if kind == "dangling":
        link.symlink_to(tmp_path / "missing")
    else:
        (tmp_path / "f").write_text("keep")
        link.symlink_to(tmp_path / "f")
    status, lines = cli_run(["build", "--arch", "2-3-2", "--no-pdf", "--out", str(link)], capsys, monkeypatch, True)
    assert status == 2 and len(lines) == 1, lines
    assert link.is_symlink() and not (tmp_path / "missing").exists()


@pytest.mark.parametrize("out", [".", "x/..", "x/../.", "/"])
def test_out_that_is_the_current_directory_is_refused(tmp_path, capsys, monkeypatch, out):
    (tmp_path / "x").mkdir()
    monkeypatch.chdir(tmp_path)
    status, lines = cli_run(["build", "--arch", "2-3-2", "--no-pdf", "--out", out], capsys, monkeypatch, True)
    assert status == 2 and len(lines) == 1, lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]


def test_long_out_names(tmp_path, capsys, monkeypatch):
    status, lines = cli_run(
        ["build", "--arch", "2-3-2", "--no-pdf", "--out", str(tmp_path / ("n" * 5000))], capsys, monkeypatch, True
    )
    assert status == 2 and len(lines) == 1 and "longer than" in lines[0]
    status, lines = cli_run(
        ["build", "--arch", "2-3-2", "--out", str(tmp_path / "a" / "b" / ("n" * 300))], capsys, monkeypatch, True
    )
    assert status == 2 and len(lines) == 1
    assert list(tmp_path.iterdir()) == []  # no parent directories created by bad input
    name = tmp_path / ("m" * 250)  # fits; built twice, the temporary names must fit too
    output.write_all(name, OLD)
    output.write_all(name, NEW)
    assert contents(name) == NEW and leftovers(tmp_path) == []


def _failing_at(monkeypatch, n: int, exc: OSError):
    calls = {"n": 0}
    real = os.rename

    def rename(src, dst, *a, **k):
        calls["n"] += 1
        if calls["n"] == n:
            raise exc
        return real(src, dst, *a, **k)

    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(os, "replace", rename)
    return calls


@pytest.mark.parametrize("existing", [True, False], ids=["replace", "create"])
def test_rename_fails_at_each_call_out_is_old_or_new_whole(tmp_path, monkeypatch, existing):
    """Fail the n-th rename for every n the sequence makes: OUT is the complete old or new output."""
    n = 1
    while True:
        out = tmp_path / f"case{n}" / "out"
        if existing:
            output.write_all(out, OLD)
        calls = _failing_at(monkeypatch, n, OSError(18, "Invalid cross-device link"))
        try:
            output.write_all(out, NEW)
            failed = False
        except SpecError as e:
            failed = True
            assert "Invalid cross-device link" in str(e) and "\n" not in str(e)
        monkeypatch.undo()
        if failed:
            assert contents(out) == OLD if existing else not out.exists()
        else:
            assert contents(out) == NEW
        assert leftovers(out.parent) == []
        if calls["n"] < n:  # the sequence made fewer than n renames: every point was tried
            break
        n += 1
    assert n >= (3 if existing else 2)


def test_disk_full_while_writing_is_one_line_and_out_unchanged(tmp_path, monkeypatch):
    out = tmp_path / "out"
    output.write_all(out, OLD)

    def full(self, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(SpecError, match="No space left on device"):
        output.write_all(out, NEW)
    monkeypatch.undo()
    assert contents(out) == OLD and leftovers(tmp_path) == []


def _writer(out: str, tag: int, rounds: int) -> None:
    for r in range(rounds):
        files = {name: f"{tag}:{r}:{name}".encode() for name in NEW}
        output.write_all(Path(out), files)


def test_two_writers_racing_on_one_out(tmp_path):
    out = tmp_path / "out"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(out), tag, 40)) for tag in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    got = contents(out)
    tags = {v.decode().rsplit(":", 1)[0] for v in got.values()}
    assert set(got) == set(NEW) and len(tags) == 1, got  # one build's complete output
    assert leftovers(tmp_path) == []


def test_two_builds_racing_on_one_out(tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "derive", "build", "--arch", "2-3-2", "--no-pdf", "--out", str(out)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
    assert [r[2] for r in results] == [0, 0], results
    assert set(contents(out)) == {"derivation.tex", "derivation.html", "trainer.py", "formulas.json"}
    assert leftovers(tmp_path) == []


def test_sigterm_during_tex_leaves_no_temporary_files(tmp_path):
    tmp, out = tmp_path / "tmp", tmp_path / "out"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp))
    cmd = [sys.executable, "-m", "derive", "build", "--arch", "2-3-2", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while not any(tmp.iterdir()) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the build ended before TeX started"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "Traceback" not in err, err
    assert list(tmp.iterdir()) == [] and not out.exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize("existing", [True, False], ids=["replace", "create"])
def test_interrupt_while_writing_leaves_no_partial_directory(tmp_path, monkeypatch, existing):
    out = tmp_path / "out"
    if existing:
        output.write_all(out, OLD)
    real = Path.write_bytes
    calls = {"n": 0}

    def interrupted(self, data):
        calls["n"] += 1
        if calls["n"] == 2:  # after one file is written
            raise KeyboardInterrupt
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", interrupted)
    with pytest.raises(KeyboardInterrupt):
        output.write_all(out, NEW)
    monkeypatch.undo()
    assert (contents(out) == OLD) if existing else not out.exists()
    assert leftovers(tmp_path) == []
