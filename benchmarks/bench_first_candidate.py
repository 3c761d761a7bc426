"""How soon is the first candidate tested? With and without the direct candidate.

Runs a search at the default budget against the loopback model server (in its own process)
answering every call after a fixed latency, through the workbench as the CLI does (tests from
the docstring, the sandboxed executor), and prints the time from the search's first model
request to its first tested candidate, in call latencies. Target: <= 1.5 with the direct
candidate (the fast path); without it, the tree's first program comes after its first chain
of calls (observations, sketch, criticism, pseudocode, code).

    .venv/bin/python benchmarks/bench_first_candidate.py [--latency 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
from multiprocessing import synchronize
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from plansearch.config import Settings
from plansearch.events import CallStarted, CandidateTested
from plansearch.problem import Example, Problem
from plansearch.workbench import Target, Workbench

PROBLEM = Problem(
    statement="Return the sum of a and b.\n\n>>> add(1, 2)\n3\n",
    entry_point="add",
    signature="def add(a: int, b: int) -> int:",
    examples=(Example(call="add(1, 2)", expected="3", kind="doctest", line=3),),
)
TARGET = 1.5


def serve(
    latency: float, ports: multiprocessing.Queue[int], stop: synchronize.Event
) -> None:
    """Run the loopback model server in this process until `stop` is set."""
    from tests.support.fake_llm import FakeCall, FakeLLMServer
    from tests.support.plansearch_script import PlanSearchScript

    def code(call: FakeCall) -> str:
        return "Add them.\n```python\ndef add(a, b):\n    return a + b\n```"

    with FakeLLMServer(PlanSearchScript("add", first=4, derived=2, code_for=code),
                       latency=latency) as server:
        ports.put(server.port)
        stop.wait(timeout=3600)


async def first_tested(port: int, direct: bool, cache_dir: Path) -> tuple[float, str]:
    """Seconds from the first model request to the first tested candidate, and its id."""
    settings = Settings(provider="anthropic", api_key="bench", timeout=60,
                        base_url=f"http://127.0.0.1:{port}", cache=False, direct=direct,
                        cache_path=cache_dir / "unused.sqlite3")
    found: tuple[float, str] | None = None
    async with Workbench(settings) as bench:
        search = await bench.search(Target(PROBLEM))
        first_request: float | None = None
        async for event in search.events():
            if isinstance(event, CallStarted) and first_request is None:
                first_request = time.perf_counter()
            elif isinstance(event, CandidateTested) and first_request and found is None:
                found = time.perf_counter() - first_request, event.candidate_id
                search.cancel()  # the rest of the search is not measured
    if found is None:
        raise RuntimeError("no candidate was tested")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=1.0)
    args = parser.parse_args()
    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(args.latency, ports, stop),
                                     daemon=True)
    server.start()
    port = ports.get(timeout=30)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for direct in (True, False):
                seconds, candidate = asyncio.run(first_tested(port, direct, Path(tmp)))
                ratio = seconds / args.latency
                verdict = f"target <= {TARGET}: {'met' if ratio <= TARGET else 'missed'}"
                label = "with the direct candidate" if direct else "tree only (--no-direct)"
                print(f"{label:28} first tested candidate {candidate:7} after {seconds:5.2f} s "
                      f"= {ratio:4.2f} x latency" + (f" ({verdict})" if direct else ""))
    finally:
        stop.set()
        server.join(timeout=10)


if __name__ == "__main__":
    main()
