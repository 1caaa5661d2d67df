"""One shared central-difference gradient check (combined absolute/relative tolerance)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def central_difference(f: Callable[[np.ndarray], float], theta: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """df/dtheta by central differences, one coordinate at a time."""
    grad = np.zeros_like(theta, dtype=float)
    for n in range(theta.size):
        up, down = theta.copy(), theta.copy()
        up.flat[n] += h
        down.flat[n] -= h
        grad.flat[n] = (f(up) - f(down)) / (2 * h)
    return grad


def assert_close(got: np.ndarray, want: np.ndarray, atol: float = 1e-6, rtol: float = 1e-5, what: str = "") -> None:
    """|got - want| <= atol + rtol * |want| everywhere, with the worst entry in the message."""
    got, want = np.asarray(got, float), np.asarray(want, float)
    err = np.abs(got - want) - (atol + rtol * np.abs(want))
    worst = int(np.argmax(err)) if err.size else 0
    assert err.size == 0 or err.flat[worst] <= 0, (
        f"{what}: entry {worst}: got {got.flat[worst]!r}, want {want.flat[worst]!r}"
    )


def entry_difference(loss: Callable[[dict], float], params: dict, key: str, index: tuple, h: float = 1e-6) -> float:
    """dE/d params[key][index] by one central difference; ``loss`` takes a parameter dict, ``params`` is unchanged."""
    up, down = {k: v.copy() for k, v in params.items()}, {k: v.copy() for k, v in params.items()}
    up[key][index] += h
    down[key][index] -= h
    return (loss(up) - loss(down)) / (2 * h)
