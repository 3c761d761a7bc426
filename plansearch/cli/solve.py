"""`plansearch solve`: build the problem and its tests, run the search live, print the result."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.live import Live

from plansearch.cli.errors import CliError
from plansearch.cli.render import LiveState, candidates_table, show_candidate, summary
from plansearch.config import Settings
from plansearch.events import CandidateReady, CandidateTested, SearchEvent, StageStarted
from plansearch.execution.executor import Executor, ExecutorError
from plansearch.execution.hiding import hidden_paths
from plansearch.execution.limits import Limits
from plansearch.execution.sandbox import SandboxUnavailable
from plansearch.extract import parse_target, problem_from_file, problem_from_statement
from plansearch.models.base import Provider
from plansearch.models.cache import CacheError
from plansearch.models.errors import ModelError
from plansearch.models.factory import make_provider
from plansearch.problem import Problem, ProblemError
from plansearch.result import FinishReason, SearchResult
from plansearch.search import Search
from plansearch.store import RunStore, StoreError, default_store_path
from plansearch.testsources.collect import collect_tests, describe, find_workspace
from plansearch.types import TestCase

EXIT_NO_CANDIDATES = 1
EXIT_CANCELLED = 130


@dataclass(frozen=True)
class Task:
    """What to solve: the problem, the module it lives in, and its tests."""

    problem: Problem
    module_source: str | None
    workspace: Path | None
    tests: list[TestCase]


def load_task(args: argparse.Namespace, settings: Settings) -> Task:
    """The problem named on the command line and its tests, or a `CliError`."""
    statement = _read_statement(args.statement) if args.statement else None
    try:
        if args.target:
            path, function = parse_target(args.target)
            problem = problem_from_file(path, function, statement=statement, force=args.force)
            source = path.read_text(encoding="utf-8")
            workspace: Path | None = find_workspace(path)
        elif statement is not None:
            problem = problem_from_statement(statement, args.signature)
            source, workspace = None, None
        else:
            raise CliError("give a target (path/to/file.py::function_name) or --statement FILE")
        tests = collect_tests(problem, settings, workspace=workspace) if settings.run_tests else []
    except ProblemError as error:
        raise CliError(str(error)) from None
    return Task(problem=problem, module_source=source, workspace=workspace, tests=tests)


def _read_statement(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8")
    except OSError as error:
        raise CliError(f"cannot read statement file {source}: {error.strerror}") from None


def run_solve(args: argparse.Namespace, settings: Settings) -> int:
    """Run `solve`; returns the exit code."""
    task = load_task(args, settings)
    try:
        provider = make_provider(settings)
    except ModelError as error:
        raise CliError(error.message) from None
    err = Console(stderr=True)
    out = Console()
    if task.tests and not args.json:
        err.print(f"tests: {describe(task.tests)}", highlight=False)
    try:
        result = asyncio.run(_search(task, settings, provider, err, live=not args.json))
    except CacheError as error:
        raise CliError(str(error)) from None
    except (ExecutorError, SandboxUnavailable) as error:
        raise CliError(f"cannot run candidates: {error} (use --no-tests to skip testing, "
                       "or --isolation rlimits)") from None
    if task.workspace is not None and result.candidates:
        try:
            with RunStore(default_store_path(task.workspace)) as store:
                store.save_run(result, task.problem, workspace=str(task.workspace),
                               module_source=task.module_source)
        except StoreError as error:
            err.print(f"the run was not stored: {error}", highlight=False)
    if args.json:
        print(result.model_dump_json(indent=2))
    elif args.show is not None:
        ranked = result.ranked_candidates()
        if not 1 <= args.show <= len(ranked):
            raise CliError(f"--show {args.show}: there are {len(ranked)} candidates")
        show_candidate(out, result, ranked[args.show - 1], args.show)
    else:
        if result.candidates:
            out.print(candidates_table(result))
        err.print(summary(result))
    return _exit_code(result)


@contextlib.asynccontextmanager
async def _executor(task: Task, settings: Settings) -> AsyncIterator[Executor | None]:
    if not settings.run_tests or not (task.tests or settings.generate_tests):
        yield None
        return
    limits = Limits(test_timeout=settings.test_timeout,
                    candidate_timeout=settings.candidate_timeout, memory_mb=settings.memory_mb)
    paths = [task.workspace] if task.workspace is not None else []
    hidden = []
    if task.workspace is not None:
        module = task.problem.source_path
        extra = [Path(module)] if module else []
        hidden = await asyncio.to_thread(hidden_paths, task.workspace, extra)
    async with Executor(
        limits=limits, isolation=settings.isolation, paths=paths, hidden=hidden
    ) as executor:
        yield executor


async def _search(
    task: Task, settings: Settings, provider: Provider, err: Console, *, live: bool
) -> SearchResult:
    async with _executor(task, settings) as executor:
        search = Search(task.problem, settings, provider=provider, executor=executor,
                        tests=task.tests, module_source=task.module_source)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, search.cancel)
        name = task.problem.entry_point or "program"
        state = LiveState(title=f"{settings.strategy}: {name}")
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
    elif isinstance(event, CandidateTested):
        err.print(f"tested {event.candidate_id}: {event.ranked.tally_text}", highlight=False)


def _exit_code(result: SearchResult) -> int:
    if result.finish_reason is FinishReason.CANCELLED:
        return EXIT_CANCELLED
    if result.finish_reason is FinishReason.ERROR or not result.candidates:
        return EXIT_NO_CANDIDATES
    return 0
