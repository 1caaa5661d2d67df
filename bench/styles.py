"""The mini-batch table of `make bench`: ms per epoch of ``train`` in each trainer style, by batch size."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
from timing import load, load_trainer, median, ratio, rounds

#: nets of the style table: two small ones, a deeper one whose default has the one-sample float functions
#: (render.SCALAR_MAX_PARAMETERS_PER_LAYER), one just above that bound (its default has none) and the
#: size of the digits example
STYLE_NETS = (
    ("2-3-2", "tanh,softmax", "ce"),
    ("4-8-3", "tanh,softmax", "ce"),
    ("4-12-12-4", "tanh,tanh,softmax", "ce"),
    ("10-16-8", "tanh,softmax", "ce"),
    ("64-32-10", "tanh,softmax", "ce"),
)
STYLE_BATCHES = (1, 4, 16, 32)


def minibatch_rows(tmp: Path) -> list[str]:
    """ms per epoch of ``train`` (150 samples, no loss evaluation) in each style, by batch size."""
    rows = [
        "| net | parameters | batch | scalar ms/epoch | vector ms/epoch | default ms/epoch | default / faster style "
        "| load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for arch, act, loss in STYLE_NETS:
        trainers = {s: load_trainer(arch, s, tmp, act, loss) for s in ("scalar", "vector", "default")}
        rng = np.random.default_rng(0)
        sizes = trainers["vector"].SIZES
        X = rng.normal(size=(150, sizes[0]))
        T = np.eye(sizes[-1])[rng.integers(0, sizes[-1], 150)]
        n_params = sum(a * b + b for a, b in zip(sizes, sizes[1:]))
        for batch in STYLE_BATCHES:
            fits = {
                style: partial(tr.train, tr.init_params(0), X, T, epochs=1, lr=0.01, batch_size=batch, eval_every=0)
                for style, tr in trainers.items()
            }
            times = rounds(fits, n_rounds=15 if n_params < 1000 else 9)
            cells = " | ".join(f"{1e3 * median(times[style]):.2f}" for style in ("scalar", "vector", "default"))
            faster = ratio(times, "default", ("scalar", "vector"))
            rows.append(f"| {arch} {act}/{loss} | {n_params:,} | {batch} | {cells} | {faster:.2f} | {load(1)} |")
    return rows
