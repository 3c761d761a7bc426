"""The engine end to end: real SDK, real HTTP to the fake server, real SQLite cache."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from plansearch.events import (
    CallFinished,
    CallStarted,
    CandidateReady,
    SearchFinished,
    StageStarted,
)
from plansearch.result import FinishReason
from plansearch.workbench import Target
from tests.search_helpers import PROBLEM, run_search, settings_for, workbench
from tests.support.fake_llm import FakeCall, FakeLLMServer, Fault
from tests.support.plansearch_script import PlanSearchScript, stage_of


def subsets(n: int, s: int) -> int:
    """M(n): subsets of n items of size 0..s."""
    from math import comb

    return sum(comb(n, k) for k in range(s + 1))


@pytest.mark.parametrize(
    ("n1", "n2", "s", "depth", "critique", "pseudocode"),
    [
        (3, 2, 2, 2, True, True),
        (3, 2, 1, 2, True, True),
        (4, 3, 1, 1, True, True),
        (3, 2, 2, 2, False, True),
        (3, 2, 2, 1, True, False),
    ],
)
async def test_plansearch_graph_has_the_prescribed_shape(
    tmp_path: Path, n1: int, n2: int, s: int, depth: int, critique: bool, pseudocode: bool
) -> None:
    script = PlanSearchScript("add", first=n1, derived=n2)
    with FakeLLMServer(script) as server:
        settings = settings_for(server, tmp_path, subset_size=s, depth=depth,
                                critique=critique, pseudocode=pseudocode)
        result, events = await run_search(settings)
        http_requests = server.request_count

    m1, m2 = subsets(n1, s), subsets(n2, s)
    if depth == 1:
        nodes, observation_calls = m1, 4
    else:
        nodes, observation_calls = 1 + (m1 - 1) + m1 * (m2 - 1), 4 * (1 + m1)
    per_node = (1 + (2 if critique else 0)) + (2 if critique else 1) * (2 if pseudocode else 1)
    programs = nodes * (2 if critique else 1)
    assert result.finish_reason is FinishReason.COMPLETED
    assert result.stats.nodes == nodes
    assert result.stats.calls == observation_calls + nodes * per_node == http_requests
    assert len(result.candidates) == programs
    chain = 1 + (2 if critique else 0) + (2 if pseudocode else 1)
    assert result.stats.graph_depth == 4 * depth + chain
    assert sum(isinstance(e, CandidateReady) for e in events) == programs
    assert isinstance(events[-1], SearchFinished)
    assert isinstance(events[0], StageStarted)


@pytest.mark.slow
async def test_paper_example_counts(tmp_path: Path) -> None:
    """n1 = 5, n2 = 3, S = 2, L = 2: U = 112 nodes, 224 programs, 852 calls (the notes)."""
    with FakeLLMServer(PlanSearchScript("add", first=5, derived=3)) as server:
        result, _ = await run_search(settings_for(server, tmp_path, concurrency=128))
    assert (result.stats.nodes, len(result.candidates), result.stats.calls) == (112, 224, 852)


async def test_candidates_carry_their_provenance(tmp_path: Path) -> None:
    with FakeLLMServer(PlanSearchScript("add", first=2, derived=2)) as server:
        result, _ = await run_search(settings_for(server, tmp_path, subset_size=1, depth=2))
    layer2 = [c for c in result.candidates if len(c.plan.observation_path) == 2
              and c.plan.observations]
    assert layer2, "some candidates come from second-order observations"
    for candidate in layer2:
        first, second = candidate.plan.observation_path
        assert candidate.plan.observations == second  # the parent's subset is not carried
        assert all("observation" in text for text in first + second)
    fixed = [c for c in result.candidates if c.plan.fixed_sketch]
    original = [c for c in result.candidates if not c.plan.fixed_sketch]
    assert len(fixed) == len(original)
    for candidate in fixed:
        assert candidate.plan.criticism and candidate.plan.criticism.startswith("critique")
        assert candidate.plan.fixed_sketch.startswith("fix")
    for candidate in result.candidates:
        assert candidate.plan.sketch and candidate.plan.pseudocode
        assert "def add" in candidate.code
        assert candidate.branch_usage.output_tokens > 0


@pytest.mark.parametrize(("strategy", "calls_per_program"), [("repeated", 1), ("ideasearch", 2)])
async def test_baselines(tmp_path: Path, strategy: str, calls_per_program: int) -> None:
    with FakeLLMServer(PlanSearchScript("add")) as server:
        result, _ = await run_search(settings_for(server, tmp_path, strategy=strategy,
                                                  max_candidates=6))
    assert len(result.candidates) == 6
    assert result.stats.calls == 6 * calls_per_program
    for candidate in result.candidates:
        assert (candidate.plan.sketch is not None) == (strategy == "ideasearch")
        assert "def add" in candidate.code


async def test_max_calls_ends_cleanly_with_finished_candidates(tmp_path: Path) -> None:
    with FakeLLMServer(PlanSearchScript("add", first=4, derived=3)) as server:
        result, _ = await run_search(settings_for(server, tmp_path, max_calls=30))
        assert server.request_count <= 30
    assert result.finish_reason is FinishReason.MAX_CALLS
    assert result.stats.calls <= 30
    assert result.candidates, "deeper calls go first, so some branches finish"
    assert all("def add" in c.code for c in result.candidates)


async def test_max_candidates_stops_at_exactly_that_many(tmp_path: Path) -> None:
    with FakeLLMServer(PlanSearchScript("add", first=4, derived=3), latency=0.01) as server:
        result, _ = await run_search(settings_for(server, tmp_path, max_candidates=3))
    assert result.finish_reason is FinishReason.MAX_CANDIDATES
    assert len(result.candidates) == 3


async def test_max_output_tokens(tmp_path: Path) -> None:
    with FakeLLMServer(PlanSearchScript("add"), latency=0.01) as server:
        result, _ = await run_search(settings_for(server, tmp_path, max_output_tokens=60,
                                                  concurrency=2))
    assert result.finish_reason is FinishReason.MAX_OUTPUT_TOKENS
    assert result.stats.usage.output_tokens >= 60


@pytest.mark.slow
async def test_deadline_keeps_what_finished(tmp_path: Path) -> None:
    """Two calls are answered at once, every later one is held until the search has ended:
    the deadline ends the search with the two candidates, without waiting for the rest."""
    script = PlanSearchScript("add")
    release = threading.Event()
    answered: list[FakeCall] = []
    lock = threading.Lock()

    def responder(call: FakeCall) -> str:
        with lock:
            first = len(answered) < 2
            if first:
                answered.append(call)
        if not first:
            release.wait(60)
        return str(script(call))

    with FakeLLMServer(responder) as server:
        settings = settings_for(server, tmp_path, strategy="repeated", max_candidates=20,
                                concurrency=2, deadline=3.0)
        try:
            result, _ = await run_search(settings)
            held = server.request_count - len(answered)
        finally:
            release.set()
    assert result.finish_reason is FinishReason.DEADLINE
    assert len(result.candidates) == 2
    assert held >= 1, "calls were in flight when the deadline came"


async def test_cancel_stops_in_flight_calls_and_keeps_candidates(tmp_path: Path) -> None:
    with FakeLLMServer(PlanSearchScript("add", first=4, derived=3), latency=0.05) as server:
        async with workbench(settings_for(server, tmp_path, concurrency=8)) as bench:
            search = await bench.search(Target(PROBLEM))
            seen = 0
            async for event in search.events():
                if isinstance(event, CandidateReady):
                    seen += 1
                    if seen == 3:
                        search.cancel()
            assert search.result is not None
            # nothing of the search is left that could make a call: no task but this test's
            left = asyncio.all_tasks() - {asyncio.current_task()}
            assert not left, f"still running after cancel: {left}"
    assert search.result.finish_reason is FinishReason.CANCELLED
    assert len(search.result.candidates) >= 3
    assert search.result.stats.calls < 400


async def test_second_identical_run_makes_no_http_request(tmp_path: Path) -> None:
    with FakeLLMServer(PlanSearchScript("add", first=3, derived=2)) as server:
        settings = settings_for(server, tmp_path)
        first, _ = await run_search(settings)
        before = server.request_count
        second, _ = await run_search(settings)
        assert server.request_count == before
    assert second.stats.cached_calls == second.stats.calls == first.stats.calls
    assert [c.code for c in second.candidates] == [c.code for c in first.candidates]
    positions = [c.graph_position for c in first.candidates]
    assert len(set(map(tuple, positions))) == len(positions), "positions identify candidates"


@pytest.mark.slow
async def test_two_concurrent_runs_share_one_cache_file(tmp_path: Path) -> None:
    with FakeLLMServer(PlanSearchScript("add", first=3, derived=2), latency=0.005) as server:
        settings = settings_for(server, tmp_path)
        (a, _), (b, _) = await asyncio.gather(run_search(settings), run_search(settings))
        third, _ = await run_search(settings)
    assert a.finish_reason is b.finish_reason is FinishReason.COMPLETED
    assert not a.errors and not b.errors
    assert third.stats.cached_calls == third.stats.calls


async def test_bad_key_aborts_the_search_with_one_clear_message(tmp_path: Path) -> None:
    with FakeLLMServer(PlanSearchScript("add"), api_key="the-right-key") as server:
        settings = settings_for(server, tmp_path)
        result, _ = await run_search(settings)
        assert server.request_count < 10
    assert result.finish_reason is FinishReason.ERROR
    assert result.message and "ANTHROPIC_API_KEY" in result.message
    assert "sk-test-not-a-real-key" not in result.model_dump_json()


@pytest.mark.slow
async def test_transient_faults_are_retried_and_the_search_completes(tmp_path: Path) -> None:
    script = PlanSearchScript("add", first=3, derived=2)
    with FakeLLMServer(script, fault_rate=0.3, seed=7, retry_after=0.01) as server:
        result, _ = await run_search(settings_for(server, tmp_path, max_retries=8))
    assert result.finish_reason is FinishReason.COMPLETED
    assert result.stats.retries > 10
    assert len(result.candidates) == 56


async def test_an_empty_reply_is_asked_again_and_never_cached(tmp_path: Path) -> None:
    script = PlanSearchScript("add", first=3, derived=2)
    with FakeLLMServer(script, retry_after=0.01) as server:
        server.inject(Fault.EMPTY, times=2)  # the first two requests
        settings = settings_for(server, tmp_path, max_retries=4)
        result, _ = await run_search(settings)
        assert result.finish_reason is FinishReason.COMPLETED
        assert len(result.candidates) == 56
        assert result.stats.empty_replies == 2
        assert result.stats.faults == {"empty_reply": 2}
        assert result.stats.retries == 2 and result.stats.failed_calls == 0
        asked = server.request_count
        again, _ = await run_search(settings)  # everything from the cache, nothing empty
        assert server.request_count == asked
        assert again.stats.empty_replies == 0
        assert [c.code for c in again.candidates] == [c.code for c in result.candidates]


async def test_garbage_observation_lists_are_reasked_then_dropped(tmp_path: Path) -> None:
    script = PlanSearchScript("add", first=3, derived=2)

    def responder(call: FakeCall) -> str:
        if stage_of(call) in {"format", "filter"}:
            return "I'd rather not."
        return str(script(call))

    with FakeLLMServer(responder) as server:
        result, _ = await run_search(settings_for(server, tmp_path))
    # The root's list fails three times (0, 0.2, 0.4), then the branch is dropped: only the
    # root node gets sketches.
    assert result.stats.parse_failures == 3
    assert result.stats.dropped_branches == 1
    assert result.stats.nodes == 1
    assert len(result.candidates) == 2
    assert result.stats.calls == 6 + 7


async def test_replies_without_code_drop_their_branch(tmp_path: Path) -> None:
    script = PlanSearchScript("add", first=2, derived=2)

    def responder(call: FakeCall) -> str:
        if stage_of(call) == "code":
            return "Sorry, I cannot write that."
        return str(script(call))

    with FakeLLMServer(responder) as server:
        result, _ = await run_search(settings_for(server, tmp_path, depth=1))
    assert result.candidates == []
    assert result.stats.parse_failures == result.stats.dropped_branches == 2 * 4


async def test_events_report_calls_and_in_flight(tmp_path: Path) -> None:
    with FakeLLMServer(PlanSearchScript("add", first=2, derived=1)) as server:
        _, events = await run_search(settings_for(server, tmp_path, depth=1))
    started = [e for e in events if isinstance(e, CallStarted)]
    finished = [e for e in events if isinstance(e, CallFinished)]
    assert len(started) == len(finished)
    assert max(e.in_flight for e in started) > 1, "independent calls run at once"
    assert all(e.in_flight + e.queued <= len(started) for e in started)
    assert finished[-1].stats.calls == len(finished)


@pytest.mark.slow
async def test_concurrency_limit_holds_and_queues_the_rest(tmp_path: Path) -> None:
    with FakeLLMServer(PlanSearchScript("add", first=3, derived=2), latency=0.02) as server:
        _, events = await run_search(settings_for(server, tmp_path, concurrency=3))
    calls = [e for e in events if isinstance(e, CallStarted | CallFinished)]
    assert max(e.in_flight for e in calls) == 3
    assert max(e.queued for e in calls) > 0


async def test_unreachable_endpoint_ends_the_search_after_its_retries(tmp_path: Path) -> None:
    with FakeLLMServer(PlanSearchScript("add")) as server:
        settings = settings_for(server, tmp_path)
    # The server is stopped: its port refuses connections now.
    result, _ = await run_search(settings)
    assert result.finish_reason is FinishReason.ERROR
    assert result.message and "Cannot reach" in result.message
    assert result.stats.failed_calls <= 2
