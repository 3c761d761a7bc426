"""Testing candidates while the search runs, and keeping the ranking current."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from plansearch.events import CandidateTested, RankingChanged, SearchEvent
from plansearch.execution.executor import Executor
from plansearch.execution.model import CandidateRun, TestCase, TestOutcome, TestStatus
from plansearch.problem import Problem
from plansearch.ranking import rank
from plansearch.result import Candidate
from plansearch.splice import SpliceError, candidate_program


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
        self.ranking = rank([], {}, self.tests)
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
        run = await self._run(candidate)
        self.runs[candidate.id] = run
        self.ranking = rank(self.candidates, self.runs, self.tests)
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
                candidate_program, self.problem, candidate.code, self.module_source)
        except SpliceError as error:
            return _all_failed(self.tests, f"the candidate cannot be put in the module: {error}")
        return await self.executor.run(program, self.tests)


def _all_failed(tests: Sequence[TestCase], message: str) -> CandidateRun:
    return CandidateRun(outcomes=[
        TestOutcome(test_id=test.id, status=TestStatus.ERROR, message=message) for test in tests
    ])

