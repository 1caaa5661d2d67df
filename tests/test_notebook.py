"""The example notebook runs from top to bottom in a fresh kernel, and its maths displays as maths."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).parent / "examples" / "derive.ipynb"
#: SymPy's own names of the derivation's symbols (``idx1``, ``delta_2_1``, ``w_1_3_2``), never shown to a reader
INTERNAL = re.compile(r"idx|(?<![\\A-Za-z])(delta|w|b|a|z|y|t|x)_[0-9]")


@pytest.fixture(scope="module")
def executed():
    os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")  # jupyter_core's own paths, without its migration warning
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()
    return nb


def test_no_cell_fails(executed):
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == [], [f"{e.ename}: {e.evalue}" for e in errors]


def test_maths_is_displayed_as_maths_without_internal_names(executed):
    shown = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "execute_result"]
    assert len(shown) >= 7
    for out in shown:
        assert "text/markdown" in out.data or "text/latex" in out.data, out.data.keys()
        rich = out.data.get("text/markdown", "") + out.data.get("text/latex", "")
        assert not INTERNAL.search(rich), INTERNAL.search(rich)
    assert any(r"\delta^{(2)}_{k}" in o.data.get("text/markdown", "") for o in shown)


def test_training_printed_a_lower_loss(executed):
    text = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    before, after = (float(v) for v in text.split("loss ")[1].split()[0:3:2])
    assert after < before
