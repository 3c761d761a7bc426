"""Four searches at once in one workspace while the editor keeps asking for code actions and
hovers: every answer is right, and successive searches do not make the server grow.

How fast the editor's requests are answered meanwhile is a figure of
`benchmarks/bench_reliability.py` (its p99 target is `load_scenario.P99_TARGET_MS`), not an
assertion here: a shared CI machine's pauses would make it fail at random."""

from __future__ import annotations

import pytest

from tests.reliability.load_scenario import measure_load

pytestmark = pytest.mark.slow

SEARCHES = 4
DURATION = 8.0
RATE = 20.0
"""Code actions and hovers per second (alternately)."""
SUCCESSIVE = 10
WARM_UP = 3
"""Successive searches after which the memory must stay flat."""
GROWTH_MB = 3.0
"""How much the server with its fork servers may grow after the warm-up searches: the
recent searches it keeps for `plansearch/apply` take about 0.1 MB each (up to 32 of them),
and a search that leaves a megabyte behind (as one provider per search did) exceeds this."""


def test_four_searches_at_once_beside_code_actions_and_hovers() -> None:
    run = measure_load(searches=SEARCHES, duration=DURATION, rate=RATE, successive=SUCCESSIVE)
    figures = run.figures
    assert figures.errors == []

    assert run.most_at_once == SEARCHES
    assert run.under_load >= SEARCHES, "each of the searches finished under load"
    assert run.sent == round(DURATION * RATE)
    assert figures.requests_served == run.sent, "every request got the right answer"

    assert len(run.memory_mb) == SUCCESSIVE
    after_warm_up = run.memory_mb[WARM_UP - 1][1]
    later = [total for _, total in run.memory_mb[WARM_UP:]]
    assert max(later) - after_warm_up <= GROWTH_MB, figures.notes[-1]
    assert figures.memory_mb is not None and figures.memory_mb.endswith("over 10 searches")
