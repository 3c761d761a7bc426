"""Issue 19's local server, with default settings: a 4096-token context, answering one call
at a time and refusing (429) beyond 4 held. A search must lose no call to either."""

from __future__ import annotations

from pathlib import Path

import pytest

from plansearch.config import Settings
from plansearch.result import FinishReason
from tests.search_helpers import run_search
from tests.support.fake_llm import FakeLLMServer, Family, Local
from tests.support.plansearch_script import PlanSearchScript


@pytest.mark.parametrize("family", ["llama.cpp", "other"])
async def test_a_small_one_at_a_time_server_loses_no_call(tmp_path: Path, family: Family) -> None:
    """llama.cpp says its window and slots in `/props`: nothing is refused. A server that
    says nothing is learnt from its refusals: a few 400s and 429s, each asked again."""
    local = Local(family=family, context_window=4096, slots=1, max_held=4)
    with FakeLLMServer(PlanSearchScript("add", first=3, derived=2), latency=0.005,
                       local=local) as server:
        settings = Settings(provider="openai", base_url=server.base_url_openai,
                            model="local-model", cache_path=tmp_path / "cache.sqlite3",
                            timeout=5)
        assert settings.max_tokens == 4096, "the default that broke llama.cpp"
        result, _ = await run_search(settings)
        refused = server.context_refusals + server.busy_refusals
        peak = server.peak_held
    assert result.finish_reason is FinishReason.COMPLETED
    assert result.stats.failed_calls == 0 and result.stats.dropped_branches == 0
    assert result.candidates
    assert peak <= 4
    if family == "llama.cpp":
        assert refused == 0 and peak == 1
    else:
        assert refused == result.stats.retries > 0
