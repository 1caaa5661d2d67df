"""Symbols mean what they are declared to mean: a declared layer wins over the index letter's layer.

The instructor notation of these tests (inputs a_i, hidden outputs h_j, outputs o_k, weights
v_ji input->hidden and w_kj hidden->output, delta = -dE/dnet) is not any catalog source's; a form
that puts one layer's quantity where another's belongs must come back ``different``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.diff import report

HEADER = """
id = "instructor"
source = "an instructor's notes"
act = "sigmoid"
loss = "sse"

[conventions]
delta = "delta = -dE/dnet"
delta_sign = -1

[symbols]
a = "input"
h = { kind = "act", layer = 1 }
o = "output"
t = "target"
net = "preact"
v = { kind = "weight", layer = 1 }
w = { kind = "weight", layer = 2 }
delta = "delta"
eta = "rate"

[functions]
f_prime = "act_prime"
"""

FORMS = {
    # id: (target, at, layer, indices, expr, verdict, mistake)
    "dv": ("update_w", '["j", "i"]', 1, '{ j = "l", i = "l-1" }', "eta * delta[j] * a[i]", "equal", None),
    "dv-hidden-output": (
        "update_w",
        '["j", "i"]',
        1,
        '{ j = "l", i = "l-1" }',
        "eta * delta[j] * h[i]",
        "different",
        "wrong_layer",
    ),
    "dw": ("update_w", '["k", "j"]', 2, '{ k = "l", j = "l-1" }', "eta * delta[k] * h[j]", "equal", None),
    "dw-input": (
        "update_w",
        '["k", "j"]',
        2,
        '{ k = "l", j = "l-1" }',
        "eta * delta[k] * a[j]",
        "different",
        "wrong_layer",
    ),
    "hidden-delta": (
        "delta",
        '["j"]',
        '"hidden"',
        '{ j = "l", k = "l+1" }',
        "h[j] * (1 - h[j]) * Sum(w[k, j] * delta[k], k)",
        "equal_under_convention",
        None,
    ),
    "hidden-delta-v": (
        "delta",
        '["j"]',
        '"hidden"',
        '{ j = "l", k = "l+1" }',
        "h[j] * (1 - h[j]) * Sum(v[k, j] * delta[k], k)",
        "different",
        "wrong_layer",
    ),
    "hidden-delta-f-prime-of-next-net": (
        "delta",
        '["j"]',
        '"hidden"',
        '{ j = "l", k = "l+1" }',
        "Sum(f_prime(net[k]) * w[k, j] * delta[k], k)",
        "different",
        None,
    ),
}


def forms_file(tmp_path: Path, extra: str = "", only=None) -> Path:
    parts = [HEADER, extra]
    for fid, (target, at, layer, indices, expr, _, _) in FORMS.items():
        if only is None or fid in only:
            parts.append(
                f'[[forms]]\nid = "{fid}"\ntarget = "{target}"\nat = {at}\nlayer = {layer}\n'
                f'indices = {indices}\nexpr = "{expr}"\n'
            )
    path = tmp_path / "instructor.toml"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


@pytest.mark.parametrize("arch", ["2-3-2", "3-2-2", "2-2-2"])
def test_instructor_notation_verdicts(tmp_path, arch):
    recs = {r["formula"]: r for r in report.run(arch, forms=str(forms_file(tmp_path)))}
    assert set(recs) == set(FORMS)
    for fid, (*_, verdict, mistake) in FORMS.items():
        assert (recs[fid]["verdict"], recs[fid]["mistake"]) == (verdict, mistake), (arch, fid, recs[fid])


def test_hidden_output_where_the_input_belongs_is_not_equal(tmp_path):
    """The regression: Delta v = eta delta_j h_i used to come back equal (h[i] was read as the input)."""
    path = forms_file(tmp_path, only={"dv-hidden-output"})
    (rec,) = report.run("2-3-2", forms=str(path))
    assert rec["verdict"] == "different" and report.status([rec]) == 1
    assert "h[i]" in rec["explanation"] and "hidden layer 1" in rec["explanation"]
    assert rec["counterexample"]["source_value"] != pytest.approx(rec["counterexample"]["derived_value"])


def test_activation_derivative_at_the_next_layers_net_is_not_equal(tmp_path):
    """f'(net) of the next layer, named by a symbol declared one layer up, is that layer's quantity."""
    extra = '[[forms]]\nid = "next-net"\ntarget = "delta"\nat = ["j"]\nlayer = "hidden"\n'
    extra += 'indices = { j = "l", k = "l+1" }\nsymbols = { net_up = { kind = "preact", layer = "l+1" } }\n'
    extra += 'expr = "f_prime(net_up[j]) * Sum(w[k, j] * delta[k], k)"\n'
    for arch in ("2-2-2", "2-3-2", "2-3-3-2"):
        (rec,) = report.run(arch, forms=str(forms_file(tmp_path, extra, only=set())))
        assert rec["verdict"] == "different" and rec["mistake"] == "wrong_layer", (arch, rec)


def test_a_layer_offset_names_the_previous_layer_explicitly(tmp_path):
    """``layer = "l-1"`` on a symbol lets a form write the previous layer's output with the target's letter."""
    extra = '[[forms]]\nid = "offset"\ntarget = "update_w"\nat = ["j", "i"]\nlayer = "all"\n'
    extra += 'indices = { j = "l", i = "l-1" }\nsymbols = { below = { kind = "act", layer = "l-1" } }\n'
    extra += 'expr = "eta * delta[j] * below[i]"\n'
    (rec,) = report.run("2-3-3-2", forms=str(forms_file(tmp_path, extra, only=set())))
    assert rec["verdict"] == "equal"


def test_the_readme_forms_file_is_right(tmp_path):
    """The README's example forms file (a non-Bishop notation) is correct on 2-3-2 and on a deeper net."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Writing a forms file") :]
    example = section[section.index("```toml") + len("```toml") : section.index("```", section.index("```toml") + 7)]
    path = tmp_path / "readme.toml"
    path.write_text(example, encoding="utf-8")
    for arch in ("2-3-2", "3-4-2", "2-3-3-2"):
        recs = report.run(arch, forms=str(path))
        two_layer = {"hidden-delta", "input-weight-step"} if arch != "2-3-3-2" else set()
        assert {r["formula"] for r in recs} == {"output-delta"} | two_layer
        assert all(r["verdict"] in ("equal", "equal_under_convention") for r in recs), recs
    wrong = example.replace('"eta * delta[j] * a[i]"', '"eta * delta[j] * h[i]"')
    path.write_text(wrong, encoding="utf-8")
    step = next(r for r in report.run("2-3-2", forms=str(path)) if r["formula"] == "input-weight-step")
    assert step["verdict"] == "different" and step["mistake"] == "wrong_layer"
