"""The latency target check that `benchmarks/bench_reliability.py` fails on."""

from __future__ import annotations

from tests.reliability.figures import ScenarioFigures


def test_a_p99_at_or_over_the_target_is_a_miss_that_names_both() -> None:
    figures = ScenarioFigures("load", latencies_ms=[1.0] * 98 + [60.0, 70.0], p99_target_ms=50.0)
    missed = figures.missed_target()
    assert missed is not None
    assert "the target is under 50 ms" in missed
    assert missed.startswith("p99 ")


def test_a_p99_under_the_target_or_no_target_or_no_timings_is_no_miss() -> None:
    fast = ScenarioFigures("load", latencies_ms=[1.0] * 100, p99_target_ms=50.0)
    assert fast.missed_target() is None
    assert ScenarioFigures("faults", latencies_ms=[900.0] * 10).missed_target() is None
    assert ScenarioFigures("load", p99_target_ms=50.0).missed_target() is None
