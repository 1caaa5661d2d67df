"""What the command line says about itself: its subcommands, its version, its notation presets."""

from __future__ import annotations

import subprocess
import sys

import derive
from derive.render import notations


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "derive", *args], capture_output=True, text=True, stdin=subprocess.DEVNULL
    )


def test_bare_command_lists_every_subcommand_one_line_each():
    r = run()
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.splitlines()
    for command in ("build", "diff", "textbooks"):
        assert sum(1 for line in lines if line.split()[:1] == [command]) == 1, r.stderr


def test_version():
    r = run("--version")
    assert r.returncode == 0
    assert r.stdout.strip() == f"backprop-derive {derive.__version__}"


def test_build_help_lists_the_notation_presets():
    r = run("build", "--help")
    assert r.returncode == 0
    for key, n in notations.NOTATIONS.items():
        assert any(line.split()[:1] == [key] and n.title in line for line in r.stdout.splitlines()), key
