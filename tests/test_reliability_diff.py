"""Hostile forms files: refused with one line naming file and problem, and cheap to refuse."""

from __future__ import annotations

import time

import pytest

from derive import cli
from derive.diff import safeparse
from derive.diff.catalog.load import load_source
from derive.diff.catalog.types import CatalogError

HEAD = """id = "mine"
act = "sigmoid"
loss = "sse"
[symbols]
w = "weight"
eta = "rate"
a = "preact"
z = "act"
delta = "delta"
"""
FORM = """
[[forms]]
id = "f"
target = "delta"
at = ["j"]
layer = "output"
indices = { j = "L" }
expr = "{expr}"
"""


def algorithm(step: str, n: int = 1) -> str:
    steps = ",\n".join(f'"{step}"' for _ in range(n))
    return f'\n[[algorithms]]\nid = "alg"\nindices = {{ k = 2, j = 1 }}\nsteps = [\n{steps}\n]\n'


BAD = {
    "5000-digit integer": HEAD + "n = " + "9" * 5000 + "\n",
    "big integer in a form": HEAD + FORM.replace('"output"', "1" + "0" * 40).replace("{expr}", "delta[j]"),
    "nested arrays": HEAD + "deep = " + "[" * 3000 + "]" * 3000 + "\n",
    "nested inline tables": HEAD + "deep = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n",
    "unknown key (typo of layer)": HEAD + FORM.replace("{expr}", "delta[j]").replace("layer =", "layr ="),
    "unknown top-level key": HEAD.replace('act = "sigmoid"', 'act = "sigmoid"\nbiass = false'),
    'bias = "false"': HEAD.replace('act = "sigmoid"', 'act = "sigmoid"\nbias = "false"'),
    "act longer than hidden,output": HEAD.replace('"sigmoid"', '"sigmoid,sigmoid,sigmoid,sigmoid"', 1),
    "full-width z in a form": HEAD + FORM.replace("{expr}", "ｚ[j] * delta[j]"),
    "full-width name in symbols": HEAD + '"ｚ" = "act"\n',
    "seven nested exp": HEAD + FORM.replace("{expr}", "exp(exp(exp(exp(exp(exp(exp(a[j])))))))"),
    "powers of powers": HEAD + FORM.replace("{expr}", "((a[j]**8)**8)**8"),
    "400 algorithm steps": HEAD + algorithm("w[k, j] = (w[k, j]**8 + w[k, j]**8)**8", 400),
    "steps that overflow": HEAD + algorithm("w[k, j] = exp(exp(exp(w[k, j])))", 5),
}


@pytest.mark.parametrize("text", BAD.values(), ids=BAD.keys())
def test_hostile_forms_file_is_one_line_and_fast(tmp_path, capsys, text):
    path = tmp_path / "forms.toml"
    path.write_text(text, encoding="utf-8")
    start = time.monotonic()
    status = cli.main(["diff", "--arch", "2-3-2", "--forms", str(path)])
    took = time.monotonic() - start
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert status == 2 and len(lines) == 1 and "Traceback" not in err, err[-2000:]
    assert "forms.toml" in lines[0] and len(lines[0]) < 400
    assert took < 30, f"{took:.0f} s to refuse"


def test_the_catalog_passes_the_stricter_loader():
    from derive.diff.catalog import sources

    assert len(sources.catalog()) >= 10


@pytest.mark.parametrize("expr", ["exp(exp(a[j]))", "(a[j]**2)**4", "tanh(log(exp(a[j])))"])
def test_moderate_forms_still_parse(expr):
    safeparse.parse(expr, {"a"}, {"exp", "log", "tanh"}, {"j"})


def test_non_ascii_is_named_in_the_message():
    with pytest.raises(safeparse.UnsafeForm, match="U\\+FF5A"):
        safeparse.parse("ｚ[j]", {"z"}, set(), {"j"})


def test_a_load_error_names_the_file(tmp_path):
    path = tmp_path / "f.toml"
    path.write_text(HEAD.replace("loss", "lossy"))
    with pytest.raises(CatalogError, match="lossy"):
        load_source(path)
