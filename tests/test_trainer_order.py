"""The scalar trainer writes its sums in the order of the unit indices, for layers of ten units and more.

SymPy orders names as strings (``z_1_10`` before ``z_1_2``); the trainer's lines list the terms
as the document does, unit 1, 2, ..., 10, 11. The numbers stay those of the derivation: the
gradients of the wide net agree with central differences of its own loss and with the vector style.
"""

from __future__ import annotations

import ast
import re

import numpy as np
import pytest
from gradcheck import assert_close, central_difference
from trainer_build import build, source

ARCH, ACT, LOSS = "3-11-12", "tanh,softmax", "ce"


def _assignments(text: str, function: str) -> dict[str, str]:
    """name -> right-hand side source of every assignment in one function of the trainer."""
    tree = ast.parse(text)
    (fn,) = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == function]
    return {
        node.targets[0].id: ast.unparse(node.value)
        for node in ast.walk(fn)
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }


def _numbers(pattern: str, text: str) -> list[int]:
    return [int(n) for n in re.findall(pattern, text)]


@pytest.mark.parametrize("functions", [("_forward_pass", "_gradients"), ("_step_one",)], ids=["batch", "floats"])
def test_sums_run_in_the_order_of_the_unit_index(functions):
    text = source(ARCH, ACT, LOSS, "scalar")
    lines = {name: rhs for fn in functions for name, rhs in _assignments(text, fn).items()}
    assert _numbers(r"\bz_1_(\d+)\b", lines["a_2_1"]) == list(range(1, 12))  # Σ_i w_1i z_i
    assert _numbers(r"\bdelta_2_(\d+)\b", lines["delta_1_1"]) == list(range(1, 13))  # Σ_k δ_k w_k1
    logsumexp = [rhs for rhs in lines.values() if "logaddexp" in rhs][0]
    assert _numbers(r"\ba_2_(\d+)\b", logsumexp) == list(range(1, 13))  # log Σ_k e^(a_k)


def test_nets_of_one_digit_units_keep_their_order():
    """Below ten units SymPy's string order is already the numeric one: the same line as before."""
    lines = _assignments(source("3-4-2", ACT, LOSS, "scalar"), "_step_one")
    assert lines["a_2_1"] == "b_2_1 + w_2_1_1 * z_1_1 + w_2_1_2 * z_1_2 + w_2_1_3 * z_1_3 + w_2_1_4 * z_1_4"


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("order")
    return build(tmp, ARCH, ACT, LOSS, "scalar"), build(tmp, ARCH, ACT, LOSS, "vector")


@pytest.mark.parametrize("batch", [1, 5])
def test_gradients_of_the_reordered_sums_are_right(wide, batch):
    scalar, vector = wide
    rng = np.random.default_rng(3)
    params = scalar.init_params(1)
    X = rng.normal(size=(batch, 3))
    T = np.eye(12)[rng.integers(0, 12, batch)]
    grads = scalar.gradients(params, X, T)
    for key, value in params.items():

        def loss_at(theta, key=key, shape=value.shape):
            return scalar.loss({**params, key: theta.reshape(shape)}, X, T)

        assert_close(grads[key].ravel(), central_difference(loss_at, value.ravel()), 1e-7, 1e-5, key)
        assert_close(grads[key], vector.gradients(params, X, T)[key], 1e-14, 1e-12, key)
