"""The worked example of the LaTeX document: one checked SGD step, its tables, hand calculation and plots.

The numbers come from :mod:`derive.render.example` (the step, every gradient beside a
finite difference) and :mod:`derive.render.plots` (the points the web page draws too).
"""

from __future__ import annotations

import sympy as sp

from derive.core.model import Derivation, Layer
from derive.render import example as example_mod
from derive.render import hand as hand_mod
from derive.render import numbers, plots
from derive.render.chain import SMALL_WIDTH, shown_units
from derive.render.latex import context as lc
from derive.render.latex import hand, handlayout


def coordinates(points: list[tuple[int, float]]) -> str:
    """pgfplots coordinates of plotted points, ``(x,y)`` each, as :func:`derive.render.plots.rounded` left them."""
    return " ".join(f"({n},{v:.6g})" for n, v in points)


#: a δ whose numbers hold a sum of at least this many printed terms sets the sum on two rows
SPLIT_TERMS = 4


def split_sum(c: lc.Printing, step: example_mod.Step, layer: Layer, lines: list[dict] | None) -> None:
    """Set the numbers of a hidden δ's sum over the layer above on two rows: in a wide layer, or from SPLIT_TERMS terms.

    A row of an ``align*`` cannot break inside ``\\left( ... \\right)``: the sum is printed by itself, its
    terms shared out over two rows under sized brackets; the numbers and their order are the printer's.
    """
    sums = [
        f
        for f in sp.Mul.make_args(layer.delta_forms[0])
        if isinstance(f, sp.Add) and any(s.name.startswith("delta_") for s in f.free_symbols)
    ]
    if not lines or layer.is_output or len(sums) != 1:
        return
    p = hand_mod.eliding(c) if hand_mod.wide(layer) else c
    shown = hand_mod.shown_numbers(sums[0], step)
    pieces = p.printer.lines(shown, 1)
    if len(pieces) < (2 if p is not c else SPLIT_TERMS):
        return
    whole = r"\left(%s\right)" % p.tex(shown)
    delta = c.tex(layer.delta[0])
    for r in lines:
        if r["lhs"] != delta or r["numbers"].count(whole) != 1:
            continue
        before, after = r["numbers"].split(whole)
        half = (len(pieces) + 1) // 2
        first, rest = " ".join(pieces[:half]), " ".join(pieces[half:])
        r["numbers"] = before + r"\bigl(" + first + r" \\" + "\n" + r"&\qquad " + rest + r"\bigr)" + after


def section(d: Derivation, c: lc.Printing, ex: example_mod.Example) -> dict:
    """The values of the worked-example section: the step's tables, the hand calculation and both plots."""
    shown = []  # the parameters of the units the tables show, each checked by a finite difference
    for layer in d.layers:
        for j in shown_units(layer.n_out):
            shown += [layer.weights[j][i] for i in shown_units(layer.n_in)]
            shown += [layer.biases[j]] if layer.biases else []
    step = example_mod.run(d, ex, shown)
    hand_output = hand.unit(d, c, step, d.layers[-1])
    hand_hidden = hand.unit(d, c, step, d.layers[-2]) if len(d.layers) > 1 else None
    if hand_hidden:
        split_sum(c, step, d.layers[-2], hand_hidden)
    for layer, lines in ((d.layers[-1], hand_output), (d.layers[-2] if len(d.layers) > 1 else None, hand_hidden)):
        if lines:
            handlayout.fold(c, step, layer, lines)
    norms = plots.norms(d, step.total)
    layers = []
    for layer in d.layers:
        units = [
            {
                "a": c.tex(layer.a[j]),
                "a_val": step.values[layer.a[j]],
                "out": c.tex(layer.out[j]),
                "out_val": step.values[layer.out[j]],
                "delta": c.tex(layer.delta[j]),
                "delta_val": step.values[layer.delta[j]],
                "stale": step.stale.get(layer.delta[j]),
                "gap": layer.n_out > SMALL_WIDTH and j == layer.n_out - 1,  # an ellipsis row before it
            }
            for j in shown_units(layer.n_out)
        ]
        layers.append({"index": layer.index, "units": units})
    params = [
        {
            "sym": c.tex(sym),
            "value": step.at(step.params, sym),
            "grad": step.at(step.total, sym),
            "fd": step.fd_of(sym),
            "new": step.at(step.updated, sym),
        }
        for sym in shown
    ]
    return {
        "adam": adam_section(d, c, ex, step, shown) if d.spec.optimizer == "adam" else None,
        **example_mod.facts(d, ex, step),
        "title": ex.title,
        "seed": example_mod.SEED,
        "lr": ex.lr,
        "decay": ex.decay if d.spec.weight_decay else 0.0,
        "penalty": step.penalty,
        "penalty_after": step.penalty_after,
        "inputs": [{"sym": c.tex(s), "val": v} for s, v in zip(d.inputs, ex.x)][: SMALL_WIDTH + 2],
        "targets": [{"sym": c.tex(s), "val": v} for s, v in zip(d.targets, ex.t)][: SMALL_WIDTH + 2],
        "more_inputs": len(ex.x) > SMALL_WIDTH + 2,
        "more_targets": len(ex.t) > SMALL_WIDTH + 2,
        "layers": layers,
        "params": params,
        "all_params": len(params) == d.spec.n_parameters,
        "error": step.error,
        "error_after": step.error_after,
        "stale_unit": c.tex(d.layers[-2].delta[0]) if len(d.layers) > 1 else None,
        "curve": coordinates(example_mod.error_curve(d, ex)),
        # the bar chart: each layer's gradient (weights and biases together) as one Euclidean norm
        "slice": f"units 1, 2 and the last of each layer wider than {SMALL_WIDTH} (every unit of a narrower one)",
        "norms": coordinates(norms),
        "norm_layers": ",".join(str(c.nota.layer_name(l)) for l, _ in norms),
        "zeros": hand_mod.zeros(d, step, shown),
        "curve_steps": plots.CURVE_STEPS,
        "hand_output": hand_output,
        "hand_hidden": hand_hidden,
        # a wide layer's long sums are elided alike in the formula and its numbers (the text says so)
        "hand_elided": any(r"\cdots" in r["numbers"] for r in (hand_output or []) + (hand_hidden or [])),
        "hand_layers": (d.spec.n_layers, d.spec.n_layers - 1),
    }


def adam_section(d: Derivation, c: lc.Printing, ex: example_mod.Example, step: example_mod.Step, shown: list) -> dict:
    """Adam's first step of the worked example: its constants, moments by parameter, one weight by hand."""
    rows = []
    for sym in shown:
        key, index = example_mod.array_position(sym, len(step.params))
        rows.append({"sym": c.tex(sym)} | {part: float(step.adam[part][key][index]) for part in step.adam})
    contrast = hand_mod.adam_contrast(d, step, shown)
    for entry in (contrast["hand"], contrast["least"]):
        if entry:
            entry["sym"] = c.tex(entry["sym"])
            entry["gd"] = -ex.lr * entry["grad"]  # gradient descent's change with the same rate, for contrast
    return {
        "beta1": ex.beta1,
        "beta2": ex.beta2,
        "eps": ex.eps,
        "rows": rows,
        "hand": [
            r | {"result": numbers.latex(r["value"], small=r["small"])} for r in hand_mod.adam_lines(d, c, step, ex)
        ],
        "contrast": contrast,
        "letters": {k: c.nota.adam_letter(k) for k in ("m", "v", "beta1", "beta2", "epsilon")},
    }
