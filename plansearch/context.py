"""The search context: every model call of a strategy goes through here.

It answers from the response cache when it can; otherwise each attempt holds a slot of the
provider's in-flight limit (shared with every search calling that endpoint, and moved by
what each attempt meets), and transient errors are retried. It enforces the budget, keeps
the counters and emits events.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

from plansearch.budget import Limits
from plansearch.events import (
    BranchDropped,
    CallFinished,
    CallRetrying,
    CallStarted,
    CandidateReady,
    SearchEvent,
    StageStarted,
)
from plansearch.models.base import ModelReply, ModelRequest, Provider, StopReason, Usage
from plansearch.models.cache import ResponseCache
from plansearch.models.errors import EmptyReply, EndpointUnreachable, ModelError
from plansearch.models.retry import RetryPolicy, call_with_retries
from plansearch.result import Candidate, FinishReason, Plan, SearchStats


class Stage(IntEnum):
    """Kinds of model call; the value is the scheduling priority (lower goes first)."""

    TESTS = -1
    CODE = 0
    PSEUDOCODE = 1
    FIX = 2
    CRITIQUE = 3
    SKETCH = 4
    OBSERVATIONS = 5

    @property
    def label(self) -> str:
        return self.name.lower()


class BranchFailed(Exception):
    """This branch cannot go on (a call failed after retries); others continue."""


class BudgetExhausted(Exception):
    """A limit was reached; no new call may start."""


class SearchAborted(Exception):
    """Nothing can work (bad key, unknown model, no quota): the whole search stops."""

    def __init__(self, error: ModelError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True)
class Answer:
    """A reply and where it sits in the call graph."""

    text: str
    usage: Usage
    depth: int
    truncated: bool


@dataclass
class SearchContext:
    """Shared state of one running search."""

    provider: Provider
    limits: Limits
    concurrency: int
    """The most calls in flight at once; the provider's limit adapts below it."""
    emit: Callable[[SearchEvent], None]
    strategy: str
    cache: ResponseCache | None = None
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    stats: SearchStats = field(default_factory=SearchStats)
    candidates: list[Candidate] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stop_reason: FinishReason | None = None
    on_stop: Callable[[], object] | None = None
    """Called once when a limit says the exploration must end now."""
    on_candidate: Callable[[Candidate], object] | None = None
    """Called with every new candidate (to test it)."""

    def __post_init__(self) -> None:
        self._limiter = self.provider.limiter
        self._limiter.cap("the concurrency setting", self.concurrency)
        self._calls_started = 0
        self._issued = 0
        self._sending = 0
        self._next_call_id = 0
        self._stages_seen: set[str] = set()

    # ----------------------------------------------------------------- calls

    async def ask(
        self, stage: Stage, request: ModelRequest, *, after: int = 0, sample: int = 0
    ) -> Answer:
        """One model call whose inputs came from calls at graph depth `after`.

        Raises BranchFailed (the branch is counted as dropped), BudgetExhausted or
        SearchAborted; an empty or cut-off reply is returned (counted), not raised.
        """
        self._check_budget()
        self._calls_started += 1
        self._next_call_id += 1
        call_id = self._next_call_id
        self._note_stage(stage)
        self._issued += 1
        self.emit(CallStarted(call_id=call_id, stage=stage.label, in_flight=self._sending,
                              queued=self._issued - self._sending, limit=self._limiter.limit))
        started = time.monotonic()
        error: ModelError | None = None
        reply: ModelReply | None = None
        try:
            reply = await self._reply(stage, request, sample, call_id)
        except ModelError as exc:
            error = exc
        finally:
            self._issued -= 1
        return self._account(stage, call_id, started, after, reply, error)

    async def _reply(
        self, stage: Stage, request: ModelRequest, sample: int, call_id: int
    ) -> ModelReply:
        identity = self.provider.cache_identity
        if self.cache is not None:
            cached = await asyncio.to_thread(self.cache.get, identity, request, sample)
            if cached is not None:
                return cached

        retried = False

        def on_retry(error: ModelError, delay: float, attempt: int) -> None:
            nonlocal retried
            retried = True
            self.stats.retries += 1
            self._count_fault(error)
            self.emit(CallRetrying(call_id=call_id, stage=stage.label, reason=error.message,
                                   delay=delay))

        async def attempt() -> ModelReply:
            async with self._limiter.permit(int(stage)) as permit:
                self._sending += 1
                try:
                    reply = (await self.provider.complete(request, 1))[0]
                finally:
                    self._sending -= 1
                permit.output_tokens = reply.usage.output_tokens
            if reply.is_empty and reply.stop_reason is not StopReason.MAX_TOKENS:
                self.stats.empty_replies += 1
                raise EmptyReply("the model sent an empty reply")
            return reply

        await self.provider.discover()
        reply = await call_with_retries(attempt, self.retry_policy, on_retry)
        self.stats.recovered_calls += int(retried)
        if self.cache is not None:
            await asyncio.to_thread(self.cache.put, identity, request, sample, reply)
        return reply

    def _account(
        self,
        stage: Stage,
        call_id: int,
        started: float,
        after: int,
        reply: ModelReply | None,
        error: ModelError | None,
    ) -> Answer:
        seconds = time.monotonic() - started
        usage = reply.usage if reply is not None else Usage()
        if reply is not None:
            self.stats.calls += 1
            self.stats.cached_calls += int(reply.from_cache)
            self.stats.usage = self.stats.usage + usage
            self.stats.truncated_replies += int(reply.stop_reason is StopReason.MAX_TOKENS)
            self.stats.empty_replies += int(reply.is_empty)  # cut off before any text
        else:
            self.stats.failed_calls += 1
            if error is not None:
                self._count_fault(error)
        depth = after + 1
        self.stats.graph_depth = max(self.stats.graph_depth, depth)
        message = error.message if error is not None else None
        if message and message not in self.errors:
            self.errors.append(message)
        self.emit(CallFinished(
            call_id=call_id, stage=stage.label, usage=usage,
            from_cache=reply.from_cache if reply is not None else False,
            seconds=seconds, error=message, stats=self.stats.model_copy(deep=True),
            in_flight=self._sending, queued=self._issued - self._sending,
            limit=self._limiter.limit,
        ))
        if error is not None:
            if error.fatal or isinstance(error, EndpointUnreachable):
                raise SearchAborted(error)  # retried already: nothing else will work either
            self.drop_branch(stage, f"the call failed: {error.message}")
            raise BranchFailed(error.message)
        assert reply is not None
        return Answer(text=reply.text, usage=usage, depth=depth,
                      truncated=reply.stop_reason is StopReason.MAX_TOKENS)

    def _check_budget(self) -> None:
        if self.stop_reason is not None:
            raise BudgetExhausted(self.stop_reason.value)
        limits = self.limits
        if limits.max_calls is not None and self._calls_started >= limits.max_calls:
            self.stop_reason = FinishReason.MAX_CALLS
        elif (limits.max_output_tokens is not None
              and self.stats.usage.output_tokens >= limits.max_output_tokens):
            self.stop_reason = FinishReason.MAX_OUTPUT_TOKENS
        if self.stop_reason is not None:
            raise BudgetExhausted(self.stop_reason.value)

    # ------------------------------------------------------------ bookkeeping

    def _count_fault(self, error: ModelError) -> None:
        self.stats.faults[error.kind] = self.stats.faults.get(error.kind, 0) + 1

    def _note_stage(self, stage: Stage) -> None:
        if stage.label not in self._stages_seen:
            self._stages_seen.add(stage.label)
            self.emit(StageStarted(stage=stage.label))

    def drop_branch(self, stage: Stage, reason: str, *, parse_failure: bool = False) -> None:
        """Count an abandoned branch and say why."""
        self.stats.dropped_branches += 1
        self.stats.parse_failures += int(parse_failure)
        self.emit(BranchDropped(stage=stage.label, reason=reason))

    def count_parse_failure(self) -> None:
        """Count a reply that could not be parsed (the branch may still re-ask)."""
        self.stats.parse_failures += 1

    def add_node(self) -> None:
        """Count one distinct observation set that gets sketches."""
        self.stats.nodes += 1

    def add_candidate(
        self,
        code: str,
        plan: Plan,
        usage: Usage,
        *,
        truncated: bool,
        position: tuple[int, ...],
        candidate_id: str | None = None,
        strategy: str | None = None,
    ) -> None:
        """Record a program (its id `c<index>` unless given); stop the search when
        max_candidates is reached."""
        if self.stop_reason is FinishReason.MAX_CANDIDATES:
            return
        index = len(self.candidates) + 1
        candidate = Candidate(
            id=candidate_id or f"c{index}", index=index, strategy=strategy or self.strategy,
            code=code, plan=plan, branch_usage=usage, truncated=truncated,
            graph_position=list(position),
        )
        self.candidates.append(candidate)
        self.emit(CandidateReady(candidate=candidate))
        if self.on_candidate is not None:
            self.on_candidate(candidate)
        cap = self.limits.max_candidates
        if cap is not None and len(self.candidates) >= cap:
            self.stop(FinishReason.MAX_CANDIDATES)

    def stop(self, reason: FinishReason) -> None:
        """End the exploration now for `reason` (the first reason given is kept)."""
        if self.stop_reason is None:
            self.stop_reason = reason
        if self.on_stop is not None:
            self.on_stop()
