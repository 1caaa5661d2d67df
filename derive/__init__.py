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

from derive.api import Derived, derivation
from derive.core.model import Derivation, Equation, Layer, Parameter, Proof
from derive.core.symbolic import derive
from derive.display import DiffResult, Formula, Formulas
from derive.prove.verify import VerificationError, verify
from derive.render.trainer.load import load_trainer
from derive.spec import NetworkSpec, SpecError, make_spec, parse_arch

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
