"""One search as a stream of events: what front ends translate.

    search = await workbench.search(target)       # see `workbench`: it assembles the parts
    async for event in search.events():
        ...                      # render; call search.cancel() to stop early

The last event is always `SearchFinished`, carrying every candidate that finished, the
outcome of its tests, the ranking, and the id of the stored run.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from plansearch import budget
from plansearch.candidate_testing import CandidateTester
from plansearch.config import Settings
from plansearch.context import SearchAborted, SearchContext
from plansearch.events import SearchEvent, SearchFinished
from plansearch.models.base import Provider
from plansearch.models.cache import ResponseCache
from plansearch.models.retry import RetryPolicy
from plansearch.problem import Problem
from plansearch.result import FinishReason, SearchResult, SearchStats
from plansearch.strategies import Strategy, make_strategy
from plansearch.strategies.direct import DirectCandidate
from plansearch.testsources.generated import generate_tests
from plansearch.types import TestCase
from plansearch.words import plural

if TYPE_CHECKING:
    from plansearch.execution.executor import Executor

FINISH_MESSAGES: dict[FinishReason, str] = {
    FinishReason.COMPLETED: "The search explored its whole tree.",
    FinishReason.MAX_CALLS: "Stopped at the model-call limit (max_calls).",
    FinishReason.MAX_OUTPUT_TOKENS: "Stopped at the output-token limit (max_output_tokens).",
    FinishReason.MAX_CANDIDATES: "Stopped at the candidate limit (max_candidates).",
    FinishReason.ENOUGH_PASSING: "Stopped: enough candidates pass every test "
    "(stop_when_passing).",
    FinishReason.DEADLINE: "Stopped at the deadline.",
    FinishReason.CANCELLED: "Cancelled; finished candidates were kept.",
}


class Search:
    """A search of one problem, driven by iterating `events()`; `cancel()` stops it.

    With an `executor`, every candidate runs against `tests` (plus model-written tests when
    `settings.generate_tests` asks for them) as soon as it is written. `resources` (what was
    leased for it) are released when it ends; `save` keeps its result and says under which id.
    """

    def __init__(
        self,
        problem: Problem,
        settings: Settings,
        *,
        provider: Provider,
        cache: ResponseCache | None = None,
        strategy: Strategy | None = None,
        retry_policy: RetryPolicy | None = None,
        executor: Executor | None = None,
        tests: Sequence[TestCase] = (),
        module_source: str | None = None,
        resources: contextlib.AsyncExitStack | None = None,
        save: Callable[[SearchResult], Awaitable[str | None]] | None = None,
    ) -> None:
        self.problem = problem
        self.settings = settings
        self._provider = provider
        self._cache = cache
        self._resources = resources
        self._save = save
        self._strategy = strategy or make_strategy(problem, settings)
        self._retry_policy = retry_policy or RetryPolicy(max_retries=settings.max_retries)
        self._executor = executor
        self._tests = list(tests)
        self._module_source = module_source
        self._queue: asyncio.Queue[SearchEvent] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._cancelled_by_user = False
        self.result: SearchResult | None = None
        self.run_id: str | None = None

    @property
    def tests(self) -> list[TestCase]:
        """The trusted tests candidates run against (model-written ones come later)."""
        return list(self._tests)

    def cancel(self) -> None:
        """Stop all in-flight calls and test runs; the search finishes with what it has."""
        self._cancelled_by_user = True
        if self._task is not None:
            self._task.cancel()

    async def events(self) -> AsyncIterator[SearchEvent]:
        """Run the search, yielding events as they happen; ends with `SearchFinished`."""
        runner = asyncio.create_task(self._run(self._provider))
        try:
            while True:
                event = await self._queue.get()
                yield event
                if isinstance(event, SearchFinished):
                    break
        finally:
            if not runner.done():
                self.cancel()
            await asyncio.gather(runner, return_exceptions=True)
            await self._close()

    async def run(self) -> SearchResult:
        """Run to the end, ignoring intermediate events."""
        async for event in self.events():
            if isinstance(event, SearchFinished):
                return event.result
        raise AssertionError("a search always ends with SearchFinished")

    async def _run(self, provider: Provider) -> None:
        limits = budget.limits(self.settings)
        ctx = SearchContext(
            provider=provider,
            limits=limits,
            concurrency=self.settings.concurrency,
            emit=self._queue.put_nowait,
            strategy=self._strategy.name,
            cache=self._cache,
            retry_policy=self._retry_policy,
        )
        tester = self._tester(ctx)
        started = time.monotonic()
        reason = FinishReason.COMPLETED
        message: str | None = None
        phase = asyncio.create_task(self._explore_then_test(ctx, tester))
        self._task = phase
        if self._cancelled_by_user:
            phase.cancel()
        try:
            async with asyncio.timeout(limits.deadline):
                await phase
        except TimeoutError:
            reason = FinishReason.DEADLINE
        except asyncio.CancelledError:
            reason = FinishReason.CANCELLED
        except Exception as exc:  # a bug must still end the search with what it has
            reason = FinishReason.ERROR
            message = _error_message(exc)
        await asyncio.gather(phase, return_exceptions=True)
        if tester is not None:
            await tester.cancel()
        if reason is FinishReason.COMPLETED and ctx.stop_reason is not None:
            reason = ctx.stop_reason
        ctx.stats.wall_seconds = round(time.monotonic() - started, 3)
        if message is None and not ctx.candidates and reason is not FinishReason.CANCELLED:
            message = no_candidate_message(ctx.stats, ctx.errors)
        self.result = SearchResult(
            problem=self.problem.entry_point or self.problem.statement.strip().splitlines()[0],
            strategy=self._strategy.name,
            provider=provider.name,
            model=provider.model,
            finish_reason=reason,
            message=message or FINISH_MESSAGES.get(reason),
            stats=ctx.stats,
            candidates=sorted(ctx.candidates,
                              key=lambda c: (len(c.graph_position), c.graph_position)),
            errors=list(ctx.errors),
            tests=tester.tests if tester is not None else [],
            runs=dict(tester.runs) if tester is not None else {},
            ranking=tester.ranking if tester is not None else None,
            isolation=self._executor.isolation.level if self._executor else None,
        )
        if self._save is not None:
            self.run_id = await self._save(self.result)
        self._queue.put_nowait(SearchFinished(result=self.result, run_id=self.run_id))

    def _tester(self, ctx: SearchContext) -> CandidateTester | None:
        if self._executor is None:
            return None
        stop_at = self.settings.stop_when_passing

        def on_passing(passing: int) -> None:
            if stop_at is not None and passing >= stop_at:
                ctx.stop(FinishReason.ENOUGH_PASSING)

        tester = CandidateTester(self._executor, self.problem, self._module_source,
                                 self._tests, ctx.emit, on_passing=on_passing)
        ctx.on_candidate = tester.submit
        return tester

    async def _explore_then_test(
        self, ctx: SearchContext, tester: CandidateTester | None
    ) -> None:
        """Run the strategy (and test generation); then finish the test runs it started."""
        work = asyncio.create_task(self._explore(ctx, tester))
        ctx.on_stop = work.cancel
        try:
            await work
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the whole search is being cancelled, not just the exploration
        if tester is None:
            return
        if ctx.stop_reason is FinishReason.ENOUGH_PASSING:
            await tester.cancel()
        else:
            await tester.drain()

    async def _explore(self, ctx: SearchContext, tester: CandidateTester | None) -> None:
        async with asyncio.TaskGroup() as group:
            if tester is not None:
                group.create_task(self._generate_tests(ctx, tester))
            if self.settings.direct and self._strategy.name != "repeated":
                group.create_task(DirectCandidate(self.problem, self.settings).run(ctx))
            group.create_task(self._strategy.run(ctx))

    async def _generate_tests(self, ctx: SearchContext, tester: CandidateTester) -> None:
        tests: list[TestCase] = []
        try:
            tests = await generate_tests(ctx, self.problem, self.settings.generate_tests,
                                         max_tokens=self.settings.max_tokens)
        finally:
            tester.add_generated(tests)

    async def _close(self) -> None:
        if self._resources is not None:
            await self._resources.aclose()


def no_candidate_message(stats: SearchStats, errors: Sequence[str]) -> str:
    """Why a search ended without a candidate, and what to look at."""
    if stats.failed_calls and not stats.calls:
        first = f": {errors[0]}" if errors else ""
        return f"No candidate: every model call failed{first}"
    if stats.parse_failures:
        return (f"No candidate: {plural(stats.parse_failures, 'reply')} could not be parsed, "
                f"{plural(stats.dropped_branches, 'branch')} dropped: the model may not "
                "follow the format; see the log.")
    summary = stats.failure_summary()
    return f"No candidate: {summary}" if summary else "No candidate: the model wrote no program."


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc


def _error_message(exc: BaseException) -> str:
    """The user-facing reason of a failed search: a model error, else an internal error."""
    leaves = list(_leaves(exc))
    for leaf in leaves:
        if isinstance(leaf, SearchAborted):
            return str(leaf)
    first = leaves[0]
    return f"internal error: {type(first).__name__}: {first}"
