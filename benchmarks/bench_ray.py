"""The bench on a Ray cluster against the same bench run locally, on one machine.

Starts a Ray head and a second worker node (1 CPU each) on loopback inside a private network
namespace (as tests/test_ray.py does), with the loopback model server in a process of its own
answering every call after a fixed latency, and runs the same HumanEval slice twice, each
with an empty response cache: locally (`runner.evaluate`, the executor on both cores, 4
problems at once) and on the cluster (`ClusterRun`, one executor of one worker per node, 2
problems per CPU: 4 at once). The model's replies depend only on the request, so both reports
must be equal (`report.figures`). Then it runs the slice again in the same cluster run and
locally, answered from the caches, for Ray's overhead per problem without the model's latency.

Printed: wall time and test runs per second of both, the ratio (target: the cluster within
1.3 x of the local run), the cluster's start (connecting, starting the actors) and Ray's
overhead per problem in milliseconds. Two nodes on one 2-core machine cannot be faster than
one: this measures what Ray costs, not what it gains.

    .venv/bin/python benchmarks/bench_ray.py [--problems SLICE] [--latency 1.0] [--samples 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from multiprocessing import synchronize
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from plansearch.bench.cluster.driver import ClusterRun
from plansearch.bench.humaneval import load_dataset
from plansearch.bench.report import BenchReport, figures, summarize
from plansearch.bench.runner import ProblemOutcome, RunOptions, evaluate
from plansearch.bench.tasks import BenchTask, select_tasks
from plansearch.config import Settings, StrategyName
from plansearch.workbench import Workbench
from tests.test_ray import in_cluster

TARGET = 1.3
DEFAULT_SLICE = "0:32,33:38,39:42"
"""40 problems; HumanEval/32 and /38 check with random inputs, so the failures they report
differ from one run to the next, wherever it runs."""
STRATEGY: StrategyName = "ideasearch"
LOCAL_PARALLEL = 4
PER_CPU = 2


@dataclass(frozen=True)
class Timed:
    """One run of the slice."""

    wall: float
    test_runs: int
    first: float
    """Seconds to the first finished problem."""

    @property
    def runs_per_second(self) -> float:
        return self.test_runs / self.wall


def serve(latency: float, ports: multiprocessing.Queue[int], stop: synchronize.Event) -> None:
    """Run the loopback model server in this process until `stop` is set."""
    from tests.support.fake_llm import FakeLLMServer
    from tests.test_ray import HumanEvalModel

    with FakeLLMServer(HumanEvalModel(), latency=latency) as server:
        ports.put(server.port)
        stop.wait(timeout=3600)


def settings(port: int, cache: Path) -> Settings:
    return Settings(provider="anthropic", api_key="bench", base_url=f"http://127.0.0.1:{port}",
                    timeout=60, budget="quick", cache_path=cache, direct=False)


def test_runs(outcomes: list[ProblemOutcome]) -> int:
    """Candidate x test runs the outcomes hold."""
    return sum(o.n * (o.public_tests + o.hidden_tests) for o in outcomes)


def report(outcomes: list[ProblemOutcome], tasks: list[BenchTask]) -> BenchReport:
    return BenchReport(
        created="", dataset="humaneval", dataset_version="", data_source="", selection={},
        provider="anthropic", model="", budget="quick", samples=None, judge_pairs=0, ks=[1, 2],
        problems=[t.task_id for t in tasks], summary=summarize(outcomes, [1, 2]),
        results=outcomes,
    )


def timed(
    run: Callable[[Callable[..., None]], list[ProblemOutcome]],
) -> tuple[Timed, list[ProblemOutcome]]:
    """Run the slice with `run(on_outcome)`; how long it took."""
    started = time.monotonic()
    finished: list[float] = []
    outcomes = run(lambda *_: finished.append(time.monotonic() - started))
    return Timed(time.monotonic() - started, test_runs(outcomes), finished[0]), outcomes


def inside(args: argparse.Namespace, out: Path) -> None:
    """The measurements, in the namespace with the cluster; written to `out` as JSON."""
    tasks = select_tasks(load_dataset().tasks, args.problems, "HumanEval")
    options = RunOptions(samples=args.samples)
    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(args.latency, ports, stop))
    server.start()
    try:
        port = ports.get(timeout=30)
        folder = out.parent

        def local(cache: Path) -> Callable[[Callable[..., None]], list[ProblemOutcome]]:
            async def run(on_outcome: Callable[..., None]) -> list[ProblemOutcome]:
                async with Workbench(settings(port, cache)) as bench:
                    return await evaluate(bench, tasks, [STRATEGY], options=options,
                                          parallel=LOCAL_PARALLEL, on_outcome=on_outcome)

            return lambda on_outcome: asyncio.run(run(on_outcome))

        local_run, local_outcomes = timed(local(folder / "local.sqlite3"))
        started = time.monotonic()
        with ClusterRun("auto", settings(port, folder / "cluster.sqlite3"), PER_CPU) as cluster:
            connected = time.monotonic() - started
            first, cluster_outcomes = timed(
                lambda on_outcome: cluster.evaluate(tasks, [STRATEGY], options, on_outcome))
            cached_cluster, _ = timed(
                lambda on_outcome: cluster.evaluate(tasks, [STRATEGY], options, on_outcome))
            nodes = {o.node for o in cluster_outcomes}
        cluster_run = Timed(connected + first.wall, first.test_runs, connected + first.first)
        cached_local, _ = timed(local(folder / "local.sqlite3"))
    finally:
        stop.set()
        server.join(timeout=10)
    here, there = (figures(report(o, tasks)) for o in (local_outcomes, cluster_outcomes))
    differ = [mine["task_id"] for mine, theirs in zip(here["results"], there["results"],
                                                       strict=True) if mine != theirs]
    facts = {
        "problems": len(tasks), "local": asdict(local_run), "cluster": asdict(cluster_run),
        "connect": connected, "cached_local": asdict(cached_local),
        "cached_cluster": asdict(cached_cluster), "equal": here == there, "differ": differ,
        "nodes": len(nodes),
    }
    out.write_text(json.dumps(facts), encoding="utf-8")


def show(args: argparse.Namespace, facts: dict[str, object]) -> None:
    problems = int(str(facts["problems"]))
    local, cluster = (Timed(**facts[k]) for k in ("local", "cluster"))  # type: ignore[arg-type]
    cached_local, cached_cluster = (
        Timed(**facts[k]) for k in ("cached_local", "cached_cluster")  # type: ignore[arg-type]
    )
    in_flight = LOCAL_PARALLEL
    overhead = (cached_cluster.wall - cached_local.wall) * in_flight / problems * 1000
    ratio = cluster.wall / local.wall
    print(f"HumanEval {args.problems} ({problems} problems), {STRATEGY}, {args.samples} "
          f"candidates each, budget quick; model server latency {args.latency} s; "
          f"{in_flight} problems at once in both")
    print(f"{'':34}{'wall s':>9}{'test runs/s':>13}")
    print(f"{'local (2 executor workers)':34}{local.wall:9.2f}{local.runs_per_second:13.1f}")
    print(f"{'cluster (2 nodes x 1 worker)':34}{cluster.wall:9.2f}{cluster.runs_per_second:13.1f}")
    equal = "yes" if facts["equal"] else f"NO (results of {facts['differ']} differ)"
    print(f"reports equal: {equal}; nodes used: {facts['nodes']}")
    verdict = "met" if ratio <= TARGET else "NOT met"
    print(f"cluster / local wall: {ratio:.2f} (target <= {TARGET}: {verdict})")
    print(f"start: the first problem finished after {local.first:.2f} s locally, "
          f"{cluster.first:.2f} s on the cluster (of which {float(str(facts['connect'])):.2f} s "
          "connecting; the rest is Ray starting the actors' and the tasks' processes)")
    print(f"answered from the cache: local {cached_local.wall:.2f} s, cluster "
          f"{cached_cluster.wall:.2f} s: Ray's overhead per problem {overhead:.0f} ms "
          f"(the difference x {in_flight} at once / {problems} problems)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", default=DEFAULT_SLICE)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--inside", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside is not None:
        inside(args, args.inside)
        return
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as folder:
        out = Path(folder) / "facts.json"
        command = (f"{sys.executable} {Path(__file__).resolve()} --problems {args.problems} "
                   f"--latency {args.latency} --samples {args.samples} --inside {out}")
        run = subprocess.run(in_cluster(Path(folder), command), capture_output=True, text=True,
                             timeout=900, stdin=subprocess.DEVNULL)
        if run.returncode != 0:
            sys.exit(f"the run in the namespace failed:\n{run.stdout[-3000:]}{run.stderr[-3000:]}")
        show(args, json.loads(out.read_text(encoding="utf-8")))


if __name__ == "__main__":
    main()
