"""Is a PlanSearch run as fast as its call graph allows?

Runs one PlanSearch search against the loopback model server (in its own process) with a
fixed per-call latency, and prints calls made, graph depth, wall time and
wall / (depth x latency); target <= 1.3 when the concurrency limit is at least the graph's
width. Then runs the same search one call at a time, for comparison.

    .venv/bin/python benchmarks/bench_search_graph.py [--latency 0.5] [--first 4]
        [--derived 2] [--skip-sequential]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console
from rich.table import Table

from plansearch.config import Settings
from plansearch.models.factory import make_provider
from plansearch.models.retry import RetryPolicy
from plansearch.problem import Problem
from plansearch.search import Search

PROBLEM = Problem(statement="Return the sum of the two arguments.", entry_point="add",
                  signature="def add(a: int, b: int) -> int:")


def serve(latency: float, first: int, derived: int, ports: multiprocessing.Queue,
          stop: multiprocessing.Event) -> None:  # type: ignore[type-arg]
    """Run the fake server in this process until `stop` is set."""
    from tests.support.fake_llm import FakeLLMServer
    from tests.support.plansearch_script import PlanSearchScript

    with FakeLLMServer(PlanSearchScript("add", first=first, derived=derived),
                       latency=latency) as server:
        ports.put(server.port)
        stop.wait(timeout=3600)


async def one_run(port: int, concurrency: int, cache_dir: Path) -> tuple[float, int, int, int]:
    """One search; the clock starts once the provider exists (SDK imports excluded)."""
    settings = Settings(provider="anthropic", api_key="bench", timeout=60,
                        base_url=f"http://127.0.0.1:{port}", budget="full", cache=False,
                        cache_path=cache_dir / "unused.sqlite3", concurrency=concurrency)
    provider = make_provider(settings)
    search = Search(PROBLEM, settings, provider=provider,
                    retry_policy=RetryPolicy(max_retries=0))
    started = time.perf_counter()
    result = await search.run()
    wall = time.perf_counter() - started
    await provider.aclose()
    return wall, result.stats.calls, result.stats.graph_depth, len(result.candidates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--first", type=int, default=4)
    parser.add_argument("--derived", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=512)
    parser.add_argument("--skip-sequential", action="store_true")
    args = parser.parse_args()

    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, daemon=True,
                                     args=(args.latency, args.first, args.derived, ports, stop))
    server.start()
    port = ports.get(timeout=30)
    table = Table(title=f"PlanSearch call graph, {args.latency * 1000:.0f} ms per call "
                        f"(n1={args.first}, n2={args.derived}, S=2, L=2)")
    for column in ("mode", "calls", "programs", "depth", "wall s", "depth x latency s",
                   "wall / (depth x latency)"):
        table.add_column(column, justify="right")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            modes = [(f"graph, concurrency {args.concurrency}", args.concurrency)]
            if not args.skip_sequential:
                modes.append(("one call at a time", 1))
            for label, concurrency in modes:
                wall, calls, depth, programs = asyncio.run(
                    one_run(port, concurrency, Path(tmp)))
                ideal = depth * args.latency
                table.add_row(label, str(calls), str(programs), str(depth), f"{wall:.2f}",
                              f"{ideal:.2f}", f"{wall / ideal:.2f}")
    finally:
        stop.set()
        server.join(timeout=10)
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
