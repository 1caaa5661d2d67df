"""The worked example's two plots as inline SVG: the error over many steps, and each layer's gradient norm.

The points are those of :mod:`derive.render.plots`, the same the PDF draws with pgfplots.
Every pixel coordinate is rounded to one decimal, so the same points give the same markup;
each plotted number is also written, as text, in a ``data-`` attribute and a tooltip.
"""

from __future__ import annotations

import math

#: the curve's picture: size, and the margins around its axes (pixels)
CURVE_W, CURVE_H = 600, 280
#: the bar chart's picture
BARS_W, BARS_H = 420, 260
LEFT, RIGHT, TOP, BOTTOM = 78, 24, 24, 56
BAR_WIDTH = 44
#: x ticks of the curve every this many steps
X_TICK = 50


def _px(value: float) -> str:
    """A pixel coordinate as written in the markup (one decimal, no "-0.0")."""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def _data(points: list[tuple[int, float]]) -> str:
    """The points as text, ``x,y`` pairs separated by spaces, numbers as the PDF prints them."""
    return " ".join(f"{n},{v:.6g}" for n, v in points)


def curve(points: list[tuple[int, float]], steps: int) -> dict | None:
    """A line of the error against the step on a logarithmic error axis, with ticks at whole powers of ten."""
    if len(points) < 2:
        return None
    logs = [math.log10(v) for _, v in points]
    low, high = math.floor(min(logs)), math.ceil(max(logs))
    if high == low:
        high = low + 1
    x0, x1, y0, y1 = LEFT, CURVE_W - RIGHT, CURVE_H - BOTTOM, TOP

    def x(n: float) -> float:
        return x0 + (x1 - x0) * n / steps

    def y(log: float) -> float:
        return y0 - (y0 - y1) * (log - low) / (high - low)

    every = max(1, math.ceil((high - low) / 6))  # at most about six labelled powers of ten
    yticks = [{"y": _px(y(p)), "label": f"10^{p}", "exp": p} for p in range(low, high + 1, every)]
    xticks = [{"x": _px(x(n)), "label": str(n)} for n in range(0, steps + 1, X_TICK)]
    return {
        **_frame(CURVE_W, CURVE_H, x0, x1, y0, y1),
        "line": " ".join(f"{_px(x(n))},{_px(y(log))}" for (n, _), log in zip(points, logs)),
        "data": _data(points),
        "xticks": xticks,
        "yticks": yticks,
        "steps": steps,
        "first": points[0][1],
        "last": points[-1][1],
        "n_last": points[-1][0],
        "scale": {"x": (x1 - x0) / steps, "low": low, "high": high},
    }


def bars(norms: list[tuple[int, float]], names: list[str]) -> dict:
    """One bar per layer, height proportional to its gradient norm, the value above it."""
    top = max(v for _, v in norms) or 1.0
    x0, x1, y0, y1 = LEFT, BARS_W - RIGHT, BARS_H - BOTTOM, TOP + 16  # room above the tallest bar for its value
    slot = (x1 - x0) / len(norms)
    out = []
    for k, ((layer, value), name) in enumerate(zip(norms, names)):
        height = (y0 - y1) * value / top
        centre = x0 + slot * (k + 0.5)
        out.append(
            {
                "layer": layer,
                "name": name,
                "value": f"{value:.6g}",
                "x": _px(centre - BAR_WIDTH / 2),
                "y": _px(y0 - height),
                "w": BAR_WIDTH,
                "h": _px(height),
                "cx": _px(centre),
                "ty": _px(y0 - height - 5),
            }
        )
    return {
        **_frame(BARS_W, BARS_H, x0, x1, y0, y1),
        "bars": out,
        "data": _data(norms),
        "top": f"{top:.6g}",
    }


def _frame(width: int, height: int, x0: float, x1: float, y0: float, y1: float) -> dict:
    """The picture's size and its plot area (left, right, bottom, top edges and their midpoints)."""
    return {
        "width": width,
        "height": height,
        "x0": x0,
        "x1": x1,
        "y0": y0,
        "y1": y1,
        "xmid": _px((x0 + x1) / 2),
        "ymid": _px((y0 + y1) / 2),
    }
