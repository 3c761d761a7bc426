"""Run the bench: search every task with every strategy, then test every candidate.

Searches of different tasks run at once, up to `parallel` of them (each with its own limit
of `settings.concurrency` model calls in flight). One executor tests the candidates of all
of them against the public tests (docstring examples) and the hidden test (the dataset's
``check``). All searches share one provider and one response cache, so a re-run answers from
the cache every call a previous run finished and asks the model only for the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence

from pydantic import BaseModel, Field

from plansearch.bench.humaneval import Task, hidden_test, module_source, task_problem
from plansearch.config import Settings, StrategyName
from plansearch.execution.executor import Executor
from plansearch.execution.limits import Limits
from plansearch.models.base import Provider
from plansearch.models.cache import ResponseCache
from plansearch.models.factory import make_provider
from plansearch.models.retry import RetryPolicy
from plansearch.problem import Problem, ProblemError
from plansearch.ranking import rank
from plansearch.result import Candidate, FinishReason
from plansearch.search import Search
from plansearch.splice import SpliceError, candidate_program
from plansearch.testsources.examples import tests_from_examples
from plansearch.types import CandidateRun, TestCase, TestStatus

_MESSAGE_LIMIT = 300


class CandidateOutcome(BaseModel):
    """How one candidate did on the public and the hidden tests."""

    id: str
    public_passed: int
    public_total: int
    passes_public: bool = Field(description="Passes every public test (true when there is none).")
    passes_hidden: bool
    failure: str | None = Field(None, description="The first failure, trimmed.")
    output_tokens: int = Field(description="Output tokens of the calls on its branch.")


class ProblemOutcome(BaseModel):
    """One task searched with one strategy: the counts pass@k is computed from."""

    task_id: str
    strategy: str
    n: int = Field(description="Candidates written.")
    c_hidden: int = Field(description="Candidates passing the hidden test.")
    n_public_pass: int = Field(description="Candidates passing every public test.")
    c_public_and_hidden: int = Field(description="Of those, candidates passing the hidden test.")
    public_tests: int = Field(description="Docstring examples used as public tests.")
    output_tokens: int = Field(description="Output tokens of the whole search.")
    calls: int = 0
    cached_calls: int = 0
    behaviour_clusters: int = Field(0, description="Distinct behaviours on all the tests.")
    distinct_plans: int = Field(0, description="Distinct sketches among the candidates.")
    finish_reason: FinishReason | None = Field(None, description="None if no search ran.")
    message: str | None = None
    search_seconds: float = 0.0
    test_seconds: float = 0.0
    candidates: list[CandidateOutcome] = Field(default_factory=list)

    @property
    def failed(self) -> bool:
        """No search ran, or it ended with an error."""
        return self.finish_reason in (None, FinishReason.ERROR)


async def evaluate(
    tasks: Sequence[Task],
    settings: Settings,
    strategies: Sequence[StrategyName],
    *,
    samples: int | None = None,
    parallel: int = 4,
    provider: Provider | None = None,
    executor: Executor | None = None,
    retry_policy: RetryPolicy | None = None,
    on_outcome: Callable[[ProblemOutcome], None] | None = None,
) -> list[ProblemOutcome]:
    """Outcomes of every (strategy, task) pair, strategies first, in the order given.

    `samples` caps the candidates per search (`max_candidates`). A provider or executor
    given is used and left open; otherwise one is made from `settings` (test limits and
    isolation included) and closed. The searches never see a test: settings that choose
    tests for `solve` (tests file, generated tests, stop-when-passing) play no part.
    """
    gate = asyncio.Semaphore(parallel)
    async with contextlib.AsyncExitStack() as stack:
        if provider is None:
            provider = make_provider(settings)
            stack.push_async_callback(provider.aclose)
        cache = ResponseCache(settings.cache_path) if settings.cache else None
        if cache is not None:
            stack.callback(cache.close)
        if executor is None:
            limits = Limits(test_timeout=settings.test_timeout,
                            candidate_timeout=settings.candidate_timeout,
                            memory_mb=settings.memory_mb)
            executor = await stack.enter_async_context(
                Executor(limits=limits, isolation=settings.isolation)
            )
        bench = _Bench(settings, samples, provider, cache, executor, retry_policy)

        async def one(task: Task, strategy: StrategyName) -> ProblemOutcome:
            async with gate:
                outcome = await bench.outcome(task, strategy)
            if on_outcome is not None:
                on_outcome(outcome)
            return outcome

        async with asyncio.TaskGroup() as group:
            jobs = [
                group.create_task(one(task, strategy))
                for strategy in strategies
                for task in tasks
            ]
    return [job.result() for job in jobs]


class _Bench:
    """What every (task, strategy) evaluation shares."""

    def __init__(
        self,
        settings: Settings,
        samples: int | None,
        provider: Provider,
        cache: ResponseCache | None,
        executor: Executor,
        retry_policy: RetryPolicy | None,
    ) -> None:
        self.settings = settings
        self.samples = samples
        self.provider = provider
        self.cache = cache
        self.executor = executor
        self.retry_policy = retry_policy

    async def outcome(self, task: Task, strategy: StrategyName) -> ProblemOutcome:
        try:
            problem = task_problem(task)
        except ProblemError as error:
            return _empty(task, strategy, f"cannot build the problem: {error}")
        settings = self.settings.model_copy(update={
            "strategy": strategy,
            "max_candidates": self.samples or self.settings.max_candidates,
        })
        search = Search(problem, settings, provider=self.provider, cache=self.cache,
                        retry_policy=self.retry_policy)
        result = await search.run()
        public = tests_from_examples(problem)
        tests = [*public, hidden_test(task)]
        module = module_source(task)
        started = time.monotonic()
        runs = await asyncio.gather(
            *(self._run(c.code, module, problem, tests) for c in result.candidates)
        )
        test_seconds = round(time.monotonic() - started, 3)
        by_id = {c.id: run for c, run in zip(result.candidates, runs, strict=True) if run}
        candidates = [
            _candidate_outcome(candidate, run, len(public))
            for candidate, run in zip(result.candidates, runs, strict=True)
        ]
        diversity = rank(result.candidates, by_id, tests).diversity
        return ProblemOutcome(
            task_id=task.task_id,
            strategy=strategy,
            n=len(candidates),
            c_hidden=sum(c.passes_hidden for c in candidates),
            n_public_pass=sum(c.passes_public for c in candidates),
            c_public_and_hidden=sum(c.passes_public and c.passes_hidden for c in candidates),
            public_tests=len(public),
            output_tokens=result.stats.usage.output_tokens,
            calls=result.stats.calls,
            cached_calls=result.stats.cached_calls,
            behaviour_clusters=diversity.behaviour_clusters,
            distinct_plans=diversity.distinct_plans,
            finish_reason=result.finish_reason,
            message=result.message,
            search_seconds=result.stats.wall_seconds,
            test_seconds=test_seconds,
            candidates=candidates,
        )

    async def _run(
        self, code: str, module: str, problem: Problem, tests: list[TestCase]
    ) -> CandidateRun | None:
        """The candidate's run, or None when its code cannot be put into the module."""
        try:
            program = candidate_program(problem, code, module)
        except SpliceError:
            return None
        return await self.executor.run(program, tests)


