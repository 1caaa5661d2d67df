"""The worked example of the web page: one SGD step on numbers, as tables of MathML symbols and values.

The numbers come from :mod:`derive.render.example`, the same step the PDF shows:
forward values from the Derivation's definitions, δs and gradients from its
derived forms, each gradient beside its central finite difference.
"""

from __future__ import annotations

import sympy as sp
from markupsafe import Markup

from derive.core import naming
from derive.core.model import Derivation
from derive.render import example as example_mod
from derive.render import hand, numbers, plots, seeding
from derive.render.html import plots as svg_plots
from derive.render.html import teach


def number(value: float, given: bool = False) -> str:
    """A number as both documents print it (:mod:`derive.render.numbers`): as given, or computed."""
    return numbers.html(value, given)


def _symbol(key: str, index: tuple[int, ...]) -> sp.Symbol:
    role, layer = ("w" if key[0] == "W" else "b"), int(key[1:])
    return naming.symbol(role, layer, *(k + 1 for k in index))


def section(
    d: Derivation, inline, shown_units, ex: example_mod.Example, small: int, layer_name=lambda l: l, printing=None
) -> dict:
    """The example's tables: inputs and targets, each layer's values, the gradients, the error after the step.

    Args:
        d: the verified Derivation.
        inline: prints one SymPy expression as inline MathML.
        shown_units: the unit numbers (0-based) a layer of a given width shows.
        ex: the example (seeded or the user's file).
        small: print every gradient up to this many parameters, else the sampled ones.
        layer_name: the notation's number of a layer (the plots' labels).
        printing: the page's printing object (:class:`derive.render.html.teach.Printing`) for the hand
            calculation of one output and one hidden unit; None leaves it out.
    """
    shown = [layer.weights[0][0] for layer in d.layers]  # the hand calculation's weights are checked too
    step = example_mod.run(d, ex, shown)
    v = step.values

    def rows(symbols) -> list[dict]:
        return [{"sym": Markup(inline(s)), "value": Markup(number(v[s], given=True))} for s in symbols]

    io = rows([d.inputs[k] for k in shown_units(len(d.inputs))])
    io += rows([d.targets[k] for k in shown_units(len(d.targets))])
    layers = []
    for layer in d.layers:
        units = shown_units(layer.n_out)
        layers.append(
            {
                "index": layer.index,
                "units": [
                    {
                        "a": Markup(inline(layer.a[k])),
                        "a_value": Markup(number(v[layer.a[k]])),
                        "out": Markup(inline(layer.out[k])),
                        "out_value": Markup(number(v[layer.out[k]])),
                        "delta": Markup(inline(layer.delta[k])),
                        "delta_value": Markup(number(v[layer.delta[k]])),
                    }
                    for k in units
                ],
            }
        )
    if d.spec.n_parameters <= small:
        positions = [(p.key, p.index) for p in d.parameters]
    else:
        positions = sorted(step.fd)
    grads = []
    for key, index in positions:
        grads.append(
            {
                "sym": Markup(inline(_symbol(key, index))),
                "before": Markup(number(float(step.params[key][index]), given=True)),
                "grad": Markup(number(float(step.total[key][index]))),
                "fd": Markup(number(step.fd[(key, index)])) if (key, index) in step.fd else "",
                "after": Markup(number(float(step.updated[key][index]))),
            }
        )
    hand_output = hand_hidden = None
    if printing is not None:
        hand_output = teach.hand_lines(d, printing, step, d.layers[-1])
        hand_hidden = teach.hand_lines(d, printing, step, d.layers[-2]) if len(d.layers) > 1 else None
    stale = None
    if step.stale:
        first = d.layers[-2].delta[0]
        stale = {
            "sym": Markup(inline(first)),
            "value": Markup(number(step.stale[first])),
            "right": Markup(number(v[first])),
        }
    return {
        "adam": _adam(d, inline, step, ex, positions, printing) if d.spec.optimizer == "adam" else None,
        "hand_output": hand_output,
        # a wide layer's long sums are elided alike in the formula and its numbers (the text says so)
        "hand_elided": any(r.get("elided") for r in (hand_output or []) + (hand_hidden or [])),
        "hand_hidden": hand_hidden,
        "zeros": hand.zeros(d, step, [_symbol(k, i) for k, i in positions]),
        "stale": stale,
        "n_checked": len(step.fd),
        "all_checked": len(step.fd) == d.spec.n_parameters,
        "revivable": any(seeding.flat_below_zero(name) for name in d.spec.activations[:-1]),
        "source": ex.source,
        "lr": Markup(number(ex.lr, given=True)),
        "decay": Markup(number(ex.decay, given=True)) if d.spec.weight_decay else None,
        "decays_biases": d.spec.bias and d.spec.decay_biases,
        "penalty": Markup(number(step.penalty)),
        "penalty_after": Markup(number(step.penalty_after)),
        "io": io,
        "layers": layers,
        "gradients": grads,
        "all": d.spec.n_parameters <= small,
        "error": Markup(number(step.error)),
        "error_after": Markup(number(step.error_after)),
        "curve": svg_plots.curve(example_mod.error_curve(d, ex), plots.CURVE_STEPS),
        "bars": svg_plots.bars(plots.norms(d, step.total), [str(layer_name(layer.index)) for layer in d.layers]),
    }


def _adam(d: Derivation, inline, step: example_mod.Step, ex: example_mod.Example, positions, printing) -> dict:
    """Adam's first step of the example: constants, each listed parameter's moments and change, one weight by hand."""
    rows = []
    for key, index in positions:
        row = {"sym": Markup(inline(_symbol(key, index)))}
        for part, arrays in step.adam.items():
            row[part] = Markup(numbers.html(float(arrays[key][index]), small=part != "change"))
        rows.append(row)
    contrast = hand.adam_contrast(d, step, [_symbol(k, i) for k, i in positions])
    for entry in (contrast["hand"], contrast["least"]):
        if entry:
            entry["gd"] = Markup(number(-ex.lr * entry["grad"]))  # gradient descent's change, for contrast
            entry["sym"], entry["grad"] = Markup(inline(entry["sym"])), Markup(number(entry["grad"]))
            entry["change"] = Markup(number(entry["change"]))
    lines = None
    if printing is not None:
        lines = hand.adam_lines(d, printing, step, ex)
        for r in lines:  # the result as MathML, a small moment with its power of ten
            r["result_ml"] = Markup(
                printing.tex(sp.UnevaluatedExpr(hand.Valued("r", r["value"], bare=True, small=r["small"])))
            )
    return {
        "beta1": Markup(number(ex.beta1, given=True)),
        "beta2": Markup(number(ex.beta2, given=True)),
        "eps": Markup(number(ex.eps, given=True)),
        "rows": rows,
        "hand": lines,
        "contrast": contrast,
    }
