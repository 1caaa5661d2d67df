"""The folder tree is the pipeline: imports point down it, never back up and never in a circle.

Stages, lowest first: ``spec``/``progress`` < ``core`` < ``prove`` < ``render``, ``diff``
< ``pipeline``/``output`` < ``cli`` and the package's public API. The renderers
(``render.latex``, ``render.trainer``, ``render.formulas``) and the diff read the
Derivation and never each other; what renderers share (printer, notations,
templates) sits at ``render``'s top.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "derive"

#: Rank of each stage; a module may import only modules of its own or a lower rank.
RANKS = [
    ("derive.spec", 0),
    ("derive.progress", 0),
    ("derive.cache", 0),
    ("derive.core", 1),
    ("derive.prove", 2),
    ("derive.render", 3),
    ("derive.diff", 3),
    ("derive.pipeline", 4),
    ("derive.output", 4),
    ("derive.display", 4),
    ("derive.cli", 5),
    ("derive.__main__", 6),
    ("derive.api", 6),
    ("derive", 6),  # the package's __init__: the public API, on top of everything
]

#: Siblings that must not import each other (the renderers, and the renderers against the diff).
SEPARATE = [
    "derive.render.latex",
    "derive.render.trainer",
    "derive.render.formulas",
    "derive.render.html",
    "derive.diff",
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path, known: set[str]) -> set[str]:
    """The project modules ``path`` imports, function-local imports included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != "derive":  # "from derive import x" names x, not the package
                found.add(name)
    return found


def rank(name: str) -> int:
    """The rank of the longest stage prefix of ``name`` (``derive`` itself matches only the package)."""
    matches = [(len(prefix), r) for prefix, r in RANKS if name == prefix or name.startswith(prefix + ".")]
    matches = [m for m in matches if m[0] > len("derive") or name == "derive"]
    return max(matches)[1] if matches else -1


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports(path, known) - {name} for name, path in mods.items()}


def test_every_module_has_a_stage():
    assert [m for m in modules() if rank(m) < 0] == []


def test_no_import_runs_back_up():
    upward = [(m, dep) for m, deps in graph().items() for dep in deps if rank(dep) > rank(m)]
    assert upward == []


def test_renderers_and_the_diff_never_import_each_other():
    def group(name: str) -> str | None:
        return next((g for g in SEPARATE if name == g or name.startswith(g + ".")), None)

    crossing = [
        (m, dep) for m, deps in graph().items() for dep in deps if group(m) and group(dep) and group(m) != group(dep)
    ]
    assert crossing == []


def test_no_import_cycle():
    g = graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(g[node]):
            if state.get(dep) == 1:
                cycles.append(stack[stack.index(dep) :] + [dep])
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = 2

    for node in sorted(g):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_the_checker_sees_a_planted_cycle_and_an_upward_import(tmp_path, monkeypatch):
    """The two checks above must be able to fail: plant both defects in a copy of the tree."""
    fake = tmp_path / "derive"
    (fake / "core").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "core" / "__init__.py").write_text("")
    (fake / "core" / "a.py").write_text("from derive.core import b\nfrom derive.cli import main\n")
    (fake / "core" / "b.py").write_text("def f():\n    from derive.core import a\n")
    (fake / "cli.py").write_text("")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    with pytest.raises(AssertionError):
        test_no_import_cycle()
    with pytest.raises(AssertionError):
        test_no_import_runs_back_up()


def test_pyproject_lists_every_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    on_disk = {module_name(p.parent / "__init__.py") for p in PACKAGE.rglob("__init__.py")}
    templates = {"derive.templates"} | {
        "derive.templates." + ".".join(p.relative_to(ROOT / "templates").parts)
        for p in (ROOT / "templates").rglob("*")
        if p.is_dir()
    }
    assert listed == on_disk | templates
