"""``python -m derive`` is the same as the ``backprop-derive`` command."""

from derive.cli import run

run()
