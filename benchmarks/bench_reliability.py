"""What the whole system holds under faults, crashes, a vanished client, fuzzing and load.

Runs the reliability scenarios of `tests/reliability/` at a larger size than the tests do
(each through the real language server process, the real SDKs and the loopback model
server) and prints one table of figures: requests served, faults injected and survived,
inputs tried, latency p50/p99 of the interactive requests, memory, and anything lost.

    .venv/bin/python benchmarks/bench_reliability.py [--quick] [--only NAME ...] [--json FILE]

`--quick` runs every scenario at the size of the tests (a couple of minutes); the default
sizes take about ten minutes on a 2-core machine. Exits non-zero if any scenario reports an
error or a loss, or its interactive requests miss their p99 target (the "p99 target" column).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console
from rich.table import Table

from tests.reliability.crash_scenario import run_crash
from tests.reliability.faults_scenario import run_faults
from tests.reliability.figures import ScenarioFigures
from tests.reliability.fuzz_scenario import run_framing, run_fuzz
from tests.reliability.load_scenario import run_load
from tests.reliability.secrets_scenario import run_secrets
from tests.reliability.vanish_scenario import run_vanish

Scenario = Callable[[bool], list[ScenarioFigures]]


def faults(quick: bool) -> list[ScenarioFigures]:
    rates = (0.3,) if quick else (0.1, 0.3, 0.5)
    retries = 2 if quick else 4  # the tests' setting; the product's default
    rows = []
    for rate in rates:
        for seed in (1,) if quick else (1, 2, 3, 4, 5):
            row = run_faults(rate, seed, max_retries=retries)
            row.scenario = f"model faults {rate:.0%}, seed {seed}"
            rows.append(row)
    return rows


def crash(quick: bool) -> list[ScenarioFigures]:
    if quick:
        return [asyncio.run(run_crash())]
    return [asyncio.run(run_crash(windows=3, first=3, derived=2))]


def vanish(quick: bool) -> list[ScenarioFigures]:
    searches = 1 if quick else 3
    return [asyncio.run(run_vanish(how, searches=searches))
            for how in ("stdio", "stdout", "tcp")]


def fuzz(quick: bool) -> list[ScenarioFigures]:
    figures = run_fuzz(150 if quick else 1500, seed=7, time_limit=40.0 if quick else 600.0)
    framing = run_framing()
    wrong = [outcome.case for outcome in framing if not outcome.ok]
    figures.notes.append(f"damaged framing: {len(framing)} cases, {len(framing) - len(wrong)} "
                         "answered as expected afterwards")
    figures.errors.extend(f"damaged framing not handled as expected: {case}" for case in wrong)
    return [figures]


def load(quick: bool) -> list[ScenarioFigures]:
    if quick:
        return [run_load(searches=4, duration=8.0, rate=20.0, successive=10)]
    return [run_load(searches=4, duration=30.0, rate=20.0, successive=10)]


def secrets(quick: bool) -> list[ScenarioFigures]:
    return [run_secrets(fault_rate=0.3, seed=5, observations=1 if quick else 2)]


SCENARIOS: dict[str, Scenario] = {
    "faults": faults,
    "crash": crash,
    "vanish": vanish,
    "fuzz": fuzz,
    "load": load,
    "secrets": secrets,
}


def _milliseconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _optional(value: int | None) -> str:
    return "" if value is None else str(value)


def _target(row: ScenarioFigures) -> str:
    if row.p99_target_ms is None:
        return ""
    return f"< {row.p99_target_ms:g} " + ("missed" if row.missed_target() else "met")


def table(rows: list[ScenarioFigures]) -> Table:
    """The figures of every scenario run, one row each."""
    out = Table(title="Reliability under faults, crashes, a vanished client, fuzzing and load")
    for column in ("scenario", "served", "faults injected", "survived", "inputs",
                   "p50 ms", "p99 ms", "p99 target", "memory", "lost", "errors", "s"):
        out.add_column(column, justify="left" if column in ("scenario", "memory") else "right")
    for row in rows:
        out.add_row(row.scenario, str(row.requests_served), _optional(row.faults_injected),
                    _optional(row.faults_survived), _optional(row.inputs_tried),
                    _milliseconds(row.percentile(50)), _milliseconds(row.percentile(99)),
                    _target(row), row.memory_mb or "", str(row.lost), str(len(row.errors)),
                    f"{row.seconds:.1f}")
    return out


def _failed(name: str, exc: BaseException) -> ScenarioFigures:
    lines = traceback.format_exception_only(exc)
    return ScenarioFigures(scenario=name, errors=[f"the scenario itself failed: {lines[-1]}"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="run at the tests' sizes")
    parser.add_argument("--only", nargs="+", choices=sorted(SCENARIOS), metavar="NAME",
                        help=f"run only these scenarios ({', '.join(SCENARIOS)})")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    console = Console(width=None if sys.stdout.isatty() else 180)
    rows: list[ScenarioFigures] = []
    for name in args.only or list(SCENARIOS):
        console.print(f"[bold]{name}[/bold] …")
        started = time.monotonic()
        try:
            found = SCENARIOS[name](args.quick)
        except Exception as exc:  # one broken scenario still leaves the others' figures
            found = [_failed(name, exc)]
        for row in found:
            row.seconds = row.seconds or time.monotonic() - started
            missed = row.missed_target()
            for line in row.errors + row.notes + ([missed] if missed else []):
                console.print(f"  {row.scenario}: {line}", markup=False)
        rows.extend(found)
    console.print(table(rows))
    if args.json:
        payload = [{**asdict(row), "p50_ms": row.percentile(50), "p99_ms": row.percentile(99)}
                   for row in rows]
        Path(args.json).write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return 1 if any(row.errors or row.lost or row.missed_target() for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
