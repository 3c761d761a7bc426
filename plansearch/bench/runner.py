"""Run the bench: search every task with every strategy, then test and grade every candidate.

Searches of different tasks run at once, up to `parallel` of them (each with its own limit
of `settings.concurrency` model calls in flight), on one `Workbench`: its executor runs the
candidates of all of them against their task's public and hidden tests, and all searches
share its provider and response cache, so a re-run answers from the cache every call a
previous run finished and asks the model only for the rest.

`evaluate_problem` is one (task, strategy) evaluation from start to end, with nothing shared
but the workbench: what a worker elsewhere (a Ray task) would call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from plansearch.bench.diversity import DiversityJudge, JudgeOutcome
from plansearch.bench.tasks import BenchError, BenchTask, TaskTests
from plansearch.config import StrategyName
from plansearch.models.retry import RetryPolicy
from plansearch.problem import Problem, ProblemError
from plansearch.ranking import rank
from plansearch.result import Candidate, FinishReason, SearchResult
from plansearch.splice import SpliceError
from plansearch.types import CandidateRun
from plansearch.workbench import Target, Workbench

if TYPE_CHECKING:
    from plansearch.execution.executor import Executor

_MESSAGE_LIMIT = 300


@dataclass(frozen=True)
class RunOptions:
    """How each (task, strategy) is evaluated."""

    samples: int | None = None
    """Candidates per search (`max_candidates`); None: the budget preset's."""
    judge_pairs: int = 0
    """Pairs of candidates the diversity judge compares per search; 0: no judge."""
    direct: bool = False
    """Add the fast direct candidate to each search (off: a strategy's own candidates)."""


class CandidateOutcome(BaseModel):
    """How one candidate did on the public and the hidden tests."""

    id: str
    public_passed: int
    public_total: int
    passes_public: bool = Field(description="Passes every public test (true when there is none).")
    hidden_passed: int
    hidden_total: int
    passes_hidden: bool = Field(
        description="Correct as the dataset grades it: every hidden test passes (for "
        "LiveCodeBench, every public one too)."
    )
    tolerant_verdicts: int = Field(
        0, description="Tests passed by the executor's tolerant comparison because the "
        "dataset's own could not be applied (an output too long to be recorded whole)."
    )
    failure: str | None = Field(None, description="The first failure, trimmed.")
    output_tokens: int = Field(description="Output tokens of the calls on its branch.")


class ProblemOutcome(BaseModel):
    """One task searched with one strategy: the counts pass@k is computed from."""

    task_id: str
    strategy: str
    n: int = Field(description="Candidates written.")
    c_hidden: int = Field(description="Correct candidates.")
    n_public_pass: int = Field(description="Candidates passing every public test.")
    c_public_and_hidden: int = Field(description="Of those, correct candidates.")
    public_tests: int = Field(description="Public tests (the examples a user could see).")
    hidden_tests: int = Field(0, description="Hidden tests.")
    output_tokens: int = Field(description="Output tokens of the whole search.")
    calls: int = 0
    cached_calls: int = 0
    behaviour_clusters: int = Field(0, description="Distinct behaviours on all the tests.")
    distinct_plans: int = Field(0, description="Distinct sketches among the candidates.")
    judge: JudgeOutcome | None = Field(None, description="The diversity judge's verdicts.")
    finish_reason: FinishReason | None = Field(None, description="None if no search ran.")
    message: str | None = None
    search_seconds: float = 0.0
    test_seconds: float = 0.0
    candidates: list[CandidateOutcome] = Field(default_factory=list)
    node: str | None = Field(
        None, description="The cluster node that ran it (its address and the start of its "
        "Ray node id); None in a local run."
    )
    retried: int = Field(
        0, description="Times it was started again on the cluster because the node or "
        "process running it was lost."
    )

    @property
    def failed(self) -> bool:
        """No search ran, or it ended with an error."""
        return self.finish_reason in (None, FinishReason.ERROR)


async def evaluate(
    bench: Workbench,
    tasks: Sequence[BenchTask],
    strategies: Sequence[StrategyName],
    *,
    options: RunOptions = RunOptions(),
    parallel: int = 4,
    on_outcome: Callable[[ProblemOutcome], None] | None = None,
) -> list[ProblemOutcome]:
    """Outcomes of every (strategy, task) pair, strategies first, in the order given."""
    gate = asyncio.Semaphore(parallel)

    async def one(task: BenchTask, strategy: StrategyName) -> ProblemOutcome:
        async with gate:
            outcome = await evaluate_problem(bench, task, strategy, options)
        if on_outcome is not None:
            on_outcome(outcome)
        return outcome

    async with asyncio.TaskGroup() as group:
        jobs = [
            group.create_task(one(task, strategy)) for strategy in strategies for task in tasks
        ]
    return [job.result() for job in jobs]


