"""What a reliability scenario measured: one row of the report table.

Each scenario module (`*_scenario.py`) runs at a size its caller chooses and returns a
`ScenarioFigures`. Its test runs it small and asserts on what must hold (never on timings);
`benchmarks/bench_reliability.py` runs it larger, prints every row in one table and checks
the latency targets.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field


@dataclass
class ScenarioFigures:
    """Counts and measurements of one scenario run. Fields that do not apply stay None."""

    scenario: str
    requests_served: int = 0
    """Requests (LSP or model HTTP) that got a proper answer."""
    faults_injected: int | None = None
    faults_survived: int | None = None
    inputs_tried: int | None = None
    latencies_ms: list[float] = field(default_factory=list)
    """Latency of each interactive request, for p50/p99."""
    p99_target_ms: float | None = None
    """The p99 the scenario's interactive requests should stay under (docs/performance.md);
    `benchmarks/bench_reliability.py` reports a miss, the tests do not time anything."""
    memory_mb: str | None = None
    """Memory as the scenario reports it, e.g. "RSS 80 → 82 MB over 10 searches"."""
    lost: int = 0
    """Things that should have survived and did not (runs, cache entries, candidates...)."""
    errors: list[str] = field(default_factory=list)
    """What went wrong, one line each; a clean run has none."""
    notes: list[str] = field(default_factory=list)
    """Other figures worth a line in the report."""
    seconds: float = 0.0

    def percentile(self, p: float) -> float | None:
        """The p-th percentile (0..100) of `latencies_ms`, or None when nothing was timed."""
        if not self.latencies_ms:
            return None
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        cuts = statistics.quantiles(self.latencies_ms, n=100, method="inclusive")
        index = min(max(round(p) - 1, 0), len(cuts) - 1)
        return cuts[index]

    def missed_target(self) -> str | None:
        """Why the p99 latency misses `p99_target_ms`, or None when it is met or unset."""
        p99 = self.percentile(99)
        if self.p99_target_ms is None or p99 is None or p99 < self.p99_target_ms:
            return None
        return f"p99 {p99:.1f} ms, the target is under {self.p99_target_ms:g} ms"
