"""The network picture as inline SVG: units as circles labelled in MathML, weights as arrows.

Positions are whole pixels, so the same network always gives the same markup.
"""

from __future__ import annotations

import sympy as sp
from markupsafe import Markup

from derive.core.model import Derivation
from derive.render.chain import MAX_DRAWN, drawn_units, labels_every_weight
from derive.render.mathml import NotationMathMLPrinter

COLUMN = 170
ROW = 64
RADIUS = 24
MARGIN = 40
#: Room right of the outputs for the arrow to the target and its label.
TARGETS = 110
#: Room below the units for the captions.
CAPTION = 46
#: The box of a label inside the picture (an SVG foreignObject holding a MathML element).
LABEL_W, LABEL_H = 56, 30


def _label(x: float, y: float, maths: str, cls: str) -> dict:
    return {
        "x": round(x - LABEL_W / 2),
        "y": round(y - LABEL_H / 2),
        "w": LABEL_W,
        "h": LABEL_H,
        "maths": maths,
        "cls": cls,
    }


def diagram(d: Derivation, printer: NotationMathMLPrinter, backward: bool = False) -> dict:
    """Circles, arrows, gaps, labels and captions of the network picture, in pixels.

    With ``backward`` the picture of the backward pass: each unit labelled with its δ, the arrows
    from each layer to the one below, one representative arrow per layer labelled with the weight
    the δs are multiplied by on the way down, and ∂E/∂y entering at the outputs.
    """
    columns = [d.inputs] + [layer.out for layer in d.layers]
    tallest = max(len(drawn_units(len(c))) for c in columns)
    height = 2 * MARGIN + (tallest - 1) * ROW + CAPTION
    width = 2 * MARGIN + (len(columns) - 1) * COLUMN + TARGETS
    units, gaps, labels, captions, arrows = [], [], [], [], []
    centres: list[dict[int, tuple[int, int]]] = []
    for col, nodes in enumerate(columns):
        shown = drawn_units(len(nodes))
        top = MARGIN + (tallest - len(shown)) * ROW // 2
        x = MARGIN + col * COLUMN
        placed = {}
        kind = "input" if col == 0 else ("output" if col == len(columns) - 1 else "hidden")
        for row, u in enumerate(shown):
            y = top + row * ROW
            if u < 0:
                gaps.append({"x": x, "y": y})
                continue
            units.append({"x": x, "y": y, "r": RADIUS, "kind": kind})
            node = d.layers[col - 1].delta[u] if backward and col else nodes[u]
            labels.append(_label(x, y, Markup(printer.math(node)), "unit"))
            placed[u] = (x, y)
        centres.append(placed)
        what = (
            "inputs"
            if col == 0
            else ("outputs" if col == len(columns) - 1 else f"hidden layer {printer.notation.layer_name(col)}")
        )
        act = "" if col == 0 else d.layers[col - 1].activation.replace("_", " ")
        captions.append({"x": x, "y": height - CAPTION + 18, "what": what, "act": act})
    labelled = labels_every_weight(d)
    for layer in d.layers:
        below, above = centres[layer.index - 1], centres[layer.index]
        for j, (x2, y2) in above.items():
            for i, (x1, y1) in below.items():
                # from the edge of one circle to the edge of the other
                dx, dy = x2 - x1, y2 - y1
                length = (dx * dx + dy * dy) ** 0.5
                ux, uy = dx / length, dy / length
                if backward:  # from the unit above to the unit below, the representative arrow drawn strong
                    arrows.append(
                        {
                            "x1": round(x2 - ux * RADIUS),
                            "y1": round(y2 - uy * RADIUS),
                            "x2": round(x1 + ux * (RADIUS + 4)),
                            "y2": round(y1 + uy * (RADIUS + 4)),
                            "strong": j == min(above) and i == min(below),
                        }
                    )
                    if j == min(above) and i == min(below):
                        lx, ly = x1 + 0.5 * dx, y1 + 0.5 * dy - 12
                        labels.append(_label(lx, ly, Markup(printer.math(layer.weights[j][i])), "weight"))
                    continue
                arrows.append(
                    {
                        "x1": round(x1 + ux * RADIUS),
                        "y1": round(y1 + uy * RADIUS),
                        "x2": round(x2 - ux * (RADIUS + 4)),
                        "y2": round(y2 - uy * (RADIUS + 4)),
                    }
                )
                if labelled:
                    lx, ly = x1 + 0.72 * dx, y1 + 0.72 * dy
                    labels.append(_label(lx, ly, Markup(printer.math(layer.weights[j][i])), "weight"))
    targets = []
    for k, (x, y) in centres[-1].items():
        if backward:  # the error enters each output as its derivative by the output
            targets.append({"x1": x + RADIUS + 40, "x2": x + RADIUS + 4, "y": y})
            enters = sp.Derivative(sp.Symbol("E"), d.outputs[k])
            labels.append(_label(x + RADIUS + 40 + LABEL_W / 2 + 4, y, Markup(printer.math(enters)), "target"))
            continue
        targets.append({"x1": x + RADIUS, "x2": x + RADIUS + 40, "y": y})
        labels.append(_label(x + RADIUS + 40 + LABEL_W / 2 + 4, y, Markup(printer.math(d.targets[k])), "target"))
    return {
        "width": width,
        "height": height,
        "units": units,
        "gaps": gaps,
        "arrows": arrows,
        "targets": targets,
        "labels": labels,
        "captions": captions,
        "labelled": labelled,
        "clipped": any(len(c) > MAX_DRAWN for c in columns),
    }


def backward(d: Derivation, printer: NotationMathMLPrinter) -> dict:
    """The picture of the backward pass, on the same positions as :func:`diagram`'s."""
    return diagram(d, printer, backward=True)
