"""Run the textbook diff for the CLI and print it as a table or as JSON.

Exit status follows ``diff``: 0 when every form matches (possibly under the
source's stated convention), 1 when some form differs; bad input raises
:class:`derive.spec.SpecError` (status 2).
"""

from __future__ import annotations

import json
from pathlib import Path

from derive.diff import algorithm, compare, instantiate, table
from derive.diff.catalog import sources
from derive.diff.catalog.sources import Algorithm, CatalogError, Form, Source
from derive.spec import SpecError, make_spec


def run(arch: str, against: str | None = None, forms: str | None = None, act=None, loss=None) -> list[dict]:
    """Every verdict record for the chosen sources (or the user's forms file) on ``arch``."""
    make_spec(arch, act or "sigmoid", loss or "sse")  # a bad ARCH, ACT or LOSS is reported first
    if (against is None) == (forms is None):
        raise SpecError("diff needs exactly one of --against ID[,ID...]|all and --forms FILE.toml")
    if forms is not None:
        path = Path(forms)
        if not path.is_file():
            raise SpecError(f"forms file {forms!r} does not exist")
        chosen = [sources.load_source(path)]
    else:
        chosen = sources.select(against)
    records = Records()
    for source in chosen:
        records += compare_source(source, arch, act, loss, records.skipped)
    if not records:
        raise SpecError(_nothing(chosen, arch))
    return records


class Records(list):
    """The verdict records, and the forms that were not compared on this network with the reason."""

    def __init__(self) -> None:
        super().__init__()
        self.skipped: list[dict] = []


def _why_skipped(item: Form | Algorithm, arch: str) -> str:
    L = len(arch.split("-")) - 1
    if getattr(item, "arch", None) and item.arch != arch:
        return f"written for {item.arch}"
    if item.n_layers is not None and item.n_layers != L:
        return f"written for nets with {item.n_layers} weight layers"
    if isinstance(item, Form) and not instantiate.target_layers(item, L):
        return f"its layer {item.layer!r} does not exist on {arch}"
    return "names units, layers or an elementwise f′ that this network does not have"


def _nothing(chosen: list[Source], arch: str) -> str:
    """Why a diff compared nothing (an error: a silent exit 0 would read as "all correct")."""
    items = [item for s in chosen for item in (*s.forms, *s.algorithms)]
    if not items:
        return "nothing to compare: the forms file has no [[forms]] or [[algorithms]]"
    form = next((f for f in items if isinstance(f, Form)), items[0])
    L = len(arch.split("-")) - 1
    if (
        isinstance(form, Form)
        and form.arch is None
        and form.n_layers is None
        and not instantiate.target_layers(form, L)
    ):
        why = f"e.g. form {form.id!r} is for layer {form.layer!r}, and {arch} has weight layers 1 to {L}"
    else:
        why = f"e.g. {form.id!r} is restricted to {form.arch or f'{form.n_layers} weight layers'}"
    return f"nothing to compare: none of the {len(items)} forms applies to {arch} ({table.clean(why)})"


def compare_source(source: Source, arch: str, act: str | None, loss: str | None, skipped=None) -> list[dict]:
    act = compare.source_act(source, arch, act)
    ctx = compare.reference_net(arch, act, loss or source.loss, source.bias, source.weight_decay, source.decay_biases)
    assumed = f"{source.act}, {source.loss}"
    override = (act and act != source.act) or (loss and loss != source.loss)
    out = []
    for form in source.forms:
        rec = _compared(compare.compare_form, "form", source, form, ctx)
        if rec is None and skipped is not None:
            skipped.append({"source": source.id, "formula": form.id, "reason": _why_skipped(form, arch)})
        if rec is not None:
            if override:
                rec["explanation"] = "; ".join(
                    filter(None, [rec["explanation"], f"the source assumes {assumed}; compared under {ctx.label}"])
                )
            out.append(rec)
    for alg in source.algorithms:
        rec = _compared(algorithm.compare_algorithm, "algorithm", source, alg, ctx)
        if rec is None and skipped is not None:
            skipped.append({"source": source.id, "formula": alg.id, "reason": _why_skipped(alg, arch)})
        if rec is not None:
            out.append(rec)
    return out


def _compared(compare, kind: str, source: Source, item: Form | Algorithm, ctx: compare.ReferenceNet) -> dict | None:
    """``compare(source, item, ctx)``; a form or algorithm that cannot be compared is a :class:`CatalogError`."""
    try:
        return compare(source, item, ctx)
    except instantiate.FormError as e:
        raise CatalogError(f"{source.path}:{item.line}: {kind} {item.id!r}: {e}") from None
    except (KeyError, ValueError, ZeroDivisionError, TypeError) as e:
        raise CatalogError(f"{source.path}:{item.line}: {kind} {item.id!r}: {_reason(e)}") from None


def _reason(e: Exception) -> str:
    # str() of a KeyError quotes its key; other messages are kept whole (a quote may end them)
    text = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
    text = text.splitlines()[0] if text else ""
    return f"cannot be compared ({type(e).__name__}{': ' + text if text else ''})"


def status(records: list[dict]) -> int:
    return 1 if any(r["verdict"] == "different" for r in records) else 0


def summary(records: list[dict]) -> dict:
    """Counts per verdict and mistake, which network each source was compared on, what was not compared."""
    out = _summary(records)
    out["not_compared"] = list(getattr(records, "skipped", []))
    return out


def _summary(records: list[dict]) -> dict:
    """Counts per verdict and mistake, and which network each source was compared on."""
    verdicts = {v: sum(r["verdict"] == v for r in records) for v in ("equal", "equal_under_convention", "different")}
    networks: dict[str, list[str]] = {}
    for r in records:
        ids = networks.setdefault(r["network"], [])
        if r["source"] not in ids:
            ids.append(r["source"])
    mistakes: dict[str, int] = {}
    for r in records:
        if r["mistake"]:
            mistakes[r["mistake"]] = mistakes.get(r["mistake"], 0) + 1
    return {
        "forms": len(records),
        "verdicts": verdicts,
        "mistakes": mistakes,
        "networks": networks,
        "exit_status": status(records),
    }


def as_json(records: list[dict]) -> str:
    """``{"summary": ..., "records": [...]}``, keys sorted, Unicode kept."""
    return json.dumps({"summary": summary(records), "records": records}, indent=2, sort_keys=True, ensure_ascii=False)


def as_table(records: list[dict], arch: str) -> str:
    """The report a teacher reads (:mod:`derive.diff.table`)."""
    return table.as_table(records, summary(records))
