"""Render a generated trainer to a real file and import it (shared by the trainer test modules)."""

from __future__ import annotations

import functools
import itertools
import subprocess
import sys
from pathlib import Path

from derive import load_trainer, make_spec
from derive.core.symbolic import derive
from derive.render.trainer.render import render

_count = itertools.count()


@functools.cache
def source(arch: str, act: str = "sigmoid", loss: str = "sse", style: str | None = None, **options) -> str:
    """trainer.py text for one network (cached: the derivation is the slow part)."""
    return render(derive(make_spec(arch, act, loss, **options)), style)


def build(tmp: Path, arch: str, act: str = "sigmoid", loss: str = "sse", style: str | None = None, **options):
    """Write the trainer into ``tmp`` and import it under a fresh module name, as a user would."""
    n = next(_count)
    path = tmp / f"trainer_{n}.py"
    path.write_text(source(arch, act, loss, style, **options))
    return load_trainer(path, f"built_trainer_{n}")


def ruff_check(paths) -> subprocess.CompletedProcess:
    """``ruff check`` of generated files with the project's configuration (ruff is part of the test extra)."""
    exe = Path(sys.executable).with_name("ruff")
    assert exe.exists(), "ruff is part of the test extra"
    config = Path(__file__).resolve().parent.parent / "pyproject.toml"
    return subprocess.run(
        [str(exe), "check", "--no-cache", "--config", str(config), *map(str, paths)], capture_output=True, text=True
    )
