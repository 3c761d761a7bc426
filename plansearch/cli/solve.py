"""`plansearch solve`: build the problem and its tests, run the search live, print the result."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

from rich.console import Console
from rich.live import Live

from plansearch.cli.errors import CliError
from plansearch.cli.progress import ProgressLines, json_record
from plansearch.cli.render import LiveState, candidates_table, show_candidate, summary
from plansearch.config import Settings
from plansearch.execution.errors import ExecutorError, SandboxUnavailable
from plansearch.extract import parse_target, problem_from_file, problem_from_statement
from plansearch.models.cache import CacheError
from plansearch.models.errors import ModelError
from plansearch.problem import ProblemError
from plansearch.result import FinishReason, SearchResult
from plansearch.testsources.collect import describe, find_workspace
from plansearch.words import plural
from plansearch.workbench import Target, Workbench

EXIT_OK = 0
"""A candidate passes every trusted test (or there were none to pass)."""
EXIT_NONE_PASSING = 1
"""Candidates were written, but none passes every trusted test."""
EXIT_NO_CANDIDATE = 3
"""No candidate: the model calls failed, or no reply could be used (the message says which)."""
EXIT_MOST_CALLS_FAILED = 4
"""More than half of the model calls failed after their retries: the result is partial."""
EXIT_CANCELLED = 130


def load_target(args: argparse.Namespace) -> Target:
    """The problem named on the command line, where it lives, or a `CliError`."""
    statement = _read_statement(args.statement) if args.statement else None
    try:
        if args.target:
            path, function = parse_target(args.target)
            problem = problem_from_file(path, function, statement=statement, force=args.force)
            source = path.read_text(encoding="utf-8")
            return Target(problem, module_source=source, workspace=find_workspace(path))
        if statement is not None:
            return Target(problem_from_statement(statement, args.signature))
    except ProblemError as error:
        raise CliError(str(error)) from None
    raise CliError("give a target (path/to/file.py::function_name) or --statement FILE")


def _read_statement(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8")
    except OSError as error:
        raise CliError(f"cannot read statement file {source}: {error.strerror}") from None


def run_solve(args: argparse.Namespace, settings: Settings) -> int:
    """Run `solve`; returns the exit code."""
    target = load_target(args)
    err = Console(stderr=True)
    out = Console()
    try:
        result = asyncio.run(_search(target, settings, err, args))
    except ProblemError as error:
        raise CliError(str(error)) from None
    except ModelError as error:
        raise CliError(error.message) from None
    except CacheError as error:
        raise CliError(str(error)) from None
    except (ExecutorError, SandboxUnavailable) as error:
        raise CliError(f"cannot run candidates: {error} (use --no-tests to skip testing, "
                       "or --isolation rlimits)") from None
    if args.apply:
        _apply_best(target, result, err)
    if args.json:
        print(result.model_dump_json(indent=2))
    elif args.show is not None:
        ranked = result.ranked_candidates()
        if not 1 <= args.show <= len(ranked):
            count = plural(len(ranked), "candidate")
            raise CliError(f"--show {args.show}: there {'is' if len(ranked) == 1 else 'are'} "
                           f"{count}")
        show_candidate(out, result, ranked[args.show - 1], args.show)
    else:
        if result.candidates:
            out.print(candidates_table(result))
        err.print(summary(result))
    return exit_code(result)


async def _search(
    target: Target, settings: Settings, err: Console, args: argparse.Namespace
) -> SearchResult:
    async with Workbench(settings) as bench:
        search = await bench.search(target)
        if search.tests and not args.json:
            err.print(f"tests: {describe(search.tests)}", highlight=False)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, search.cancel)
        name = target.problem.entry_point or "program"
        try:
            if args.json:  # progress as JSON lines on stderr, the result on stdout
                async for event in search.events():
                    print(json.dumps(json_record(event)), file=sys.stderr, flush=True)
            elif err.is_terminal:
                state = LiveState(title=f"{settings.strategy}: {name}")
                with Live(console=err, refresh_per_second=8, transient=True,
                          get_renderable=state.render):
                    async for event in search.events():
                        state.update(event)
            else:
                lines = ProgressLines(err)
                async for event in search.events():
                    lines.update(event)
        finally:
            loop.remove_signal_handler(signal.SIGINT)
    assert search.result is not None
    return search.result


def _apply_best(target: Target, result: SearchResult, err: Console) -> None:
    """`solve --apply`: put the best candidate into the file if it passes every test."""
    from plansearch.cli.apply_command import write_candidate

    best = result.ranking.candidates[0] if result.ranking and result.ranking.candidates else None
    path = target.module_path
    if path is None:
        err.print("not applied: the problem is not a function in a file", style="yellow")
    elif best is None or not best.passes_all:
        err.print("not applied: no candidate passes every trusted test", style="yellow")
    else:
        candidate = next(c for c in result.candidates if c.id == best.candidate_id)
        write_candidate(path, target.problem, candidate, target.module_source, out=err)
        err.print(f"applied {candidate.id} ({best.tally_text}) to {path}", highlight=False,
                  markup=False)


def exit_code(result: SearchResult) -> int:
    """What the search came to, as `docs/getting-started.md#exit-status` documents."""
    if result.finish_reason is FinishReason.CANCELLED:
        return EXIT_CANCELLED
    if not result.candidates:
        return EXIT_NO_CANDIDATE
    stats = result.stats
    if stats.failed_calls * 2 > stats.calls + stats.failed_calls:
        return EXIT_MOST_CALLS_FAILED
    ranking = result.ranking
    if ranking is not None and ranking.trusted_tests and not ranking.passing:
        return EXIT_NONE_PASSING
    return EXIT_OK
