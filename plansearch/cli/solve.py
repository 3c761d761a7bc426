"""`plansearch solve`: build the problem, run the search live, print the result."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from rich.console import Console
from rich.live import Live

from plansearch.cli.errors import CliError
from plansearch.cli.render import LiveState, candidates_table, show_candidate, summary
from plansearch.config import Settings
from plansearch.events import CandidateReady, SearchEvent, StageStarted
from plansearch.extract import parse_target, problem_from_file, problem_from_statement
from plansearch.models.base import Provider
from plansearch.models.cache import CacheError
from plansearch.models.errors import ModelError
from plansearch.models.factory import make_provider
from plansearch.problem import Problem, ProblemError
from plansearch.result import FinishReason, SearchResult
from plansearch.search import Search

EXIT_NO_CANDIDATES = 1
EXIT_CANCELLED = 130


def load_problem(args: argparse.Namespace) -> Problem:
    """The problem named on the command line, or a `CliError` saying what is wrong."""
    statement = _read_statement(args.statement) if args.statement else None
    try:
        if args.target:
            path, function = parse_target(args.target)
            return problem_from_file(path, function, statement=statement, force=args.force)
        if statement is None:
            raise CliError("give a target (path/to/file.py::function_name) or --statement FILE")
        return problem_from_statement(statement, args.signature)
    except ProblemError as error:
        raise CliError(str(error)) from None


def _read_statement(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8")
    except OSError as error:
        raise CliError(f"cannot read statement file {source}: {error.strerror}") from None


def run_solve(args: argparse.Namespace, settings: Settings) -> int:
    """Run `solve`; returns the exit code."""
    problem = load_problem(args)
    try:
        provider = make_provider(settings)
    except ModelError as error:
        raise CliError(error.message) from None
    err = Console(stderr=True)
    out = Console()
    try:
        result = asyncio.run(_search(problem, settings, provider, err, live=not args.json))
    except CacheError as error:
        raise CliError(str(error)) from None
    if args.json:
        print(result.model_dump_json(indent=2))
    elif args.show is not None:
        if not 1 <= args.show <= len(result.candidates):
            raise CliError(f"--show {args.show}: there are {len(result.candidates)} candidates")
        show_candidate(out, result.candidates[args.show - 1], args.show)
    else:
        if result.candidates:
            out.print(candidates_table(result))
        err.print(summary(result))
    return _exit_code(result)


async def _search(
    problem: Problem, settings: Settings, provider: Provider, err: Console, *, live: bool
) -> SearchResult:
    search = Search(problem, settings, provider=provider)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, search.cancel)
    state = LiveState(title=f"PlanSearch: {problem.entry_point or 'program'}"
                      if settings.strategy == "plansearch"
                      else f"{settings.strategy}: {problem.entry_point or 'program'}")
    try:
        if live and err.is_terminal:
            with Live(console=err, refresh_per_second=8, transient=True,
                      get_renderable=state.render):
                async for event in search.events():
                    state.update(event)
        else:
            async for event in search.events():
                if live:
                    _log_line(err, event)
    finally:
        loop.remove_signal_handler(signal.SIGINT)
    assert search.result is not None
    return search.result


def _log_line(err: Console, event: SearchEvent) -> None:
    """Progress as plain lines, for a terminal that cannot redraw (a pipe, a CI log)."""
    if isinstance(event, StageStarted):
        err.print(f"stage: {event.stage}", highlight=False)
    elif isinstance(event, CandidateReady):
        err.print(f"candidate {event.candidate.id}: {event.candidate.plan.headline()}",
                  highlight=False)


def _exit_code(result: SearchResult) -> int:
    if result.finish_reason is FinishReason.CANCELLED:
        return EXIT_CANCELLED
    if result.finish_reason is FinishReason.ERROR or not result.candidates:
        return EXIT_NO_CANDIDATES
    return 0
