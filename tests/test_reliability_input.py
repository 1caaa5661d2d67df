"""Hostile and extreme input: one line on stderr, exit 2, nothing written, found before the derivation."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from derive import cli
from derive.core.symbolic import derive
from derive.render import example
from derive.render.latex import document, pdf
from derive.spec import MAX_SCALAR_PARAMETERS, SpecError, make_spec

REPO = Path(__file__).resolve().parents[1]
GOOD = {"x": [0.5, -0.2], "t": [0.0, 1.0], "lr": 0.5, "W1": [[0.1, 0.2], [0.3, -0.4], [0.5, 0.6]]}
GOOD |= {"b1": [0.0, 0.1, -0.1], "W2": [[1.0, -1.0, 0.5], [-0.5, 0.3, 0.2]], "b2": [0.0, 0.0]}


def main(args, capsys, monkeypatch, derivation_allowed=False):
    """Run the CLI in-process; by default the derivation must not start (the input is refused before)."""
    if not derivation_allowed:

        def refuse(spec):
            raise AssertionError("the derivation started before the input was checked")

        monkeypatch.setattr(cli.build_stage, "derivation", refuse)
    status = cli.main(args)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    return status, lines


def raw_example(tmp_path: Path, text: str) -> str:
    path = tmp_path / "ex.json"
    path.write_text(text)
    return str(path)


HOSTILE = {
    "integer 10**400": '{"x": [1' + "0" * 400 + ", 1]}",
    "5000-digit integer": '{"x": [' + "9" * 5000 + ", 1]}",
    "100000 nested [": "[" * 100_000 + "]" * 100_000,
    "2000 nested [": "[" * 2000 + "]" * 2000,
    "NaN": json.dumps(GOOD | {"x": [float("nan"), 1]}),
    "x = 1e5": json.dumps(GOOD | {"x": [1e5, 1e5]}),
    "x = 1e308": json.dumps(GOOD | {"x": [1e308, 1]}),
    "weights 1e300": json.dumps(GOOD | {"W1": [[1e300, 1e300]] * 3}),
    "title of 10000 underscores": json.dumps(GOOD | {"title": "_" * 10_000}),
    "title of 300 characters": json.dumps(GOOD | {"title": "t" * 300}),
    "title with an escape": json.dumps(GOOD | {"title": "\x1b[2J"}),
    "50 MB": json.dumps(GOOD | {"title": "x" * 50}) + " " * 50_000_000,
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_example_is_one_line_before_the_derivation(tmp_path, capsys, monkeypatch, text):
    path = raw_example(tmp_path, text)
    out = tmp_path / "out"
    status, lines = main(
        ["build", "--arch", "2-3-2", "--no-pdf", "--example", path, "--out", str(out)], capsys, monkeypatch
    )
    assert status == 2 and len(lines) == 1, lines
    assert not out.exists()


@pytest.mark.parametrize(
    "spec_args, ex",
    [
        (("2-3-2", "tanh,softmax", "ce"), GOOD | {"W2": [[1000, -1000, 1000], [-1000, 1000, -1000]], "lr": 1000}),
        (("2-3-2", "sigmoid", "bce"), GOOD | {"x": [1000, 1000], "W1": [[-1000] * 2] * 3, "W2": [[1000] * 3] * 2}),
        (("2-3-3-3-3-3-3-2", "linear"), GOOD | {"x": [1000, 1000], "lr": 1000}),
    ],
    ids=["softmax-ce", "bce", "linear-deep"],
)
def test_an_overflowing_example_is_refused_naming_a_value(spec_args, ex):
    spec = make_spec(*spec_args)
    ex = {k: v for k, v in ex.items() if k in ("x", "t", "lr")}
    rng = np.random.default_rng(0)
    for l in range(1, spec.n_layers + 1):
        ex[f"W{l}"] = (np.sign(rng.standard_normal((spec.sizes[l], spec.sizes[l - 1]))) * 1000).tolist()
        ex[f"b{l}"] = [1000.0] * spec.sizes[l]
    if spec.loss == "ce":
        ex["t"] = [0.0, 1.0]
    d = derive(spec)
    # warnings are errors in this suite, so this also shows that no RuntimeWarning reaches the user
    with pytest.raises(SpecError, match=r"overflows .*largest: .* = -?1000"):
        example.run(d, example.parse(ex, spec, "ex.json"))


def test_a_finite_difference_check_fails_on_nan(monkeypatch):
    """The check is written so that NaN fails it (a NaN comparison is False both ways)."""
    spec = make_spec("2-3-2")
    d = derive(spec)
    ex = example.parse(GOOD, spec, "ex.json")
    real = example.Evaluator.run_backward

    def nan_grads(self, params, values):
        grads = real(self, params, values)
        grads["W1"][0, 0] = np.nan
        return grads

    monkeypatch.setattr(example.Evaluator, "run_backward", nan_grads)
    with pytest.raises(SpecError, match="overflows"):
        example.run(d, ex)
    monkeypatch.setattr(example, "_finite", lambda *a: None)  # without the guard, the comparison itself must fail
    with pytest.raises(AssertionError):
        example.run(d, ex)


def test_extreme_valid_example_prints_no_long_numbers_and_no_nan(tmp_path):
    spec = make_spec("2-3-3-2", "linear")
    ex = {"x": [1000, 1000], "t": [0, 1], "lr": 1000}
    for l in range(1, 4):
        ex[f"W{l}"] = [[1000] * spec.sizes[l - 1]] * spec.sizes[l]
        ex[f"b{l}"] = [1000] * spec.sizes[l]
    path = tmp_path / "ex.json"
    path.write_text(json.dumps(ex))
    tex = document.render(derive(spec), path)
    assert not re.search(r"[0-9]{20}", tex), "a number of hundreds of digits"
    for word in ("nan", "inf"):
        assert f" {word} " not in tex.lower() and f"{{{word}}}" not in tex.lower()
    assert r"\times 10^{" in tex


@pytest.mark.parametrize("arch", ["9" * 5000, "2-" * 40 + "2", "-2-3", "99999999999999999999-2", "4097-2"])
def test_arch_limits_are_one_line(capsys, monkeypatch, arch, tmp_path):
    status, lines = main(["build", "--arch", arch, "--out", str(tmp_path / "o")], capsys, monkeypatch)
    assert status == 2 and len(lines) == 1 and len(lines[0]) < 300, lines


def test_scalar_style_is_refused_above_its_limit(capsys, monkeypatch, tmp_path):
    status, lines = main(
        ["build", "--arch", "784-128-64-10", "--style", "scalar", "--out", str(tmp_path / "o")], capsys, monkeypatch
    )
    assert status == 2 and len(lines) == 1 and str(MAX_SCALAR_PARAMETERS) in lines[0], lines


def test_diff_is_refused_above_its_limit(capsys, monkeypatch):
    monkeypatch.setattr("derive.diff.report.run", lambda *a: pytest.fail("the diff started"))
    status, lines = main(["diff", "--arch", "1400-1400", "--against", "bishop"], capsys, monkeypatch)
    assert status == 2 and len(lines) == 1 and "limited" in lines[0], lines


def test_bad_example_name_is_one_line(capsys, monkeypatch, tmp_path):
    status, lines = main(["build", "--arch", "2-3-2", "--example", "e" * 5000], capsys, monkeypatch)
    assert status == 2 and len(lines) == 1


def test_tex_missing_has_its_own_exit_status(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(pdf, "available", lambda: False)
    status, lines = main(["build", "--arch", "2-2", "--out", str(tmp_path / "o")], capsys, monkeypatch, True)
    assert status == cli.TEX_MISSING != 2 and any("apt-get install" in line for line in lines)
    assert (tmp_path / "o" / "derivation.tex").exists()


def test_make_passes_values_without_expansion(tmp_path):
    pwned = tmp_path / "pwned"
    r = subprocess.run(
        ["make", "-s", "need-arch", "ARCH=2-3-2", f"OUT=out$(shell touch {pwned})", "EXAMPLE=$(touch x)"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert not pwned.exists()
    missing = "/nonexistent/cost$5dir/ex.json"
    r = subprocess.run(
        ["make", "-s", "derive", "ARCH=2-3-2", f"EXAMPLE={missing}", f"OUT={tmp_path / 'o'}"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert missing in r.stderr and not (tmp_path / "o").exists(), r.stderr


def test_control_characters_never_reach_the_terminal(capsys, monkeypatch, tmp_path):
    status, lines = main(["build", "--arch", "2-3-2", "--bogus\x1b[2J\nnext"], capsys, monkeypatch)
    assert status == 2 and len(lines) == 1 and "\x1b" not in lines[0], lines
    monkeypatch.undo()
    out = tmp_path / "o\x1b[2J"
    assert cli.main(["build", "--arch", "2-2", "--no-pdf", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out + captured.err and "\\x1b" in captured.out


def test_the_python_api_keeps_the_scalar_limit(tmp_path):
    import derive

    net = derive.derivation("40-50-10")  # 2,560 parameters
    assert net.derivation.spec.n_parameters > MAX_SCALAR_PARAMETERS
    with pytest.raises(SpecError, match="scalar style is limited"):
        net.trainer_source(style="scalar")
    with pytest.raises(SpecError, match="scalar style is limited"):
        net.write(tmp_path / "o", style="scalar")
    assert not (tmp_path / "o").exists()
