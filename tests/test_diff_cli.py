"""`backprop-derive diff` and `textbooks` on the command line: exit codes, JSON, hostile forms files."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from derive import cli

GOOD_NOTES = """
id = "my-notes"
source = "my lecture notes"
act = "sigmoid"
loss = "sse"
bias = true

[conventions]
delta = "delta = dE/dnet"
update = "descent"

[symbols]
net = "preact"
out = "act"
target = "target"
w = "weight"
d = "delta"
lr = "rate"

[functions]
s_prime = "act_prime"

[[forms]]
id = "out-delta"
target = "delta"
at = ["k"]
layer = "output"
indices = { k = "l" }
expr = "(out[k] - target[k]) * out[k] * (1 - out[k])"

[[forms]]
id = "hidden-delta"
target = "delta"
at = ["j"]
layer = "hidden"
indices = { j = "l", k = "l+1" }
expr = "s_prime(net[j]) * Sum(w[k, j] * d[k], k)"

[[forms]]
id = "step"
target = "update_w"
at = ["j", "i"]
layer = "all"
indices = { j = "l", i = "l-1" }
expr = "-lr * d[j] * out[i]"
"""


#: The output delta of GOOD_NOTES, as it stands in the file (a TOML string).
OUT_DELTA = '"(out[k] - target[k]) * out[k] * (1 - out[k])"'


@pytest.fixture
def run(capsys):
    """``run(*args)``: the CLI's exit status, stdout and stderr."""

    def run(*args: str) -> tuple[int, str, str]:
        rc = cli.main(list(args))
        out, err = capsys.readouterr()
        return rc, out, err

    return run


@pytest.fixture
def diff(run):
    """``diff(*args)``: ``run("diff", "--arch", "2-3-2", *args)``."""
    return lambda *args: run("diff", "--arch", "2-3-2", *args)


@pytest.fixture
def notes(tmp_path):
    """``notes(text)``: the path of a forms file holding ``text`` (GOOD_NOTES by default)."""

    def notes(text: str = GOOD_NOTES) -> str:
        path = tmp_path / "my-notes.toml"
        path.write_text(text)
        return str(path)

    return notes


def with_out_delta(expr: str) -> str:
    """GOOD_NOTES with the output delta's expression replaced by ``expr``."""
    assert OUT_DELTA in GOOD_NOTES
    return GOOD_NOTES.replace(OUT_DELTA, json.dumps(expr))


def one_line(err: str) -> bool:
    return len(err.strip().splitlines()) == 1


def test_textbooks_lists_id_source_citation(run):
    rc, out, err = run("textbooks")
    assert rc == 0 and not err
    for sid in ("bishop", "nielsen", "goodfellow", "rhw1986", "pdp8", "seed000", "seed003"):
        assert any(line.startswith(sid + " ") for line in out.splitlines()), sid
    assert "(5.48)" in out and "BP1" in out


def test_json_records_and_exit_1_when_something_differs(diff):
    rc, out, err = diff("--against", "seed003", "--json")
    assert rc == 1 and not err
    records = json.loads(out)["records"]
    keys = {"source", "formula", "verdict", "convention", "mistake", "counterexample"}
    assert all(keys <= set(r) for r in records)
    named = {r["mistake"] for r in records if r["verdict"] == "different"}
    assert named == {"sigmoid_derivative_squared", "updated_weights_in_backward"}
    summary = json.loads(out)["summary"]
    assert summary["verdicts"] == {"equal": 7, "equal_under_convention": 0, "different": 2}
    assert summary["forms"] == len(records) and summary["exit_status"] == 1
    assert summary["networks"] == {"2-3-2 (sigmoid/sigmoid, sse, no bias)": ["seed003"]}