async def evaluate_problem(
    bench: Workbench, task: BenchTask, strategy: StrategyName, options: RunOptions
) -> ProblemOutcome:
    """Search `task` with `strategy`, run and grade every candidate, and (if asked) judge
    the diversity of its candidates.

    The search never sees a test: settings that choose tests for `solve` (tests file,
    generated tests, stop when passing) play no part; the candidates run once it is over.
    """
    try:
        problem = task.problem()
    except ProblemError as error:
        return _empty(task, strategy, f"cannot build the problem: {error}")
    async with bench.lease_executor(bench.settings) as executor:
        try:
            tests = await task.tests(problem, executor)
        except BenchError as error:
            return _empty(task, strategy, str(error))
        overrides = {
            "strategy": strategy,
            "max_candidates": options.samples or bench.settings.max_candidates,
            "run_tests": False,
            "generate_tests": 0,
            "stop_when_passing": None,
            "tests_file": None,
            "direct": options.direct,
        }
        search = await bench.search(Target(problem), overrides)
        result = await search.run()
        started = time.monotonic()
        runs = await _run_all(executor, task, problem, result.candidates, tests)
        test_seconds = round(time.monotonic() - started, 3)
    everything = [*tests.public, *tests.hidden]
    by_id = {c.id: run for c, run in zip(result.candidates, runs, strict=True) if run}
    candidates = [
        _candidate_outcome(candidate, run, tests)
        for candidate, run in zip(result.candidates, runs, strict=True)
    ]
    diversity = rank(result.candidates, by_id, everything).diversity
    judge = None
    if options.judge_pairs:
        judge = await _judge(bench, problem, result, options.judge_pairs,
                             f"{bench.settings.seed}:{task.task_id}:{strategy}")
    return ProblemOutcome(
        task_id=task.task_id,
        strategy=strategy,
        n=len(candidates),
        c_hidden=sum(c.passes_hidden for c in candidates),
        n_public_pass=sum(c.passes_public for c in candidates),
        c_public_and_hidden=sum(c.passes_public and c.passes_hidden for c in candidates),
        public_tests=len(tests.public),
        hidden_tests=len(tests.hidden),
        output_tokens=result.stats.usage.output_tokens,
        calls=result.stats.calls,
        cached_calls=result.stats.cached_calls,
        behaviour_clusters=diversity.behaviour_clusters,
        distinct_plans=diversity.distinct_plans,
        judge=judge,
        finish_reason=result.finish_reason,
        message=result.message,
        search_seconds=result.stats.wall_seconds,
        test_seconds=test_seconds,
        candidates=candidates,
    )


async def _run_all(
    executor: Executor,
    task: BenchTask,
    problem: Problem,
    candidates: list[Candidate],
    tests: TaskTests,
) -> list[CandidateRun | None]:
    """Each candidate's run against all the tests (None when its code cannot become a
    program), under the task's limits."""
    update = {
        name: value
        for name, value in (("test_timeout", tests.test_timeout),
                            ("candidate_timeout", tests.candidate_timeout))
        if value is not None
    }
    limits = executor.limits.model_copy(update=update)
    everything = [*tests.public, *tests.hidden]

    async def one(code: str) -> CandidateRun | None:
        try:
            program = task.program(problem, code)
        except SpliceError:
            return None
        return await executor.run(program, everything, limits)

    return list(await asyncio.gather(*(one(c.code) for c in candidates)))


async def _judge(
    bench: Workbench, problem: Problem, result: SearchResult, pairs: int, seed: str
) -> JudgeOutcome:
    settings = bench.settings
    async with bench.lease_provider(settings) as provider:
        judge = DiversityJudge(
            provider, bench.cache_for(settings), concurrency=settings.concurrency,
            max_tokens=settings.max_tokens,
            retry_policy=RetryPolicy(max_retries=settings.max_retries),
        )
        return await judge.judge(problem.prompt_text(), [c.code for c in result.candidates],
                                 pairs, seed)


def _candidate_outcome(
    candidate: Candidate, run: CandidateRun | None, tests: TaskTests
) -> CandidateOutcome:
    public, hidden = len(tests.public), len(tests.hidden)
    tokens = candidate.branch_usage.output_tokens
    if run is None:
        return CandidateOutcome(
            id=candidate.id, public_passed=0, public_total=public, passes_public=False,
            hidden_passed=0, hidden_total=hidden, passes_hidden=False,
            failure="the code cannot be made into a program", output_tokens=tokens,
        )
    cases = [*tests.public, *tests.hidden]
    verdicts = [tests.grade(case, outcome)
                for case, outcome in zip(cases, run.outcomes, strict=True)]
    public_passed = sum(v.passed for v in verdicts[:public])
    hidden_passed = sum(v.passed for v in verdicts[public:])
    passes_public = public_passed == public
    failure = next(
        ((case, v) for case, v in zip(cases, verdicts, strict=True) if not v.passed), None
    )
    return CandidateOutcome(
        id=candidate.id,
        public_passed=public_passed,
        public_total=public,
        passes_public=passes_public,
        hidden_passed=hidden_passed,
        hidden_total=hidden,
        passes_hidden=hidden_passed == hidden and (passes_public or not tests.correct_needs_public),
        tolerant_verdicts=sum(v.tolerant for v in verdicts),
        failure=_trim(f"{failure[0].id}: {failure[1].message}") if failure else None,
        output_tokens=tokens,
    )


def _empty(task: BenchTask, strategy: str, message: str) -> ProblemOutcome:
    return ProblemOutcome(
        task_id=task.task_id, strategy=strategy, n=0, c_hidden=0, n_public_pass=0,
        c_public_and_hidden=0, public_tests=0, output_tokens=0, message=message,
    )


def _trim(text: str) -> str:
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 3] + "..."
