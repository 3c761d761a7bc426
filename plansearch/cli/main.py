"""The `plansearch` command: solve, cache, schema."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from plansearch_lsp.cli import add_serve_parser, run_serve
from rich.console import Console
from rich.logging import RichHandler

from plansearch import __version__
from plansearch.cli.apply_command import add_apply_parser, run_apply
from plansearch.cli.bench_command import add_bench_parser
from plansearch.cli.errors import CliError
from plansearch.cli.settings_args import add_settings_arguments, settings_from_args
from plansearch.cli.watch import add_watch_parser, run_watch
from plansearch.hardening import hide_process_memory


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="plansearch",
        description="Generate code by searching over natural-language plans (PlanSearch).",
    )
    parser.add_argument("--version", action="version", version=f"plansearch {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    solve = commands.add_parser(
        "solve", help="run a search on a function stub or a problem statement",
        description="Run a search on FILE.py::FUNCTION (or a statement) and show candidates.",
    )
    solve.add_argument("target", nargs="?",
                       help="path/to/file.py::function_name (or ::Class.method)")
    solve.add_argument("--statement", metavar="FILE",
                       help="problem statement file ('-' for stdin); adds to the docstring")
    solve.add_argument("--signature", help='signature for a statement, e.g. "def f(x: int) -> int"')
    solve.add_argument("--force", action="store_true",
                       help="search even if the function is already implemented")
    output = solve.add_mutually_exclusive_group()
    output.add_argument("--show", type=int, metavar="N",
                        help="print candidate N with its whole plan")
    output.add_argument("--json", action="store_true",
                        help="print the whole result as JSON (schema: `plansearch schema`); "
                        "progress goes to stderr as JSON lines")
    solve.add_argument("--apply", action="store_true",
                       help="put the best candidate into the file if it passes every test")
    add_settings_arguments(solve)

    cache = commands.add_parser("cache", help="inspect or clear the response cache")
    cache.add_argument("action", choices=["info", "clear"])
    cache.add_argument("--config", metavar="FILE", help="config file to read")

    add_bench_parser(commands)

    doctor = commands.add_parser("doctor", help="check the installation, provider and sandbox")
    add_settings_arguments(doctor)

    add_serve_parser(commands)

    commands.add_parser("schema", help="print the JSON schema of `solve --json` output")
    add_watch_parser(commands)
    add_apply_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    hide_process_memory()  # the key stays out of reach of candidates run without a sandbox
    logging.basicConfig(level=logging.WARNING, format="%(message)s",
                        handlers=[RichHandler(console=Console(stderr=True), show_time=False,
                                              show_path=False)])
    if getattr(args, "config", None):
        os.environ["PLANSEARCH_CONFIG"] = str(Path(args.config).expanduser())
    try:
        if args.command == "solve":
            from plansearch.cli.solve import run_solve

            return run_solve(args, settings_from_args(args))
        if args.command == "cache":
            from plansearch.cli.cache_command import run_cache

            return run_cache(args.action, settings_from_args(args))
        if args.command == "bench":
            from plansearch.cli.bench_command import run_bench

            return run_bench(args, settings_from_args(args))
        if args.command == "doctor":
            from plansearch.cli.doctor import run_doctor

            return run_doctor(settings_from_args(args))
        if args.command == "serve":
            return int(run_serve(args))
        if args.command == "watch":
            return run_watch(args, settings_from_args(args))
        if args.command == "apply":
            return run_apply(args)
        if args.command == "schema":
            import json

            from plansearch.result import SearchResult

            print(json.dumps(SearchResult.model_json_schema(), indent=2))
            return 0
    except CliError as error:
        print(f"plansearch: {error}", file=sys.stderr)
        return error.exit_code
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
