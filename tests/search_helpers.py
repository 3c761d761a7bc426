"""Building searches against the fake server for the engine's tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plansearch.config import Settings
from plansearch.events import SearchEvent
from plansearch.models.retry import RetryPolicy
from plansearch.problem import Problem
from plansearch.result import SearchResult
from plansearch.workbench import Target, Workbench
from tests.support.fake_llm import FakeLLMServer

FAST_RETRIES = RetryPolicy(max_retries=4, base_delay=0.01, max_delay=0.05)


def fast_retries(settings: Settings) -> RetryPolicy:
    """The settings' retry count with delays short enough for tests."""
    return RetryPolicy(max_retries=settings.max_retries, base_delay=0.01, max_delay=0.05)

PROBLEM = Problem(
    statement="Return the sum of the two arguments.",
    entry_point="add",
    signature="def add(a: int, b: int) -> int:",
)


def settings_for(server: FakeLLMServer, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings pointing at the fake server, with a private cache file."""
    values: dict[str, Any] = {
        "provider": "anthropic",
        "api_key": "sk-test-not-a-real-key",
        "base_url": server.base_url_anthropic,
        "cache_path": tmp_path / "cache.sqlite3",
        "timeout": 5.0,
        "budget": "full",
        "concurrency": 64,
        "direct": False,  # the tree alone; tests of the direct candidate turn it on
    }
    values.update(overrides)
    return Settings(**values)


def workbench(settings: Settings) -> Workbench:
    """A workbench for `settings`, retrying quickly."""
    return Workbench(settings, retry_policy=fast_retries(settings))


async def run_search(
    settings: Settings, problem: Problem = PROBLEM
) -> tuple[SearchResult, list[SearchEvent]]:
    """Run a search to the end; return its result and every event."""
    async with workbench(settings) as bench:
        search = await bench.search(Target(problem))
        events = [event async for event in search.events()]
    assert search.result is not None
    return search.result, events
