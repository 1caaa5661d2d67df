"""The command line: ``backprop-derive build|diff|textbooks``.

Bad input of any kind ends with one line on stderr and exit status 2, before
anything is written.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import threading
from pathlib import Path

from derive import pipeline as build_stage
from derive.output import check_target, write_all
from derive.render import notations
from derive.render.example import load as load_example
from derive.render.latex import pdf
from derive.spec import LOSSES, OPTIMIZERS, STYLES, SpecError, check_diff_size, check_style, make_spec

#: Options that take a value; their value may start with '-' (``--arch -2-3``).
_VALUE_OPTIONS = {
    "--arch",
    "--act",
    "--loss",
    "--notation",
    "--optimizer",
    "--style",
    "--example",
    "--out",
    "--against",
    "--forms",
    "--format",
}


def printable(text: str) -> str:
    """``text`` with control characters escaped, so that a user's value cannot drive the terminal.

    >>> printable("out\\x1b[2J\\nx")
    'out\\\\x1b[2J\\\\nx'
    """
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, no usage dump
        raise SpecError(printable(message))


def _join_values(argv: list[str]) -> list[str]:
    """Turn ``--arch -2-3`` into ``--arch=-2-3`` so argparse does not read -2-3 as an option."""
    out, i = [], 0
    while i < len(argv):
        tok = argv[i]
        if tok in _VALUE_OPTIONS and i + 1 < len(argv):
            out.append(f"{tok}={argv[i + 1]}")
            i += 2
        else:
            out.append(tok)
            i += 1
    return out


#: The subcommands and their one-line summaries (a bare ``backprop-derive`` lists them).
COMMANDS = {
    "build": "derive a network and write generated/<name>/ (derivation, trainer, formulas.json)",
    "diff": "compare the derived formulas with textbook forms",
    "textbooks": "list the catalog of textbook forms",
}


def version() -> str:
    """The installed package's version (the source tree's when it is not installed)."""
    from importlib import metadata

    try:
        return metadata.version("backprop-derive")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def commands_listing() -> str:
    """What a bare ``backprop-derive`` prints: the usage line and one line per subcommand."""
    width = max(len(c) for c in COMMANDS)
    rows = [f"  {c:<{width}}  {what}" for c, what in COMMANDS.items()]
    return "\n".join(["usage: backprop-derive {build,diff,textbooks} ... (--help for options)", *rows])


def notations_listing() -> str:
    """The notation presets, one line each, for ``build --help``."""
    width = max(len(k) for k in notations.NOTATIONS)
    rows = [f"  {k:<{width}}  {n.title}" for k, n in notations.NOTATIONS.items()]
    return "\n".join(["notation presets (--notation):", *rows])


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="backprop-derive", description="Derive, prove and emit backpropagation for one network.")
    p.add_argument("--version", action="version", version=f"backprop-derive {version()}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    b = sub.add_parser(
        "build",
        help=COMMANDS["build"],
        epilog=notations_listing(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    b.add_argument("--arch", required=True, help="layer sizes joined by '-', e.g. 2-3-2")
    b.add_argument("--act", default="sigmoid", help="one activation, or one per weight layer: tanh,softmax")
    b.add_argument("--loss", default="sse", help=f"one of {', '.join(LOSSES)}")
    b.add_argument("--no-bias", action="store_true", help="no bias terms")
    b.add_argument("--mean", action="store_true", help="error is the mean over a batch (default: sum)")
    b.add_argument(
        "--optimizer",
        default="sgd",
        help=f"update rule: {', '.join(OPTIMIZERS)} (momentum: Rumelhart, Hinton and Williams 1986, eq. 9; "
        "adam: Kingma and Ba 2015, Algorithm 1) (default: sgd)",
    )
    b.add_argument(
        "--weight-decay",
        action="store_true",
        help="L2 weight decay: add the penalty (λ/2) Σ w² to the error of each step (weights only)",
    )
    b.add_argument("--decay-biases", action="store_true", help="with --weight-decay: decay the biases too")
    b.add_argument("--notation", default="bishop", help="notation preset of the document (listed below)")
    b.add_argument("--style", default=None, help=f"trainer code style: {', '.join(STYLES)} (default: by size)")
    b.add_argument("--example", default=None, help="worked example JSON (keys x, t, lr, W1, b1, ...)")
    b.add_argument("--no-pdf", action="store_true", help="write derivation.tex but do not run TeX")
    b.add_argument(
        "--format",
        default=",".join(build_stage.FORMATS),
        help="documents to write, joined by ',': pdf, html, tex (default: all three)",
    )
    b.add_argument("--out", default=None, help="output directory (default generated/<name>)")
    d = sub.add_parser(
        "diff",
        help=COMMANDS["diff"],
        description="Each textbook source is compared on the network its catalog file declares: its activation "
        "and loss (--act and --loss override them), its bias, its weight decay and its algorithms' update rule. "
        "The build options --no-bias, --mean, --optimizer, --weight-decay and --decay-biases do not apply.",
    )
    d.add_argument("--arch", required=True, help="layer sizes joined by '-', e.g. 2-3-2")
    d.add_argument("--act", default=None, help="compare under this activation (default: each source's own)")
    d.add_argument("--loss", default=None, help="compare under this loss (default: each source's own)")
    d.add_argument("--against", default=None, help="catalog ids joined by ',' or 'all' (see 'textbooks')")
    d.add_argument("--forms", default=None, help="your own forms, a TOML file in the catalog's schema")
    d.add_argument("--json", action="store_true", help="print the verdict records as JSON")
    sub.add_parser("textbooks", help=COMMANDS["textbooks"])
    return p


#: Exit status when the outputs were written but TeX is not installed (bad input is 2, a TeX failure 1).
TEX_MISSING = 3


def _example_path(text: str | None) -> Path | None:
    if not text:
        return None
    try:
        if Path(text).is_file():
            return Path(text)
    except OSError:  # a name too long for the file system, ...
        pass
    shown = text if len(text) <= 60 else text[:57] + "..."
    raise SpecError(f"example file {shown!r} does not exist")


def build(args: argparse.Namespace) -> int:
    # every input is checked before the derivation starts: the spec, OUT, then the options and the example
    spec = make_spec(
        args.arch,
        args.act,
        args.loss,
        bias=not args.no_bias,
        mean=args.mean,
        optimizer=args.optimizer,
        weight_decay=args.weight_decay,
        decay_biases=args.decay_biases,
    )
    notation = build_stage.check_notation(args.notation)
    out = Path(args.out) if args.out else Path("generated") / build_stage.output_name(spec, notation)
    formats = build_stage.check_formats(args.format)
    check_target(out)
    check_style(args.style, spec)
    example = _example_path(args.example)
    if example is not None:
        load_example(example, spec)  # a malformed file is bad input: one line, exit 2, nothing written
    options = build_stage.BuildOptions(
        style=args.style,
        example=example,
        pdf="pdf" in formats and not args.no_pdf,
        notation=notation,
        tex="tex" in formats,
        html="html" in formats,
    )
    d = build_stage.derivation(spec)
    status, problem, keep_tex = 0, "", options.tex
    with pdf.Background() as tex_job:  # TeX runs while the other files are rendered
        files = build_stage.render_files(d, options, tex_job.start if options.pdf else None)
        if options.pdf:
            try:
                files["derivation.pdf"] = tex_job.result()
            except pdf.TeXMissing as e:  # the .tex is still written; the status tells a script no PDF came
                status, problem, keep_tex = TEX_MISSING, str(e), True
            except pdf.TeXError as e:
                status, problem, keep_tex = 1, str(e), True
    if not keep_tex:
        files.pop("derivation.tex", None)
    write_all(out, files)
    print(f"wrote {printable(str(out))}/ ({', '.join(sorted(files))}); {d.proof_summary}")
    if problem:
        print(f"backprop-derive: no PDF: {problem}", file=sys.stderr)
    return status


class _Terminated(BaseException):
    """SIGTERM, raised where the program is so that temporary files are cleaned up on the way out."""


def _terminate(signum, frame):
    raise _Terminated


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:  # no command: say which exist rather than only that one is missing
        print(commands_listing(), file=sys.stderr)
        return 2
    if threading.current_thread() is not threading.main_thread():  # signals go to the main thread only
        return _main(argv)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return _main(argv)
    except _Terminated:
        print("backprop-derive: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main(argv: list[str]) -> int:
    try:
        args = parser().parse_args(_join_values(argv))
        if args.command == "build":
            return build(args)
        if args.command == "textbooks":
            from derive.diff.catalog import sources

            print(sources.listing())
            return 0
        from derive.diff import report

        check_diff_size(args.arch)
        records = report.run(args.arch, args.against, args.forms, args.act, args.loss)
        print(report.as_json(records) if args.json else report.as_table(records, args.arch))
        return report.status(records)
    except SpecError as e:
        print(f"backprop-derive: error: {printable(str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("backprop-derive: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader stopped early (`textbooks | head`): stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit-time flush must not fail again
        return 128 + signal.SIGPIPE


def run() -> None:
    """The console script and ``python -m derive``: :func:`main` as a process of its own.

    A derivation builds a few hundred thousand SymPy objects that are all alive until the end,
    and almost none of them are in reference cycles. So the collector looks less often (the
    modules imported so far are set aside from its walks), and once every file is written and
    closed the process ends without freeing its objects one by one (which took 0.4-0.9 s on a
    31-parameter net).
    """
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, OSError, ValueError):  # the reader went away; the status says what happened
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
