"""Re-running a stored run's candidates against the tests as they are now, and re-ranking."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from plansearch.candidate_testing import CandidateTester
from plansearch.config import Settings
from plansearch.events import SearchEvent
from plansearch.problem import Problem
from plansearch.ranking import Ranking
from plansearch.source import relocate_function
from plansearch.store import StoredRun
from plansearch.testsources.collect import collect_tests
from plansearch.types import CandidateRun, TestCase

if TYPE_CHECKING:
    from plansearch.execution.executor import Executor


async def rerun(
    stored: StoredRun, executor: Executor, *, workspace: Path | None, settings: Settings
) -> tuple[list[TestCase], dict[str, CandidateRun], Ranking]:
    """Collect the stored problem's tests again, run every candidate of the run, re-rank.

    Each candidate goes in place of the function in the module as it is on disk now (the
    user may have applied one and changed other code since); when the file is gone or does
    not parse, in the module the run was first tested with. Model-written tests of the run
    are kept. Raises ProblemError when a configured tests file is missing.
    """
    problem, module_source = _module_now(stored)
    tests = collect_tests(problem, settings, workspace=workspace)
    tests += [test for test in stored.result.tests if test.kind == "generated"]
    tester = CandidateTester(executor, problem, module_source, tests, emit=_ignore)
    tester.tests_ready.set()
    for candidate in stored.result.candidates:
        tester.submit(candidate)
    await tester.drain()
    return tester.tests, tester.runs, tester.ranking


def _module_now(stored: StoredRun) -> tuple[Problem, str | None]:
    """The problem located in its file as it is now, with that file's source."""
    problem = stored.problem
    if stored.source_file is None:
        return problem, stored.module_source
    problem = problem.model_copy(update={"source_path": str(stored.source_file)})
    try:
        source = stored.source_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return problem, stored.module_source
    lines = relocate_function(source, problem.qualname or problem.entry_point or "")
    if lines is None:
        return problem, stored.module_source
    start, end = lines
    return problem.model_copy(update={"stub_start_line": start, "stub_end_line": end}), source


def _ignore(event: SearchEvent) -> None:
    """Re-runs report through their return value, not events."""
