"""Testing candidates while the search runs, and keeping the ranking current."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from plansearch import inspection
from plansearch.events import CandidateTested, RankingChanged, SearchEvent
from plansearch.problem import Problem
from plansearch.ranking import rank
from plansearch.result import Candidate
from plansearch.splice import SpliceError, candidate_program
from plansearch.types import (
    CandidateRun,
    SideEffect,
    TestCase,
    TestOutcome,
    TestStatus,
)

if TYPE_CHECKING:
    from plansearch.execution.executor import Executor


class CandidateTester:
    """Runs each candidate as soon as it is written; re-ranks after every run.

    Model-written tests, when asked for, arrive through `add_generated` before any run
    starts (`tests_ready` gates the runs), so every candidate runs the same tests.
    """

    def __init__(
        self,
        executor: Executor,
        problem: Problem,
        module_source: str | None,
        tests: Sequence[TestCase],
        emit: Callable[[SearchEvent], None],
        *,
        on_passing: Callable[[int], None] | None = None,
    ) -> None:
        self.executor = executor
        self.problem = problem
        self.module_source = module_source
        self.tests = list(tests)
        self.emit = emit
        self.on_passing = on_passing
        self.candidates: list[Candidate] = []
        self.runs: dict[str, CandidateRun] = {}
        self.wanted_effects = inspection.effects_called_for(problem.statement)
        self.ranking = rank([], {}, self.tests, self.wanted_effects)
        self.tests_ready = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    def add_generated(self, tests: Sequence[TestCase]) -> None:
        """Append model-written tests and let the runs begin."""
        self.tests += tests
        self.tests_ready.set()

    def submit(self, candidate: Candidate) -> None:
        """Schedule a run of `candidate`."""
        self.candidates.append(candidate)
        task = asyncio.get_running_loop().create_task(self._test(candidate))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for every scheduled run."""
        self.tests_ready.set()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def cancel(self) -> None:
        """Stop every run in progress (their processes are killed)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _test(self, candidate: Candidate) -> None:
        await self.tests_ready.wait()
        run = with_code_findings(
            await self._run(candidate), candidate.code, self.problem, self.tests
        )
        self.runs[candidate.id] = run
        self.ranking = rank(self.candidates, self.runs, self.tests, self.wanted_effects)
        placed = next(r for r in self.ranking.candidates if r.candidate_id == candidate.id)
        self.emit(CandidateTested(candidate_id=candidate.id, run=run, ranked=placed))
        self.emit(RankingChanged(ranking=self.ranking))
        if self.on_passing is not None:
            self.on_passing(self.ranking.passing)

    async def _run(self, candidate: Candidate) -> CandidateRun:
        if not self.tests:
            return CandidateRun(outcomes=[])
        try:  # splicing a large module takes tens of ms: keep it off the event loop
            program = await asyncio.to_thread(
                candidate_program, self.problem, candidate.code, self.module_source
            )
        except SpliceError as error:
            return _all_failed(self.tests, f"the candidate cannot be put in the module: {error}")
        return await self.executor.run(program, self.tests)


def with_code_findings(
    run: CandidateRun, code: str, problem: Problem, tests: Sequence[TestCase]
) -> CandidateRun:
    """`run` with what reading the candidate's code shows: whether it may special-case the
    tests the model was shown, and whether it reads the environment or secret files."""
    visible = [t for t in tests if t.trusted and t.source in ("docstring", "statement")]
    reads = [
        SideEffect(kind="secret" if "environment" not in reason else "environment",
                   detail=reason, seen="code")
        for reason in inspection.environment_reads(code)
    ]  # fmt: skip
    return run.model_copy(update={
        "special_casing": inspection.special_casing(code, visible, problem.entry_point),
        "side_effects": [*run.side_effects, *reads],
    })  # fmt: skip


def _all_failed(tests: Sequence[TestCase], message: str) -> CandidateRun:
    return CandidateRun(
        outcomes=[
            TestOutcome(test_id=test.id, status=TestStatus.ERROR, message=message) for test in tests
        ]
    )
