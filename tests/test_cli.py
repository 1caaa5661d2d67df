"""Bad input: one line on stderr, exit 2, nothing written. Good input: deterministic files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BAD = [
    ["--arch", "2--3"],
    ["--arch", "-2-3"],
    ["--arch", "2-3-"],
    ["--arch", "2"],
    ["--arch", "0-1"],
    ["--arch", "2-0-1"],
    ["--arch", "a-b"],
    ["--arch", "2.5-1"],
    ["--arch", "2-3-2 "],
    ["--arch", "2-3-2;rm"],
    ["--arch", ""],
    ["--arch", "100000-2"],
    ["--arch", "3000-3000-3000"],
    ["--arch", "2-3-2", "--act", "swish"],
    ["--arch", "2-3-2", "--loss", "hinge"],
    ["--arch", "2-3-2", "--act", "tanh,tanh,tanh"],
    ["--arch", "2-3-2", "--act", "softmax,sigmoid"],
    ["--arch", "2-3-2", "--act", "softmax"],
    ["--arch", "2-3-2", "--loss", "ce"],
    ["--arch", "2-3-2", "--act", "tanh", "--loss", "bce"],
    ["--arch", "2-3-1", "--act", "sigmoid,softmax", "--loss", "ce"],
    ["--arch", "2-3-2", "--notation", "nope"],
    ["--arch", "2-3-2", "--style", "fancy"],
    ["--arch", "2-3-2", "--bogus"],
    ["--arch", "2-3-2", "--example", "/nonexistent/ex.json"],
    ["--act", "tanh"],
]


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "derive", *args], capture_output=True, text=True, cwd=cwd, stdin=subprocess.DEVNULL
    )


@pytest.mark.parametrize("args", BAD, ids=[" ".join(a) or "empty" for a in BAD])
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, args):
    out = tmp_path / "out"
    r = run("build", *args, "--out", str(out))
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 2, r.stderr
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_bad_input_lists_valid_choices(tmp_path):
    r = run("build", "--arch", "2-3-2", "--loss", "hinge", "--out", str(tmp_path / "o"))
    assert "sse, mse, ce, bce" in r.stderr
    r = run("build", "--arch", "2-3-2", "--act", "swish", "--out", str(tmp_path / "o"))
    assert "sigmoid" in r.stderr and "softmax" in r.stderr


def test_limit_is_stated(tmp_path):
    r = run("build", "--arch", "100000-2", "--out", str(tmp_path / "o"))
    assert "limit" in r.stderr


def test_out_is_an_existing_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("keep")
    r = run("build", "--arch", "2-2", "--no-pdf", "--out", str(f))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert f.read_text() == "keep"


def test_out_in_unwritable_directory(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    # root may write into a mode-500 directory; nobody may create directories in /proc
    target = Path("/proc/backprop-derive-out") if os.geteuid() == 0 else locked / "o"
    r = run("build", "--arch", "2-2", "--no-pdf", "--out", str(target))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Traceback" not in r.stderr and not target.exists()


def test_out_under_a_file_is_refused(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    r = run("build", "--arch", "2-2", "--no-pdf", "--out", str(f / "sub"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


def test_two_builds_are_byte_identical(tmp_path):
    for name in ("a", "b"):
        r = run(
            "build",
            "--arch",
            "2-3-2",
            "--act",
            "tanh,softmax",
            "--loss",
            "ce",
            "--no-pdf",
            "--out",
            str(tmp_path / name),
        )
        assert r.returncode == 0, r.stderr
    for f in (tmp_path / "a").iterdir():
        assert f.read_bytes() == (tmp_path / "b" / f.name).read_bytes(), f.name


def test_formulas_json_records_every_parameter_and_its_proof(tmp_path):
    r = run("build", "--arch", "2-3-2", "--no-pdf", "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    data = json.loads((tmp_path / "o" / "formulas.json").read_text())
    assert data["arch"] == "2-3-2" and data["reduction"] == "sum"
    names = [p["name"] for p in data["parameters"]]
    assert len(names) == 17 and len(set(names)) == 17
    w = next(p for p in data["parameters"] if p["name"] == "w_1_2_1")
    assert w["delta_form"]["sympy"] == "delta_1_2*x_1"
    assert w["delta_chain"] == ["delta_1_2", "delta_2_1", "delta_2_2"]
    assert w["proof"]["method"] == "symbolic"
    assert w["expanded_gradient"]["sympy"].count("exp") > 2
    assert [e["number"] for e in data["equations"]] == list(range(1, len(data["equations"]) + 1))


def test_default_out_is_named_after_the_options(tmp_path):
    r = run("build", "--arch", "2-2", "--act", "tanh", "--loss", "mse", "--no-pdf", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "generated" / "2-2-tanh-mse" / "formulas.json").exists()


def test_rebuild_replaces_our_files_and_keeps_a_users(tmp_path):
    out = tmp_path / "o"
    assert run("build", "--arch", "2-2", "--no-pdf", "--out", str(out)).returncode == 0
    (out / "derivation.pdf").write_text("a PDF of an earlier build")
    assert run("build", "--arch", "2-2", "--no-pdf", "--out", str(out)).returncode == 0
    assert not (out / "derivation.pdf").exists()  # the output is replaced whole, nothing stale stays
    assert [p.name for p in tmp_path.iterdir()] == ["o"]
    (out / "notes.txt").write_text("mine")
    r = run("build", "--arch", "2-2", "--no-pdf", "--out", str(out))
    assert r.returncode == 2 and "notes.txt" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert (out / "notes.txt").read_text() == "mine"


def test_out_in_unwritable_directory_in_process(tmp_path, monkeypatch, capsys):
    """The same check without root's override: the directory reports no write permission."""
    from derive import cli, output

    monkeypatch.setattr(output.os, "access", lambda path, mode: False)
    rc = cli.main(["build", "--arch", "2-2", "--no-pdf", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "not writable" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_a_reader_that_stops_early_gets_no_traceback():
    """`backprop-derive textbooks | head -1`: the pipe closes before the listing is written."""
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is written
    try:
        r = subprocess.run(
            [sys.executable, "-m", "derive", "textbooks"], stdout=write_end, stderr=subprocess.PIPE, text=True
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in r.stderr and r.stderr == ""
    assert r.returncode == 141
