"""The TikZ picture of the network: node positions and labels as data for the template."""

from __future__ import annotations

from dataclasses import dataclass

from derive.core.model import Derivation
from derive.render.printer import NotationLatexPrinter

#: Layers wider than this are drawn as their first units, a gap and the last unit.
MAX_DRAWN = 7
#: Weights are labelled on the edges when the net has at most this many and no layer wider than LABEL_WIDTH.
LABEL_WEIGHTS = 12
LABEL_WIDTH = 3
COLUMN_CM = 4.2
ROW_CM = 1.75
#: The picture must fit the text width (A4 less two 2.2 cm margins) with its target labels.
WIDTH_CM = 16.2
#: Width right of the last column: half a unit, the arrow to the target and its label.
TARGETS_CM = 2.4
#: Columns closer than this would crowd the units; a deeper net is drawn scaled down instead.
MIN_COLUMN_CM = 2.0


def spacing(n_columns: int) -> tuple[float, float | None]:
    """Distance between columns (cm) and the factor the picture is scaled by (None: not scaled).

    >>> spacing(3), spacing(5), spacing(10)
    ((4.2, None), (3.45, None), (2.0, 0.794))
    """
    gaps = max(n_columns - 1, 1)
    column = round(max(MIN_COLUMN_CM, min(COLUMN_CM, (WIDTH_CM - TARGETS_CM) / gaps)), 3)
    width = gaps * column + TARGETS_CM
    return column, (round(WIDTH_CM / width, 3) if width > WIDTH_CM else None)


@dataclass(frozen=True)
class Node:
    name: str  # TikZ node name
    x: float
    y: float
    label: str  # LaTeX (maths)
    kind: str  # input, hidden, output, target


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str  # "" when unlabelled
    pos: float


def _shown(n: int) -> list[int]:
    """0-based units drawn for a layer of n units (-1 marks the gap)."""
    if n <= MAX_DRAWN:
        return list(range(n))
    return [0, 1, 2, -1, n - 1]


def diagram(d: Derivation, printer: NotationLatexPrinter) -> dict:
    """Nodes, edges, gaps and layer captions of the network picture."""
    columns = [d.inputs] + [layer.out for layer in d.layers]
    nodes, gaps, captions = [], [], []
    names: list[dict[int, str]] = []
    tallest = max(len(_shown(len(c))) for c in columns)
    column, scale = spacing(len(columns))
    for col, units in enumerate(columns):
        shown = _shown(len(units))
        top = (len(shown) - 1) / 2 * ROW_CM
        placed = {}
        for row, u in enumerate(shown):
            y = round(top - row * ROW_CM, 3)
            if u < 0:
                gaps.append({"x": col * column, "y": y})
                continue
            kind = "input" if col == 0 else ("output" if col == len(columns) - 1 else "hidden")
            name = f"n{col}u{u + 1}"
            nodes.append(Node(name, col * column, y, printer.doprint(units[u]), kind))
            placed[u] = name
        names.append(placed)
        what = "inputs" if col == 0 else ("outputs" if col == len(columns) - 1 else f"hidden layer {col}")
        act = "" if col == 0 else d.layers[col - 1].activation.replace("_", " ")
        captions.append({"x": col * column, "y": round(-(tallest / 2) * ROW_CM - 0.2, 3), "what": what, "act": act})
    n_weights = sum(layer.n_in * layer.n_out for layer in d.layers)
    label = n_weights <= LABEL_WEIGHTS and max(d.spec.sizes) <= LABEL_WIDTH
    edges = []
    for layer in d.layers:
        below, above = names[layer.index - 1], names[layer.index]
        for j, target in above.items():
            for i, source in below.items():
                text = printer.doprint(layer.weights[j][i]) if label else ""
                edges.append(Edge(source, target, text, 0.74))
    last = len(columns) - 1
    targets = []
    for k, name in names[-1].items():
        node = next(n for n in nodes if n.name == name)
        targets.append({"of": name, "y": node.y, "label": printer.doprint(d.targets[k])})
    return {
        "nodes": nodes,
        "edges": edges,
        "gaps": gaps,
        "captions": captions,
        "targets": targets,
        "error_x": round(last * column + 2.6, 3),
        "scale": scale,
        "labelled": label,
        "clipped": any(len(c) > MAX_DRAWN for c in columns),
    }