def test_report_speaks_the_sources_notation(diff):
    """Rows show the form as Unicode maths; a different row shows the counterexample in the source's symbols."""
    rc, out, _ = diff("--against", "seed003,bishop")
    assert rc == 1
    assert "δⱼ = h′(aⱼ) Σₖ wₖⱼ δₖ" in out  # Bishop (5.56)
    assert "σ′(z) = 1/(1 + exp(−z))²" in out and "derived:  σ′(z) = exp(−z)/(1 + exp(−z))²" in out
    assert "\\frac" not in out and "w_1_1" not in out and "delta_" not in out
    assert "compared on 2-3-2 (sigmoid/sigmoid, sse, no bias)" in out and "compared on 2-3-2 (tanh/linear, sse)" in out
    rc, out, _ = diff("--against", "seed003", "--json")
    step = next(r for r in json.loads(out)["records"] if r["formula"] == "slide5-sgd-step")
    assert {"v₁₁", "w₁₁", "d₁"} <= set(step["counterexample"]["point"])


def test_textbooks_cites_public_sources_only(run):
    rc, out, _ = run("textbooks")
    assert rc == 0 and "shared/" not in out and ".txt" not in out and "seed 00" not in out


def test_exit_0_when_everything_matches_under_conventions(diff):
    rc, out, _ = diff("--against", "pdp8,seed002")
    assert rc == 0
    assert "equal (convention)" in out and "δ_pj = −∂E_p/∂net_pj" in out


def test_table_says_what_is_wrong_and_where(diff):
    rc, out, _ = diff("--against", "vanveen")
    assert rc == 1
    lines = out.splitlines()
    row = next(n for n, line in enumerate(lines) if "slide3-sigma-prime " in line)
    assert "DIFFERENT" in lines[row] and "mistake: sigmoid_derivative_squared" in lines[row + 1]
    assert "on w₁₁ after one step:" in out and "counterexample: d₁ = " in out
    assert "the form gives 0.647306, the derived formula 0.157247" in out


def test_user_forms_that_are_right(diff, notes):
    rc, out, err = diff("--forms", notes(), "--json")
    assert (rc, err) == (0, "")
    assert {r["formula"]: r["verdict"] for r in json.loads(out)["records"]} == {
        "out-delta": "equal",
        "hidden-delta": "equal",
        "step": "equal",
    }


def test_user_forms_with_a_mistake(diff, notes):
    rc, out, _ = diff("--forms", notes(with_out_delta("out[k] - target[k]")), "--json")
    assert rc == 1
    rec = next(r for r in json.loads(out)["records"] if r["formula"] == "out-delta")
    assert rec["mistake"] == "canonical_link_outside" and rec["counterexample"]["point"]


HOSTILE = [
    "__import__('os').system('touch {marker}')",
    "().__class__",
    "lambda: 1",
    "out.__class__",
    "out[k].real",
    "+".join(["out[k]"] * 150),
    "s_prime(" * 40 + "out[k]" + ")" * 40,
    "out[k] ** 99999999",
]


