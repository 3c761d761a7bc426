"""Searches that test every candidate as it is written, through the real executor."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from plansearch.events import CandidateReady, CandidateTested, RankingChanged
from plansearch.problem import Example, Problem
from plansearch.result import FinishReason
from plansearch.testsources.examples import tests_from_examples as example_tests
from plansearch.types import Program
from plansearch.workbench import Target
from tests.search_helpers import settings_for, workbench
from tests.support.fake_llm import FakeCall, FakeLLMServer
from tests.support.plansearch_script import PlanSearchScript

PROBLEM = Problem(
    statement="Return the sum of a and b.",
    entry_point="add",
    signature="def add(a: int, b: int) -> int:",
    examples=(
        Example(call="add(1, 2)", expected="3", kind="equality", line=3),
        Example(call="add(-1, 1)", expected="0", kind="equality", line=4),
    ),
)


def mixed_code(call: FakeCall) -> str:
    """Right code for two thirds of the prompts, `a - b` for the rest."""
    conversation = "\n".join(text for _, text in call.messages)
    wrong = int(hashlib.sha256(conversation.encode()).hexdigest(), 16) % 3 == 0
    body = "a - b" if wrong else "a + b"
    return f"```python\ndef add(a, b):\n    return {body}\n```"


LIMITS = {"test_timeout": 2, "candidate_timeout": 5}


async def test_every_candidate_is_tested_and_passing_ones_rank_first(tmp_path: Path) -> None:
    script = PlanSearchScript("add", first=2, derived=2, code_for=mixed_code)
    with FakeLLMServer(script) as server:
        settings = settings_for(server, tmp_path, depth=1, **LIMITS)
        async with workbench(settings) as bench:
            search = await bench.search(Target(PROBLEM))
            assert search.tests == example_tests(PROBLEM)
            events = [event async for event in search.events()]
    result = search.result
    assert result is not None and result.ranking is not None
    assert len(result.tests) == 2
    assert set(result.runs) == {c.id for c in result.candidates}
    tested = [e for e in events if isinstance(e, CandidateTested)]
    assert len(tested) == len(result.candidates) == 8
    assert sum(isinstance(e, RankingChanged) for e in events) == 8
    ready_at = {e.candidate.id: i for i, e in enumerate(events) if isinstance(e, CandidateReady)}
    tested_at = {e.candidate_id: i for i, e in enumerate(events) if isinstance(e, CandidateTested)}
    assert min(tested_at.values()) < max(ready_at.values()), "tests run while the search runs"
    ranked = result.ranking.candidates
    passing = [r for r in ranked if r.passes_all]
    assert 0 < len(passing) < len(ranked)
    assert all(r.passes_all for r in ranked[: len(passing)])
    by_id = {c.id: c for c in result.candidates}
    for r in ranked:
        assert ("a + b" in by_id[r.candidate_id].code) == r.passes_all
        assert r.tally_text.endswith("docstring examples")
    failing = ranked[-1]
    assert failing.first_failure is not None and "-1" in failing.first_failure.message
    assert [c.id for c in result.ranked_candidates()] == [r.candidate_id for r in ranked]


async def test_stop_when_passing_ends_the_search(tmp_path: Path) -> None:
    script = PlanSearchScript("add", first=4, derived=3, code_for=mixed_code)
    with FakeLLMServer(script, latency=0.02) as server:
        settings = settings_for(server, tmp_path, stop_when_passing=2, concurrency=4, **LIMITS)
        async with workbench(settings) as bench:
            result = await (await bench.search(Target(PROBLEM))).run()
    assert result.finish_reason is FinishReason.ENOUGH_PASSING
    assert result.ranking is not None and result.ranking.passing >= 2
    assert len(result.candidates) < 100


async def test_model_written_tests_group_but_never_outrank(tmp_path: Path) -> None:
    script = PlanSearchScript(
        "add", first=2, derived=2, code_for=mixed_code,
        tests_reply="Sure:\n```python\nassert add(2, 2) == 5\nassert add(0, 7) == 7\n"
                    "add(10, 1)\nprint('hi')\n```",
    )
    with FakeLLMServer(script) as server:
        settings = settings_for(server, tmp_path, depth=1, generate_tests=3, **LIMITS)
        async with workbench(settings) as bench:
            result = await (await bench.search(Target(PROBLEM))).run()
    generated = [t for t in result.tests if t.kind == "generated"]
    assert [t.call for t in generated] == ["add(2, 2)", "add(0, 7)", "add(10, 1)"]
    assert not any(t.trusted for t in generated)
    assert result.ranking is not None
    for run in result.runs.values():
        assert len(run.outcomes) == 5
    right = [r for r in result.ranking.candidates if r.passes_all]
    assert right and all(r.trusted_total == 2 for r in right), "generated tests not counted"
    assert result.ranking.diversity.behaviour_clusters == 2


@pytest.mark.slow
async def test_cancel_stops_test_runs_too(tmp_path: Path) -> None:
    def slow_code(call: FakeCall) -> str:
        return "```python\nimport time\ndef add(a, b):\n    time.sleep(30)\n    return a + b\n```"

    script = PlanSearchScript("add", first=2, derived=2, code_for=slow_code)
    with FakeLLMServer(script) as server:
        settings = settings_for(server, tmp_path, depth=1, test_timeout=60, candidate_timeout=60)
        async with workbench(settings) as bench:
            search = await bench.search(Target(PROBLEM))
            async for event in search.events():
                if isinstance(event, CandidateReady):
                    await asyncio.sleep(0.3)
                    search.cancel()
            assert search.result is not None
            assert search.result.finish_reason is FinishReason.CANCELLED
            # The executor still serves after the cancelled runs.
            async with bench.lease_executor(settings) as ex:
                run = await ex.run(Program(source="def add(a, b):\n    return a + b\n",
                                           entry_point="add"), example_tests(PROBLEM))
            assert [o.status.value for o in run.outcomes] == ["pass", "pass"]
