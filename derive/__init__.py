"""backprop-derive: derive, prove and emit backpropagation for a named network.

Public API::

    import derive
    d = derive.derivation("2-3-2", act="tanh,softmax", loss="ce")
    d.delta(2, 1)            # the error signal of output unit 1, shown as maths in Jupyter
    d.gradient("W1", 3, 2)   # dE/dw of one weight, in δ form
    d.equations              # the document's numbered equations
    d.latex(), d.html(), d.formulas(), d.trainer(), d.diff("bishop")

A generated trainer, imported under a name of its own (two nets in one process)::

    net = derive.load_trainer("generated/2-3-2/trainer.py", "net_a")

The stages underneath: ``verify(derive(make_spec("2-3-2")))`` gives the bare
:class:`Derivation` that every output reads.
"""

from __future__ import annotations

import importlib

#: Where each public name lives. The names are imported on first use, so that the command line
#: (``python -m derive``, which starts here) loads only the modules its command needs.
_HOME = {
    "Derived": "derive.api",
    "derivation": "derive.api",
    "Derivation": "derive.core.model",
    "Equation": "derive.core.model",
    "Layer": "derive.core.model",
    "Parameter": "derive.core.model",
    "Proof": "derive.core.model",
    "derive": "derive.core.symbolic",
    "DiffResult": "derive.display",
    "Formula": "derive.display",
    "Formulas": "derive.display",
    "VerificationError": "derive.prove.verify",
    "verify": "derive.prove.verify",
    "load_trainer": "derive.render.trainer.load",
    "NetworkSpec": "derive.spec",
    "SpecError": "derive.spec",
    "make_spec": "derive.spec",
    "parse_arch": "derive.spec",
}


def __getattr__(name: str):
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'derive' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # the next look-up is an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))


__version__ = "0.1.0"

__all__ = [
    "Derivation",
    "Derived",
    "DiffResult",
    "Equation",
    "Formula",
    "Formulas",
    "Layer",
    "NetworkSpec",
    "Parameter",
    "Proof",
    "SpecError",
    "VerificationError",
    "__version__",
    "derivation",
    "derive",
    "load_trainer",
    "make_spec",
    "parse_arch",
    "verify",
]
