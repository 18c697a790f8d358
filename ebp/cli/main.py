"""``python -m ebp``: the command line's arguments, and what each outcome exits with.

Exit status: 0 when the run wrote its results; 2 for a usage error (a bad option, an unknown
experiment, ``--seeds`` not a positive integer or given to an experiment that takes none,
``--out`` naming a file); 1 when the experiment itself fails, with one line ``error: …`` on
standard error.

This module imports nothing heavy, so ``--help`` and ``list`` are quick; the code that runs an
experiment (:mod:`ebp.cli.runner`, which imports NumPy, PyTorch and matplotlib) is imported by
name only when ``run`` is asked for.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

import ebp
from ebp.cli import registry

__all__: list[str] = []  # internal: documented by ``python -m ebp --help``

PROG = "python -m ebp"
DEFAULT_OUT = Path("ebp-results")
"""Results go to ``ebp-results/NAME`` unless ``--out`` says otherwise."""

# Errors an experiment may raise on its own account (bad settings, divergence, a missing module,
# a folder it cannot write); anything else is a bug and keeps its traceback.
EXPERIMENT_ERRORS = (ValueError, TypeError, ArithmeticError, ImportError, OSError, RuntimeError)


def _experiment_list() -> str:
    width = max(len(n) for n in registry.names())
    lines = ["experiments (python -m ebp run NAME):"]
    for e in registry.EXPERIMENTS:
        n = e.default_seeds
        seeds = f", {n} seed{'s' if n != 1 else ''} by default" if e.takes_seeds else ""
        lines.append(f"  {e.name:<{width}}  {e.summary}")
        lines.append(f"  {'':<{width}}  [{e.chapter}{seeds}]")
    return "\n".join(lines)


def positive_int(text: str) -> int:
    """``--seeds``: a positive integer, or an :class:`argparse.ArgumentTypeError` saying so."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m ebp`` and its ``list`` and ``run`` commands."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run the experiments of Efficient BackProp, executable, without the book: "
        "each writes its figures (PNG) and a JSON of its numbers to a folder.",
        epilog=_experiment_list(),
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"ebp {ebp.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser("list", help="list the experiments, with their chapters")
    run = commands.add_parser(
        "run",
        help="run one experiment headless and write its figures and numbers",
        description="Run one experiment headless; write NAME.json and its PNG figures to DIR.",
        epilog=_experiment_list(),
        formatter_class=formatter,
    )
    run.set_defaults(parser=run)  # usage errors found after parsing show run's usage
    run.add_argument("name", metavar="NAME", help="the experiment (see the list below)")
    run.add_argument(
        "--seeds",
        type=positive_int,
        metavar="N",
        help="number of seeds, for the experiments that average over seeds "
        "(default: the chapter's)",
    )
    run.add_argument(
        "--out", type=Path, metavar="DIR", help=f"output folder (default: {DEFAULT_OUT}/NAME)"
    )
    run.add_argument(
        "--quick", action="store_true", help="a small budget (a smoke test, not the book's numbers)"
    )
    run.add_argument(
        "--traceback", action="store_true", help="on an error, show the full traceback"
    )
    return parser


def _check_run(args: argparse.Namespace) -> registry.Experiment:
    """The experiment ``args`` names, after the checks argparse cannot make (else exit 2)."""
    parser = args.parser
    try:
        experiment = registry.find(args.name)
    except KeyError as exc:
        parser.error(exc.args[0])
    if args.seeds is not None and not experiment.takes_seeds:
        parser.error(
            f"argument --seeds: experiment {experiment.name!r} takes no seeds "
            "(it runs the one seeded setting of its chapter); leave --seeds out"
        )
    args.out = args.out if args.out is not None else DEFAULT_OUT / experiment.name
    for folder in (args.out, *args.out.parents):
        if folder.exists() and not folder.is_dir():
            parser.error(f"argument --out: {str(folder)!r} exists and is not a folder")
    return experiment


def _run(experiment: registry.Experiment, args: argparse.Namespace) -> int:
    runner = importlib.import_module("ebp.cli.runner")  # NumPy, PyTorch, matplotlib: only now
    try:
        written = runner.run(experiment, seeds=args.seeds, quick=args.quick, out=args.out)
    except EXPERIMENT_ERRORS as exc:
        if args.traceback:
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        if isinstance(exc, ImportError):
            message = f"experiment {experiment.name!r} is not available here ({message})"
        print(f"error: {experiment.name}: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print(f"wrote {len(written)} files to {args.out}:", *(p.name for p in written))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "list":
            print(_experiment_list())
            return 0
        experiment = _check_run(args)
    except SystemExit as exc:  # --help, --version and usage errors (argparse exits 2)
        return exc.code if isinstance(exc.code, int) else 1
    return _run(experiment, args)
