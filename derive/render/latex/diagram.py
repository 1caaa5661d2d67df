"""The TikZ picture of the network: node positions and labels as data for the template.

Which units are drawn and whether every weight is labelled is :mod:`derive.render.chain`'s, as on the page.
"""

from __future__ import annotations

from dataclasses import dataclass

from derive.core.model import Derivation
from derive.render.chain import MAX_DRAWN, drawn_units, labels_every_weight
from derive.render.printer import NotationLatexPrinter

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


#: a weight label's box (cm): labels whose centres are closer than this in both directions overlap
LABEL_BOX = (0.95, 0.42)
#: where along an edge (from its source) a label may sit, in order of preference: near the unit it feeds
LABEL_POSITIONS = (0.74, 0.82, 0.64, 0.56, 0.88, 0.48, 0.4)


#: a unit's radius (cm): half the ``minimum size`` of the template's unit style; TikZ starts and ends an
#: edge between two units on their borders, and its ``pos`` is measured along that shortened line
UNIT_RADIUS = 0.525


def label_point(source: tuple[float, float], target: tuple[float, float], pos: float) -> tuple[float, float]:
    """Where TikZ puts a label at ``pos`` on the edge between the units centred at ``source`` and ``target``.

    >>> label_point((0, 0), (4.2, 0), 0.5), label_point((0, 0), (4.2, 0), 0.0)
    ((2.1, 0.0), (0.525, 0.0))
    """
    dx, dy = target[0] - source[0], target[1] - source[1]
    length = (dx * dx + dy * dy) ** 0.5
    start = (source[0] + UNIT_RADIUS * dx / length, source[1] + UNIT_RADIUS * dy / length)
    run = 1 - 2 * UNIT_RADIUS / length
    return (round(start[0] + pos * run * dx, 9), round(start[1] + pos * run * dy, 9))


def overlaps(p: tuple[float, float], q: tuple[float, float]) -> bool:
    return abs(p[0] - q[0]) < LABEL_BOX[0] and abs(p[1] - q[1]) < LABEL_BOX[1]


def place_label(source: tuple[float, float], target: tuple[float, float], placed: list[tuple[float, float]]) -> float:
    """The first position along the edge whose label box overlaps no label placed so far (records it)."""
    for pos in LABEL_POSITIONS:
        point = label_point(source, target, pos)
        if not any(overlaps(point, q) for q in placed):
            placed.append(point)
            return pos
    raise ValueError("no free place for a weight label")  # chain.LABEL_WEIGHTS keeps nets far from this


def diagram(d: Derivation, printer: NotationLatexPrinter) -> dict:
    """Nodes, edges, gaps and layer captions of the network picture."""
    columns = [d.inputs] + [layer.out for layer in d.layers]
    nodes, gaps, captions = [], [], []
    names: list[dict[int, str]] = []
    tallest = max(len(drawn_units(len(c))) for c in columns)
    column, scale = spacing(len(columns))
    for col, units in enumerate(columns):
        shown = drawn_units(len(units))
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
        what = (
            "inputs"
            if col == 0
            else (
                ("outputs" if len(units) > 1 else "output")
                if col == len(columns) - 1
                else f"hidden layer {printer.notation.layer_name(col)}"
            )
        )
        act = "" if col == 0 else d.layers[col - 1].activation.replace("_", " ")
        captions.append({"x": col * column, "y": round(-(tallest / 2) * ROW_CM - 0.2, 3), "what": what, "act": act})
    label = labels_every_weight(d)
    where = {n.name: (n.x, n.y) for n in nodes}
    edges, placed_labels = [], []
    for layer in d.layers:
        below, above = names[layer.index - 1], names[layer.index]
        first_j, first_i = min(above), min(below)
        for j, target in above.items():
            for i, source in below.items():
                # every weight is labelled on small nets; otherwise one representative edge per layer is
                show = label or (j == first_j and i == first_i)
                text = printer.doprint(layer.weights[j][i]) if show else ""
                pos = place_label(where[source], where[target], placed_labels) if text else 0.74
                edges.append(Edge(source, target, text, pos))
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


def backward(d: Derivation, printer: NotationLatexPrinter) -> dict:
    """The same picture run backwards: each unit labelled with its δ, arrows from each layer to the one below.

    One representative edge per layer carries its weight, the factor the error signal is multiplied by on the way down.
    """
    forward = diagram(d, printer)
    deltas = {
        f"n{layer.index}u{j + 1}": printer.doprint(layer.delta[j]) for layer in d.layers for j in range(layer.n_out)
    }
    nodes = [Node(n.name, n.x, n.y, deltas.get(n.name, n.label), n.kind) for n in forward["nodes"]]
    where = {n.name: (n.x, n.y) for n in nodes}
    edges, placed = [], []
    for e in forward["edges"]:
        representative = e.source.endswith("u1") and e.target.endswith("u1")
        text = ""
        if representative:
            layer = d.layers[int(e.target[1 : e.target.index("u")]) - 1]
            text = printer.doprint(layer.weights[0][0])
        pos = place_label(where[e.target], where[e.source], placed) if text else 0.5
        edges.append(Edge(e.target, e.source, text, pos))
    return {**forward, "nodes": nodes, "edges": edges}
