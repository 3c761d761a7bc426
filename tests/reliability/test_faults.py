"""A search through the language server survives model faults of every kind, keeps what it
finished and says what failed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.faults_scenario import FAULT_KINDS, fault_session, faults_match
from tests.support.fake_llm import Fault

pytestmark = pytest.mark.slow

SEED = 2
"""At 30 % this seed serves every kind of fault, and some calls fail even after their
retries (faults are drawn from request bodies: a change to the prompts may call for another
seed)."""


async def test_a_search_at_30_percent_faults_returns_candidates_and_says_what_failed(
    tmp_path: Path,
) -> None:
    run = await fault_session(0.3, SEED, observations=3, workdir=tmp_path, max_retries=2,
                              timeout=1.0)
    result, stats, figures = run.result, run.result["stats"], run.figures
    assert set(run.injected) == set(FAULT_KINDS), "every kind of fault was served"
    assert figures.errors == []

    assert result["finishReason"] == "completed"
    assert result["candidates"], "at 30 % faults the search still returns candidates"
    assert all(candidate["tested"] for candidate in result["candidates"])
    kept = {candidate["id"] for candidate in result["candidates"]}
    assert run.streamed == kept, "every finished candidate is kept, none appears from nowhere"

    assert faults_match(stats["faults"], run.injected), "faults are counted by kind"
    assert stats["retries"] + stats["failedCalls"] == sum(stats["faults"].values())
    assert stats["recoveredCalls"] >= 1 and stats["failedCalls"] >= 1
    assert stats["emptyReplies"] == run.injected[Fault.EMPTY]
    assert stats["droppedBranches"] >= stats["failedCalls"], "a failed call drops its branch"
    assert len(result["errors"]) >= 1
    assert all("127.0.0.1" in error for error in result["errors"])
    message = result["message"]
    assert f"{sum(stats['faults'].values())} model requests failed" in message
    assert "failed after retries" in message and "recovered on a retry" in message
    assert f"{stats['droppedBranches']} branches dropped" in message

    assert figures.faults_injected == sum(run.injected.values()) > 0
    assert figures.faults_survived is not None and figures.faults_survived >= 1
    assert figures.lost == 0
    assert figures.requests_served == run.requests - figures.faults_injected + 1
