"""Does the adaptive in-flight limit fit the endpoint, with default settings?

Two searches of the paper's tree (n1=5, n2=3, S=2, L=2: 852 calls) against the loopback model
server (in its own process), each call taking `--latency` seconds, with the default
concurrency and retries:

1. an endpoint that takes every call at once: target wall <= 1.3 x depth x latency;
2. an endpoint that holds 4 calls at once and answers 429 beyond: target no failed call and
   wall <= 1.3 x (calls / 4) x latency.

    .venv/bin/python benchmarks/bench_concurrency.py [--latency 1.0] [--held 4] [--only 1|2]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console
from rich.table import Table

from plansearch.config import Settings
from plansearch.events import CallFinished, SearchFinished
from plansearch.models.factory import make_provider
from plansearch.problem import Problem
from plansearch.search import Search

PROBLEM = Problem(statement="Return the sum of the two arguments.", entry_point="add",
                  signature="def add(a: int, b: int) -> int:")
TARGET = 1.3


def serve(latency: float, held: int | None, ports: multiprocessing.Queue,  # type: ignore[type-arg]
          stop: multiprocessing.Event) -> None:  # type: ignore[type-arg]
    """Run the fake server in this process until `stop` is set."""
    from tests.support.fake_llm import FakeLLMServer, Local
    from tests.support.plansearch_script import PlanSearchScript

    local = Local(family="other", max_held=held) if held else None
    with FakeLLMServer(PlanSearchScript("add", first=5, derived=3), latency=latency,
                       local=local) as server:
        ports.put(server.port)
        stop.wait(timeout=3600)


@dataclass
class Run:
    wall: float
    calls: int
    failed: int
    retries: int
    depth: int
    peak_limit: int
    last_limit: int


async def search(port: int, cache_dir: Path) -> Run:
    """One search with default settings; the clock starts once the provider exists."""
    settings = Settings(provider="openai", base_url=f"http://127.0.0.1:{port}/v1",
                        model="local-model", budget="full", cache=False,
                        cache_path=cache_dir / "unused.sqlite3")
    provider = make_provider(settings)
    limits: list[int] = []
    started = time.perf_counter()
    async for event in Search(PROBLEM, settings, provider=provider).events():
        if isinstance(event, CallFinished) and event.limit is not None:
            limits.append(event.limit)
        elif isinstance(event, SearchFinished):
            stats = event.result.stats
    wall = time.perf_counter() - started
    await provider.aclose()
    return Run(wall, stats.calls, stats.failed_calls, stats.retries, stats.graph_depth,
               max(limits), limits[-1])


def measure(latency: float, held: int | None) -> Run:
    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, daemon=True,
                                     args=(latency, held, ports, stop))
    server.start()
    try:
        port = ports.get(timeout=30)
        with tempfile.TemporaryDirectory() as tmp:
            return asyncio.run(search(port, Path(tmp)))
    finally:
        stop.set()
        server.join(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--held", type=int, default=4)
    parser.add_argument("--only", type=int, choices=(1, 2))
    args = parser.parse_args()

    table = Table(title=f"The paper's tree (n1=5, n2=3), {args.latency:g} s a call, "
                        "default settings")
    for column in ("endpoint", "calls", "failed", "retries", "limit (peak, last)", "wall s",
                   "ideal s", "wall / ideal", "target met"):
        table.add_column(column, justify="right")
    if args.only in (None, 1):
        run = measure(args.latency, None)
        ideal = run.depth * args.latency
        ratio = run.wall / ideal
        table.add_row("takes every call", str(run.calls), str(run.failed), str(run.retries),
                      f"{run.peak_limit}, {run.last_limit}", f"{run.wall:.1f}",
                      f"{ideal:.1f} (depth {run.depth} x latency)", f"{ratio:.2f}",
                      _met(ratio <= TARGET and run.failed == 0))
    if args.only in (None, 2):
        run = measure(args.latency, args.held)
        ideal = run.calls / args.held * args.latency
        ratio = run.wall / ideal
        table.add_row(f"holds {args.held}, 429 beyond", str(run.calls), str(run.failed),
                      str(run.retries), f"{run.peak_limit}, {run.last_limit}",
                      f"{run.wall:.1f}", f"{ideal:.1f} (calls / {args.held} x latency)",
                      f"{ratio:.2f}", _met(ratio <= TARGET and run.failed == 0))
    Console(width=150).print(table)
    print(f"targets: wall / ideal <= {TARGET} with no failed call")


def _met(ok: bool) -> str:
    return "yes" if ok else "NO"


if __name__ == "__main__":
    main()
