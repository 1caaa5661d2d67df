"""Errors in a forms file, as a teacher meets them: one line, the right line number, the valid values."""

from __future__ import annotations

import json

import pytest
from test_diff_cli import GOOD_NOTES, OUT_DELTA, one_line

from derive import cli

QUOTED_Q = '["q"]'


@pytest.fixture
def run(capsys):
    def run(*args: str) -> tuple[int, str, str]:
        rc = cli.main(list(args))
        out, err = capsys.readouterr()
        return rc, out, err

    return run


@pytest.fixture
def diff(run):
    return lambda *args: run("diff", "--arch", "2-3-2", *args)


@pytest.fixture
def notes(tmp_path):
    def notes(text: str) -> str:
        path = tmp_path / "my-notes.toml"
        path.write_text(text)
        return str(path)

    return notes


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def error(diff, notes, text: str) -> str:
    rc, out, err = diff("--forms", notes(text))
    assert rc == 2 and out == "" and one_line(err), (rc, out, err)
    return err.strip()


def test_caret_is_not_a_power(diff, notes):
    err = error(diff, notes, GOOD_NOTES.replace(OUT_DELTA, '"(out[k] - target[k]) * out[k]^2"'))
    assert "write x**2" in err and "BinOp" not in err


def test_an_unknown_function_points_at_the_functions_table(diff, notes):
    err = error(diff, notes, GOOD_NOTES.replace(OUT_DELTA, '"(out[k] - target[k]) * sigmoid(net[k])"'))
    assert "'sigmoid'" in err and "[functions]" in err


def test_a_bad_form_layer_lists_the_valid_values_on_its_own_line(diff, notes):
    text = GOOD_NOTES.replace('layer = "output"', 'layer = "last"')
    err = error(diff, notes, text)
    assert f"my-notes.toml:{line_of(text, 'last')}:" in err
    assert "'last'" in err and "output, hidden, all" in err


def test_a_bad_at_is_blamed_on_the_at_line(diff, notes):
    text = GOOD_NOTES.replace('at = ["k"]', 'at = ["q"]')
    err = error(diff, notes, text)
    assert f"my-notes.toml:{line_of(text, QUOTED_Q)}:" in err and "'q' not declared" in err


def test_a_bad_symbol_layer_is_blamed_on_the_symbol(diff, notes):
    text = GOOD_NOTES.replace('out = "act"', 'out = { kind = "act", layer = "hidden" }')
    err = error(diff, notes, text)
    assert f"my-notes.toml:{line_of(text, 'out = {')}:" in err and "symbol 'out'" in err and "l-1" in err


def test_a_free_index_names_the_letter(diff, notes):
    text = GOOD_NOTES.replace('"s_prime(net[j]) * Sum(w[k, j] * d[k], k)"', '"s_prime(net[j]) * w[k, j] * d[k]"')
    err = error(diff, notes, text)
    assert "index 'k' is unbound" in err and "Sum(..., k)" in err


def test_ce_without_softmax_speaks_cli_syntax(run):
    rc, out, err = run("diff", "--arch", "2-3-2", "--against", "bishop", "--loss", "ce")
    assert rc == 2 and "--act ...,softmax" in err and one_line(err)


@pytest.mark.parametrize(
    "text, why",
    [
        ('id = "empty"\nsource = "nothing yet"\n', "has no [[forms]]"),
        (
            GOOD_NOTES.replace('layer = "output"', "layer = 3")
            .replace('layer = "hidden"', "layer = 3")
            .replace('layer = "all"', "layer = 4"),
            "weight layers 1 to 2",
        ),
    ],
)
def test_comparing_nothing_is_an_error(diff, notes, text, why):
    assert why in error(diff, notes, text)


def test_control_characters_are_escaped_in_the_report(diff, notes):
    text = GOOD_NOTES.replace('source = "my lecture notes"', 'source = "notes\\u001b[31m red"')
    text = text.replace('id = "out-delta"', 'id = "out\\u0007delta"')
    rc, out, _ = diff("--forms", notes(text))
    assert rc == 0 and "\x1b" not in out and "\x07" not in out and "\\x1b" in out


def test_the_new_weight_written_as_the_step_gets_a_hint(diff, notes):
    text = GOOD_NOTES.replace('"-lr * d[j] * out[i]"', '"w[j, i] - lr * d[j] * out[i]"')
    rc, out, _ = diff("--forms", notes(text), "--json")
    rec = next(r for r in json.loads(out)["records"] if r["formula"] == "step")
    assert rc == 1 and rec["mistake"] == "new_weight_for_step" and "Δw" in rec["explanation"]


def test_at_may_name_a_weight_from_to(diff, notes):
    """``at = ["i", "j"]`` (from, to) names the same weight as ``["j", "i"]``: the letters' layers decide."""
    text = GOOD_NOTES.replace('at = ["j", "i"]', 'at = ["i", "j"]')
    rc, out, _ = diff("--forms", notes(text), "--json")
    assert rc == 0 and all(r["verdict"] == "equal" for r in json.loads(out)["records"])


def test_at_over_another_layer_is_refused(diff, notes):
    text = GOOD_NOTES.replace('at = ["j"]', 'at = ["k"]')
    err = error(diff, notes, text)
    assert "'at' = [k]" in err and "form's own layer" in err


def test_a_form_for_a_layer_the_net_lacks_is_listed_as_not_compared(diff, notes):
    text = GOOD_NOTES.replace('layer = "output"', "layer = 5")
    rc, out, _ = diff("--forms", notes(text), "--json")
    assert rc == 0
    assert json.loads(out)["summary"]["not_compared"] == [
        {"source": "my-notes", "formula": "out-delta", "reason": "its layer 5 does not exist on 2-3-2"}
    ]
    rc, out, _ = diff("--forms", notes(text))
    assert "not compared on this network (1):" in out and "out-delta: its layer 5 does not exist" in out


def test_layer_0_is_refused(diff, notes):
    err = error(diff, notes, GOOD_NOTES.replace('layer = "output"', "layer = 0"))
    assert "input layer" in err