@pytest.mark.parametrize("expr", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_forms_are_refused_naming_file_and_line(tmp_path, diff, notes, expr):
    marker = tmp_path / "pwned"
    expr = expr.replace("{marker}", str(marker))
    text = with_out_delta(expr)
    path = notes(text)
    line = next(n for n, s in enumerate(text.splitlines(), 1) if s.startswith("expr = ") and expr[:20] in s)
    rc, out, err = diff("--forms", path)
    assert rc == 2 and out == ""
    assert one_line(err) and f"{path}:{line}:" in err
    assert not marker.exists()


def test_hostile_step_is_refused(diff, notes):
    text = GOOD_NOTES + '\n[[algorithms]]\nid = "a"\nsteps = ["x = __import__(\'os\')"]\n'
    rc, _, err = diff("--forms", notes(text))
    assert rc == 2 and "double underscores" in err and one_line(err)


def test_unknown_symbol_lists_the_known_ones(diff, notes):
    text = GOOD_NOTES.replace('"-lr * d[j] * out[i]"', '"-eta * d[j] * out[i]"')
    rc, _, err = diff("--forms", notes(text))
    assert rc == 2
    assert "unknown symbol 'eta'" in err and "known symbols: d, lr, net, out, target, w" in err


@pytest.mark.parametrize(
    "text, words",
    [
        ('id = "x"\nsource = "y"\n[[forms]\n', "malformed TOML"),
        ('id = "x"\nsource = "y"\nsymbols = 3\n', "[symbols] must be a table"),
        ('id = "x"\nsource = "y"\n[symbols]\nq = "nonsense"\n', "needs a kind"),
        (GOOD_NOTES.replace('target = "delta"', 'target = "gradient"', 1), "unknown target 'gradient'"),
        (b"\xff\xfe".decode("latin-1"), "malformed TOML"),
    ],
)
def test_malformed_files(diff, notes, text, words):
    rc, out, err = diff("--forms", notes(text))
    assert rc == 2 and out == "" and words in err and one_line(err)


@pytest.mark.parametrize(
    "args, words",
    [
        (["--against", "bishopp"], "unknown source 'bishopp'; known: all, aima, bishop"),
        (["--against", "all", "--forms", "x.toml"], "exactly one of"),
        ([], "exactly one of"),
        (["--forms", "/nonexistent/notes.toml"], "does not exist"),
        (["--against", "all", "--act", "nope"], "unknown activation"),
    ],
)
def test_bad_arguments(diff, args, words):
    rc, out, err = diff(*args)
    assert rc == 2 and out == "" and words in err.lower() and one_line(err)


def test_bad_arch_is_one_line(run):
    rc, _, err = run("diff", "--arch", "-2-3", "--against", "all")
    assert rc == 2 and one_line(err)


def test_console_script_runs_without_traceback(tmp_path):
    exe = Path(sys.executable).parent / "backprop-derive"
    r = subprocess.run([str(exe), "diff", "--arch", "2-3-2", "--against", "nope"], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr


@pytest.mark.parametrize("expr", ["1/(out[k] - out[k])", "log(out[k] - 5)"])
def test_forms_without_a_finite_real_value_are_refused(diff, notes, expr):
    rc, out, err = diff("--forms", notes(with_out_delta(expr)))
    assert rc == 2 and out == "" and "cannot be compared" in err and one_line(err)


def test_every_source_runs_under_softmax_cross_entropy(diff):
    rc, out, err = diff("--against", "all", "--act", "tanh,softmax", "--loss", "ce")
    assert rc == 1 and not err
    bishop = out[out.index("bishop: ") :]
    bishop_554 = next(line for line in bishop.splitlines() if " 5.54 " in line)
    assert bishop_554.split()[0] == "equal" and "δₖ = yₖ − tₖ" in bishop_554  # right for the canonical pair


NO_HALF = """
id = "no-half"
[conventions]
error = "E = sum_k (t_k - y_k)^2, no 1/2"
error_scale = 2
[symbols]
y = "output"
t = "target"
a = "preact"
[functions]
fp = "act_prime"
[[forms]]
id = "out"
target = "delta"
at = ["k"]
layer = "output"
indices = { k = "l" }
expr = "EXPR"
"""


@pytest.mark.parametrize(
    "expr, verdict, mistake",
    [
        ("2 * (y[k] - t[k]) * fp(a[k])", "equal_under_convention", None),
        ("(y[k] - t[k]) * fp(a[k])", "different", "dropped_half"),
        ("2 * (t[k] - y[k]) * fp(a[k])", "different", "dropped_sign"),
    ],
)
def test_error_without_the_half_is_a_convention(diff, notes, expr, verdict, mistake):
    rc, out, _ = diff("--forms", notes(NO_HALF.replace("EXPR", expr)), "--json")
    (rec,) = json.loads(out)["records"]
    assert (rec["verdict"], rec["mistake"]) == (verdict, mistake)
    assert rc == (0 if verdict != "different" else 1)
    assert rec["convention"] == "E = sum_k (t_k - y_k)^2, no 1/2"


def test_json_is_deterministic(diff):
    args = ["--against", "seed003,bishop", "--json"]
    first = diff(*args)
    assert diff(*args) == first


def test_override_says_what_the_source_assumed(diff):
    rc, out, _ = diff("--against", "seed004", "--act", "tanh", "--json")
    rec = next(r for r in json.loads(out)["records"] if r["formula"] == "dy-da")
    assert (
        rec["verdict"] == "different"
        and "the source assumes sigmoid, sse; compared under tanh/tanh, sse" in (rec["explanation"])
    )


def test_huge_forms_file_is_refused(diff, notes):
    rc, out, err = diff("--forms", notes("# padding\n" * 60_000))
    assert rc == 2 and "larger than" in err and one_line(err)


def test_reason_keeps_a_message_whole_and_unquotes_a_missing_key():
    from derive.diff.report import _reason

    assert _reason(ValueError("could not convert string to float: 'zoo'")).endswith("float: 'zoo')")
    assert _reason(KeyError("w_9")) == "cannot be compared (KeyError: w_9)"


# --------------------------------------------------------------------------
# The update rule is each source's own: make diff refuses the build options that would change it
# --------------------------------------------------------------------------

REPO = Path(__file__).resolve().parent.parent


def make_diff(*variables: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}  # under make test
    return subprocess.run(["make", "-s", "diff", *variables], cwd=REPO, capture_output=True, text=True, env=env)


def own_lines(err: str) -> list[str]:
    """stderr without make's own ``make: *** [...] Error N`` line (``make[1]:`` when nested)."""
    return [line for line in err.splitlines() if not re.match(r"make(\[\d+\])?: \*\*\* ", line)]


@pytest.mark.parametrize(
    "variables, named",
    [
        (["WEIGHT_DECAY=1"], "WEIGHT_DECAY"),
        (["WEIGHT_DECAY=banana"], "WEIGHT_DECAY"),
        (["OPTIMIZER=momentum"], "OPTIMIZER"),
        (["OPTIMIZER=adam", "DECAY_BIASES=1"], "OPTIMIZER, DECAY_BIASES"),
        (["BIAS=off", "MEAN=1"], "BIAS, MEAN"),
    ],
)
def test_make_diff_refuses_build_options_in_one_line(variables, named):
    r = make_diff("ARCH=2-3-2", "AGAINST=bishop", *variables)
    lines = own_lines(r.stderr)
    assert r.returncode == 2 and r.stdout == "", r.stderr
    assert len(lines) == 1 and lines[0].startswith(f"make diff: {named}:") and "declares" in lines[0], lines


def test_make_diff_passes_act_and_loss():
    r = make_diff("ARCH=2-3-2", "AGAINST=bishop", "ACT=tanh,linear", "LOSS=sse")
    assert r.returncode in (0, 1) and "compared on 2-3-2 (tanh/linear, sse)" in r.stdout, r.stderr
    r = make_diff("ARCH=2-3-2", "AGAINST=bishop", "ACT=banana")
    lines = own_lines(r.stderr)
    assert r.returncode == 2 and len(lines) == 1 and "unknown activation" in lines[0], r.stderr


def test_diff_refuses_a_build_option_in_one_line(run):
    rc, out, err = run("diff", "--arch", "2-3-2", "--against", "all", "--weight-decay")
    assert rc == 2 and out == "" and one_line(err) and "--weight-decay" in err


def test_diff_help_says_each_source_declares_its_update_rule(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["diff", "--help"])
    assert e.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "update rule" in text and "--weight-decay" in text and "do not apply" in text


def test_the_decay_and_momentum_sources_are_compared_under_their_own_rule(diff):
    rc, out, err = diff("--against", "goodfellow-decay,rhw1986m,bishop", "--json")
    records = json.loads(out)["records"]
    decay = {r["network"] for r in records if r["source"] == "goodfellow-decay"}
    plain = {r["network"] for r in records if r["source"] == "bishop"}
    assert decay and all("weight decay" in n for n in decay), decay
    assert plain and not any("weight decay" in n for n in plain), plain
    momentum = [r for r in records if r["source"] == "rhw1986m" and r["target"] == "momentum_step"]
    assert momentum and all(r["verdict"] != "different" for r in momentum), momentum