def _candidate_outcome(
    candidate: Candidate, run: CandidateRun | None, public: int
) -> CandidateOutcome:
    tokens = candidate.branch_usage.output_tokens
    if run is None:
        return CandidateOutcome(
            id=candidate.id, public_passed=0, public_total=public, passes_public=False,
            passes_hidden=False, failure="the code cannot be spliced into the module",
            output_tokens=tokens,
        )
    public_runs, hidden = run.outcomes[:public], run.outcomes[public]
    passed = sum(o.status is TestStatus.PASS for o in public_runs)
    failure = next((o for o in run.outcomes if o.status is not TestStatus.PASS), None)
    return CandidateOutcome(
        id=candidate.id,
        public_passed=passed,
        public_total=public,
        passes_public=passed == public,
        passes_hidden=hidden.status is TestStatus.PASS,
        failure=_trim(f"{failure.test_id}: {failure.status}: {failure.message}")
        if failure else None,
        output_tokens=tokens,
    )


def _empty(task: Task, strategy: str, message: str) -> ProblemOutcome:
    return ProblemOutcome(
        task_id=task.task_id, strategy=strategy, n=0, c_hidden=0, n_public_pass=0,
        c_public_and_hidden=0, public_tests=0, output_tokens=0, message=message,
    )


def _trim(text: str) -> str:
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 3] + "..."
