"""The Python API: every output of the command line one call away.

>>> import derive
>>> d = derive.derivation("2-3-2", act="tanh,softmax", loss="ce")
>>> str(d.delta(2, 1))
'{\\\\delta^{(2)}_{1}} = y_{1} - t_{1}'

Bad input raises :class:`derive.spec.SpecError` with the same one-line message the
command line prints after ``backprop-derive: error:``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from types import ModuleType

import sympy as sp

from derive import pipeline
from derive.core.model import Derivation, ParameterGroup
from derive.diff import report
from derive.display import DiffResult, Formula, Formulas
from derive.output import write_all
from derive.render import example as example_mod
from derive.render import formulas as formulas_json
from derive.render.html import page
from derive.render.latex import document, pdf
from derive.render.trainer import render as trainer_render
from derive.render.trainer.load import load_trainer
from derive.spec import SpecError, check_style, make_spec


class Derived:
    """A derived and proved network, with its outputs (a thin wrapper around :class:`Derivation`).

    Attributes not defined here (``spec``, ``layers``, ``parameters``, ``proof_summary``, ...) are
    the Derivation's own; ``derivation`` is the Derivation itself.
    """

    def __init__(self, derivation: Derivation, notation: str = "bishop"):
        self.derivation = derivation
        self.notation = pipeline.check_notation(notation)

    def __getattr__(self, name: str):
        if name.startswith("_") or name == "derivation":
            raise AttributeError(name)
        return getattr(self.derivation, name)

    def in_notation(self, notation: str) -> Derived:
        """The same derivation, printed in another notation preset."""
        return Derived(self.derivation, notation)

    # -- maths -------------------------------------------------------------------------------
    def _formula(self, lhs: sp.Expr, rhs: sp.Expr, title: str = "", number=None, eq_id=None) -> Formula:
        return Formula(lhs, rhs, self.notation, self.derivation.spec.n_layers, title, number, eq_id)

    @property
    def equations(self) -> Formulas:
        """The numbered equations of the document, in document order."""
        d = self.derivation
        items = [self._formula(e.lhs, e.rhs, e.title, e.number, e.id) for e in d.equations]
        return Formulas(items, f"Backpropagation for the {d.spec.arch} network")

    def _layer(self, layer: int):
        n = self.derivation.spec.n_layers
        if not isinstance(layer, int) or not 1 <= layer <= n:
            raise SpecError(f"layer {layer!r} does not exist; valid: 1 to {n}")
        return self.derivation.layers[layer - 1]

    def delta(self, layer: int, unit: int | None = None) -> Formula | Formulas:
        """The error signal δ of one unit (1-based, as in the document), or of every unit of a layer."""
        lay = self._layer(layer)
        if unit is None:
            units = range(1, lay.n_out + 1)
            return Formulas([self.delta(layer, j) for j in units], f"error signals of layer {layer}")
        if not isinstance(unit, int) or not 1 <= unit <= lay.n_out:
            raise SpecError(f"unit {unit!r} does not exist in layer {layer}; valid: 1 to {lay.n_out}")
        return self._formula(lay.delta[unit - 1], lay.delta_forms[unit - 1], f"delta, layer {layer}")

    def _group(self, key: str) -> ParameterGroup:
        for g in self.derivation.parameter_groups:
            if g.key == key:
                return g
        valid = ", ".join(g.key for g in self.derivation.parameter_groups)
        raise SpecError(f"no parameter array {key!r}; valid: {valid}")

    def gradient(self, key: str, j: int, i: int | None = None) -> Formula:
        """∂E/∂θ of one parameter in δ form: ``gradient("W2", j, i)``, ``gradient("b2", j)``.

        ``j`` and ``i`` count from 1 as in the document (the trainer's ``W2[j - 1, i - 1]``).
        """
        g = self._group(key)
        want = g.shape if g.kind == "weight" else g.shape + (None,)
        given = (j, i)
        for n, k, what in zip(want, given, ("j", "i")):
            if n is None:
                if k is not None:
                    raise SpecError(f"{key} is a bias vector: give only the unit j")
            elif not isinstance(k, int) or not 1 <= k <= n:
                raise SpecError(f"{what} = {k!r} is out of range for {key}; valid: 1 to {n}")
        p = self.derivation.parameters[self._position(g, j, i)]
        number = self.derivation.equation(g.equation).number
        return self._formula(sp.Derivative(sp.Symbol("E"), p.symbol), p.gradient, f"gradient of {key}", number)

    def _position(self, g: ParameterGroup, j: int, i: int | None) -> int:
        """Where a parameter sits in ``Derivation.parameters`` (per layer, per unit: weights, then bias)."""
        start = 0
        for layer in self.derivation.layers[: g.layer - 1]:
            start += layer.n_out * (layer.n_in + (1 if layer.biases else 0))
        lay = self.derivation.layers[g.layer - 1]
        block = lay.n_in + (1 if lay.biases else 0)
        return start + (j - 1) * block + (i - 1 if i is not None else lay.n_in)

    # -- outputs -----------------------------------------------------------------------------
    def latex(self, example: str | Path | None = None, style: str | None = None) -> str:
        """The text of derivation.tex (``example``: a worked-example JSON file, as ``--example``;
        ``style``: the style of the trainer whose lines it shows, as ``--style``)."""
        path = _example(example, self.derivation)
        return document.render(self.derivation, path, self.notation, self.trainer_source(style))

    def html(self, example: str | Path | None = None, style: str | None = None) -> str:
        """The text of derivation.html: the document as one web page, maths in MathML, no scripts."""
        path = _example(example, self.derivation)
        return page.render(self.derivation, self.notation, path, self.trainer_source(style))

    def pdf(self, example: str | Path | None = None, style: str | None = None) -> bytes:
        """derivation.pdf as bytes (needs TeX; raises RuntimeError with TeX's first error otherwise)."""
        return pdf.compile_pdf(self.latex(example, style))

    def formulas(self) -> dict:
        """The content of formulas.json."""
        return json.loads(formulas_json.render(self.derivation, self.notation))

    def trainer_source(self, style: str | None = None) -> str:
        """The text of trainer.py (``style``: scalar, vector or None for the default by size)."""
        check_style(style, self.derivation.spec)  # known, and scalar only up to its size limit
        return trainer_render.render(self.derivation, style)

    def trainer(self, style: str | None = None, path: str | Path | None = None) -> ModuleType:
        """The generated trainer, written to a real file and imported (so ``inspect`` and pdb see its source).

        ``path`` is the file to write; by default ``trainer.py`` in a new temporary folder named after the
        network, imported under that folder's name (see :func:`derive.load_trainer`).
        """
        source = self.trainer_source(style)
        if path is None:
            prefix = f"{self.derivation.spec.name}-{style or 'default'}-"
            path = Path(tempfile.mkdtemp(prefix=prefix)) / "trainer.py"
        path = Path(path)
        path.write_text(source)
        return load_trainer(path)

    def diff(self, against: str = "all", act: str | None = None, loss: str | None = None) -> DiffResult:
        """Compare with textbook forms (catalog ids joined by ',' or 'all'), as ``backprop-derive diff``.

        By default each form is compared under this network's activations and loss.
        """
        s = self.derivation.spec
        act = act or ",".join(s.activations)
        loss = loss or s.loss
        records = report.run(s.arch, against, None, act, loss)
        return DiffResult(records, s.arch, report.as_table(records, s.arch), report.status(records))

    def write(self, out: str | Path, style: str | None = None, example: str | Path | None = None) -> Path:
        """Write trainer.py, formulas.json, derivation.tex and .html into ``out`` at once (``build --no-pdf``)."""
        check_style(style, self.derivation.spec)  # known, and scalar only up to its size limit
        path = _example(example, self.derivation)
        options = pipeline.BuildOptions(style=style, example=path, pdf=False, notation=self.notation)
        write_all(Path(out), pipeline.render_files(self.derivation, options))
        return Path(out)

    # -- display -----------------------------------------------------------------------------
    def _repr_markdown_(self) -> str:
        s = self.derivation.spec
        head = (
            f"**Backpropagation for {s.arch}** ({', '.join(s.activations)}; {s.loss} loss; "
            f"notation {self.notation})  \n{self.derivation.proof_summary}\n\n"
        )
        return head + self.equations._repr_markdown_().split("\n", 2)[2]

    def __repr__(self) -> str:
        s = self.derivation.spec
        return f"<Derived {s.arch} act={','.join(s.activations)} loss={s.loss} notation={self.notation}>"


def _example(example: str | Path | None, d: Derivation) -> Path | None:
    if example is None:
        return None
    path = Path(example)
    if not path.is_file():
        raise SpecError(f"example file {str(example)!r} does not exist")
    example_mod.load(path, d.spec)  # a malformed file raises SpecError
    return path


def derivation(
    arch: str,
    act: str = "sigmoid",
    loss: str = "sse",
    bias: bool = True,
    mean: bool = False,
    notation: str = "bishop",
    optimizer: str = "sgd",
    weight_decay: bool = False,
    decay_biases: bool = False,
) -> Derived:
    """Derive and prove backpropagation for one network, as ``backprop-derive build`` does.

    Args:
        arch: layer sizes joined by '-', e.g. ``"2-3-2"``.
        act: one activation, or one per weight layer joined by ',' (``"tanh,softmax"``).
        loss: ``sse``, ``mse``, ``ce`` or ``bce``.
        bias: with bias terms.
        mean: the error of a batch is the mean over its samples (default: the sum).
        notation: the notation preset of every printed formula (see ``backprop-derive build --help``).
        optimizer: the update rule, ``sgd``, ``momentum`` or ``adam`` (as ``build --optimizer``).
        weight_decay: train on E + (λ/2) Σ w² (as ``build --weight-decay``).
        decay_biases: with weight decay, penalise the biases too (as ``build --decay-biases``).
    Returns:
        The verified derivation with its outputs as methods.
    Raises:
        SpecError: bad input, with the command line's one-line message.
    """
    spec = make_spec(
        arch, act, loss, bias=bias, mean=mean, optimizer=optimizer, weight_decay=weight_decay, decay_biases=decay_biases
    )
    pipeline.check_notation(notation)
    return Derived(pipeline.derivation(spec), notation)
