"""Run the textbook diff for the CLI and print it as a table or as JSON.

Exit status follows ``diff``: 0 when every form matches (possibly under the
source's stated convention), 1 when some form differs; bad input raises
:class:`derive.spec.SpecError` (status 2).
"""

from __future__ import annotations

import json
from pathlib import Path

from derive.diff import algorithm, compare, instantiate
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
    records = []
    for source in chosen:
        records += compare_source(source, arch, act, loss)
    return records


def compare_source(source: Source, arch: str, act: str | None, loss: str | None) -> list[dict]:
    ctx = compare.reference_net(arch, compare.source_act(source, arch, act), loss or source.loss, source.bias)
    assumed = f"{source.act}, {source.loss}"
    override = (act and act != source.act) or (loss and loss != source.loss)
    out = []
    for form in source.forms:
        rec = _compared(compare.compare_form, "form", source, form, ctx)
        if rec is not None:
            if override:
                rec["explanation"] = "; ".join(
                    filter(None, [rec["explanation"], f"the source assumes {assumed}; compared under {ctx.label}"])
                )
            out.append(rec)
    for alg in source.algorithms:
        rec = _compared(algorithm.compare_algorithm, "algorithm", source, alg, ctx)
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


def as_json(records: list[dict]) -> str:
    return json.dumps(records, indent=2, sort_keys=True, ensure_ascii=False)


def _value(v) -> str:
    return "n/a" if v is None else f"{v:.10g}"


def _expected(cx: dict) -> str:
    e = cx.get("expected_under_convention")
    return "" if e is None or e == cx["derived_value"] else f", expected under the source's convention {_value(e)}"


def as_table(records: list[dict], arch: str) -> str:
    """The human-readable report: one row per form, details under every form that is not equal."""
    if not records:
        return f"no form of the chosen sources applies to {arch}"
    wid = max(len("source"), *(len(r["source"]) for r in records))
    wf = max(len("formula"), *(len(r["formula"]) for r in records))
    lines = [f"{'source':<{wid}}  {'formula':<{wf}}  {'verdict':<22}  mistake", "-" * (wid + wf + 40)]
    for r in records:
        lines.append(f"{r['source']:<{wid}}  {r['formula']:<{wf}}  {r['verdict']:<22}  {r['mistake'] or ''}".rstrip())
        pad = " " * (wid + 2)
        if r["verdict"] == "equal":
            continue
        if r["citation"] or r["latex"]:
            lines.append(f"{pad}{': '.join(x for x in (r['citation'], r['latex']) if x)}")
        if r["convention"]:
            lines.append(f"{pad}convention: {r['convention']}")
        if r["explanation"]:
            lines.append(f"{pad}why: {r['explanation']}")
        cx = r["counterexample"]
        if cx:
            if cx.get("point"):
                pt = ", ".join(f"{k}={v:g}" for k, v in list(cx["point"].items())[:8])
                more = " ..." if len(cx["point"]) > 8 else ""
                lines.append(
                    f"{pad}counterexample at {cx['at']}: source {_value(cx['source_value'])}, "
                    f"derived {_value(cx['derived_value'])}{_expected(cx)}  ({pt}{more})"
                )
            else:
                lines.append(f"{pad}counterexample at {cx['at']}: {cx.get('note', '')}")
    n = {v: sum(r["verdict"] == v for r in records) for v in ("equal", "equal_under_convention", "different")}
    networks = sorted({r["network"] for r in records})
    lines.append("")
    lines.append(
        f"{len(records)} forms: {n['equal']} equal, {n['equal_under_convention']} equal under the source's "
        f"convention, {n['different']} different; compared on {'; '.join(networks)}"
    )
    return "\n".join(lines)
