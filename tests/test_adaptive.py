"""The adaptive in-flight limit: how successes, refusals, timeouts, queueing and the caps
move it, and searches against endpoints that hold only a few calls at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from plansearch.events import CallFinished, CallStarted
from plansearch.models.errors import ModelError, RateLimited, RequestTimedOut, ServerError
from plansearch.result import FinishReason
from plansearch.scheduling import START, AdaptiveLimiter
from plansearch.workbench import Target
from tests.search_helpers import PROBLEM, run_search, settings_for, workbench
from tests.support.fake_llm import FakeLLMServer, Local
from tests.support.plansearch_script import PlanSearchScript


async def _calls(limiter: AdaptiveLimiter, count: int, *, seconds: float = 0.01,
                 error: ModelError | None = None) -> None:
    """`count` calls at once, each holding a slot for `seconds` and then succeeding or
    raising `error`."""

    async def one() -> None:
        async with limiter.permit(0):
            await asyncio.sleep(seconds)
            if error is not None:
                raise error

    await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)


async def test_starts_at_the_default_and_doubles_while_calls_wait() -> None:
    limiter = AdaptiveLimiter("test")
    assert limiter.limit == START
    await _calls(limiter, START * 4)
    assert limiter.limit >= 2 * START


async def test_does_not_grow_while_most_slots_are_idle() -> None:
    limiter = AdaptiveLimiter("test")
    for _ in range(40):
        await _calls(limiter, 2)
    assert limiter.limit == START


async def test_a_burst_of_refusals_cuts_once_by_a_quarter() -> None:
    limiter = AdaptiveLimiter("test")
    await _calls(limiter, START, error=RateLimited("429"))
    assert limiter.limit == START * 3 // 4


async def test_after_a_cut_it_grows_by_one_a_round_trip() -> None:
    limiter = AdaptiveLimiter("test")
    await _calls(limiter, START, error=RateLimited("429"))
    cut = limiter.limit
    await _calls(limiter, cut * 3)  # three rounds of `cut` calls
    assert cut + 2 <= limiter.limit <= cut + 3


async def test_timeouts_halve_it_and_other_errors_leave_it() -> None:
    limiter = AdaptiveLimiter("test")
    await _calls(limiter, 4, error=ServerError("500"))
    assert limiter.limit == START
    await _calls(limiter, 4, error=RequestTimedOut("slow"))
    assert limiter.limit == START // 2


async def test_replies_slowed_by_queueing_halve_it() -> None:
    limiter = AdaptiveLimiter("test")
    await _calls(limiter, 1, seconds=0.05)  # the fastest reply so far
    await _calls(limiter, 1, seconds=1.05)  # 20 times as long for as many tokens
    assert limiter.limit == START // 2


async def test_retry_after_holds_back_new_calls_until_it_passes() -> None:
    limiter = AdaptiveLimiter("test")
    await _calls(limiter, 1, error=RateLimited("429", retry_after=1.0))
    waiting = asyncio.create_task(_calls(limiter, 1))
    for _ in range(3):  # the new call gets as far as it can: to the pause
        await asyncio.sleep(0)
    assert not waiting.done() and limiter.held == 0, "no slot is given during the pause"
    await waiting  # and it goes on once the pause is over


async def test_caps_bound_it_and_the_lowest_wins() -> None:
    limiter = AdaptiveLimiter("test")
    limiter.cap("the concurrency setting", 256)
    limiter.cap("the server's slots", 2)
    assert limiter.limit == 2
    await _calls(limiter, 20)
    assert limiter.limit == 2
    limiter.cap("the concurrency setting", 3)
    limiter.cap("the concurrency setting", 1)
    assert limiter.limit == 1


@pytest.mark.parametrize("retry_after", [None, 0.05])
async def test_search_against_an_endpoint_holding_four_has_no_failed_call(
    tmp_path: Path, retry_after: float | None
) -> None:
    """The limit comes down to what the endpoint holds: every refused call is asked again,
    none fails, and the limit ends near 4."""
    local = Local(family="other", max_held=4, busy_retry_after=retry_after)
    with FakeLLMServer(PlanSearchScript("add", first=3, derived=2), latency=0.02,
                       local=local) as server:
        result, events = await run_search(settings_for(server, tmp_path, concurrency=256,
                                                       depth=1))
        refused = server.busy_refusals
    assert result.finish_reason is FinishReason.COMPLETED
    assert result.stats.failed_calls == 0
    assert refused > 0 and result.stats.faults["rate_limited"] == refused
    assert result.candidates and result.stats.dropped_branches == 0
    limits = [e.limit for e in events if isinstance(e, CallStarted | CallFinished)]
    assert all(limit is not None and limit <= START + 4 for limit in limits)
    assert limits[-1] is not None and limits[-1] <= 6


async def test_one_provider_limit_is_shared_by_the_searches_calling_it(tmp_path: Path) -> None:
    """Two searches at once on one workbench share the endpoint's limit: the server never
    holds more than the concurrency setting allows."""
    with FakeLLMServer(PlanSearchScript("add", first=3, derived=2), latency=0.02,
                       local=Local(family="other")) as server:
        settings = settings_for(server, tmp_path, concurrency=5, cache=False)
        async with workbench(settings) as bench:
            searches = [await bench.search(Target(PROBLEM)) for _ in range(2)]
            await asyncio.gather(*(search.run() for search in searches))
        peak = server.peak_held
    assert peak == 5
