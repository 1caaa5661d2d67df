"""The digits table of `make bench`: the README's example against scikit-learn's MLPClassifier of the same size.

Both train 64-32-10 tanh,softmax with cross-entropy averaged over mini-batches of 32 by plain SGD
(lr 0.5, no momentum, no penalty) for 30 epochs on the same split of scikit-learn's digits.
"""

from __future__ import annotations

import warnings
from functools import partial
from pathlib import Path

import numpy as np
from timing import load, load_trainer, median, ratio, rounds

EPOCHS, LR, BATCH = 30, 0.5, 32


def _mlp():
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=(32,),
        activation="tanh",
        solver="sgd",
        alpha=0.0,
        batch_size=BATCH,
        learning_rate_init=LR,
        momentum=0.0,
        nesterovs_momentum=False,
        max_iter=EPOCHS,
        n_iter_no_change=EPOCHS + 1,
        tol=0.0,
        random_state=0,
    )


def _fit_mlp(X, y):
    with warnings.catch_warnings():  # it warns that 30 epochs did not converge, which is the point
        warnings.simplefilter("ignore")
        return _mlp().fit(X, y)


def digits_rows(tmp: Path) -> list[str]:
    """Test accuracy and ms per epoch of both, timed in interleaved rounds of whole 30-epoch fits."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    net = load_trainer("64-32-10", "default", tmp, "tanh,softmax", "ce", mean=True)
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.25, random_state=0, stratify=y)
    fits = {
        "trainer": partial(
            net.train, net.init_params(seed=0), X_train, y_train, EPOCHS, LR, batch_size=BATCH, eval_every=0
        ),
        "sklearn": partial(_fit_mlp, X_train, y_train),
    }
    params, _ = fits["trainer"]()
    accuracy = {"trainer": np.mean(net.predict(params, X_test) == y_test)}
    accuracy["sklearn"] = np.mean(fits["sklearn"]().predict(X_test) == y_test)
    times = rounds(fits, n_rounds=9, seconds=0.1)
    ms = {name: 1e3 * median(ts) / EPOCHS for name, ts in times.items()}
    rows = [
        "| 64-32-10 tanh,softmax/ce, mean over batches of 32 | test accuracy | ms/epoch | load |",
        "|---|---:|---:|---:|",
        f"| generated trainer (`train`, eval_every=0) | {accuracy['trainer']:.3f} | {ms['trainer']:.2f} | {load(1)} |",
        f"| scikit-learn MLPClassifier (solver sgd) | {accuracy['sklearn']:.3f} | {ms['sklearn']:.2f} | {load(1)} |",
        "",
        f"MLPClassifier / trainer time (median of same-round ratios): {ratio(times, 'sklearn', 'trainer'):.2f}.",
    ]
    return rows
