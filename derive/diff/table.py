"""The diff as a teacher reads it: one block per source, one line per form in the source's notation.

Rows that are not plain ``equal`` carry, indented below them, the convention that makes them
equal or, for ``different``, the named mistake with its one-sentence explanation, the correct
formula at one unit, and the counterexample's values in the source's own symbols.
"""

from __future__ import annotations

from derive.diff.notation import clean

VERDICT = {"equal": "equal", "equal_under_convention": "equal (convention)", "different": "DIFFERENT"}


def _value(v) -> str:
    return "n/a" if v is None else f"{v:.6g}"


def _details(r: dict) -> list[str]:
    out = []
    if r["verdict"] == "equal_under_convention" and r["convention"]:
        out.append(f"convention: {clean(r['convention'])}")
    if r["verdict"] != "different":
        return out
    if r["mistake"]:
        out.append(f"mistake: {r['mistake']}")
    if r["explanation"]:
        out.append(f"why: {clean(r['explanation'])}")
    cx = r["counterexample"] or {}
    if cx.get("derived_formula"):
        out.append(f"on {cx['at']}" + (f" ({cx['layer']}):" if cx.get("layer") else ":"))
        out.append(f"  the form: {cx['at']} = {cx['source_formula']}")
        out.append(f"  derived:  {cx['at']} = {cx['derived_formula']}")
    elif cx.get("at") and cx.get("point"):
        out.append(f"on {cx['at']}:")
    if cx.get("point"):
        vals = ", ".join(f"{k} = {_value(v)}" for k, v in list(cx["point"].items())[:10])
        more = ", ..." if len(cx["point"]) > 10 else ""
        expect = cx.get("expected_under_convention")
        want = _value(expect if expect is not None else cx["derived_value"])
        out.append(f"counterexample: {vals}{more}")
        out.append(f"  the form gives {_value(cx['source_value'])}, the derived formula {want}")
    elif cx.get("note"):
        out.append(f"at {cx['at']}: {clean(cx['note'])}")
    if r["convention"]:
        out.append(f"convention: {clean(r['convention'])}")
    return out


def as_table(records: list[dict], summary: dict) -> str:
    """Every record, grouped by source and network, with a closing summary line."""
    lines: list[str] = []
    group = None
    wid = max((len(clean(r["formula"])) for r in records), default=0)
    for r in records:
        key = (r["source"], r["network"])
        if key != group:
            group = key
            title = clean(r.get("title") or r["source"])
            lines += ["" if lines else None, f"{clean(r['source'])}: {title}", f"  compared on {r['network']}"]
            lines = [x for x in lines if x is not None]
        verdict = VERDICT[r["verdict"]]
        lines.append(f"  {verdict:<19} {clean(r['formula']):<{wid}}  {r.get('form') or clean(r['latex'])}".rstrip())
        lines += [f"{'':<8}{d}" for d in _details(r)]
    n = summary["verdicts"]
    skipped = summary.get("not_compared") or []
    if skipped:
        lines += ["", f"not compared on this network ({len(skipped)}):"]
        lines += [f"  {clean(s['source'])} {clean(s['formula'])}: {s['reason']}" for s in skipped]
    lines.append("")
    lines.append(
        f"{summary['forms']} forms: {n['equal']} equal, {n['equal_under_convention']} equal under the source's "
        f"convention, {n['different']} different."
    )
    return "\n".join(lines)
