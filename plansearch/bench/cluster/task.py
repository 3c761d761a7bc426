"""The problem task: what Ray schedules, spreads over the nodes and runs again when the node
or process running it is lost.

It hands its problem to the bench on its own node and waits. The problem and its outcome
cross it as pickled bytes, so the task's process never imports the engine, and a worker that
runs it starts quickly. It waits with `await`, not `ray.get`: a task blocked in `ray.get`
gives its CPU share back to Ray, which would then start more problems on the node than
`per_cpu` allows.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import ray

if TYPE_CHECKING:
    from ray.actor import ActorProxy

    from plansearch.bench.cluster.hub import Hub
    from plansearch.bench.cluster.node import NodeBench

FIND_BENCH_S = 30.0
"""How long a task waits for its node's bench (a node that joined the cluster gets one when
the driver next looks)."""


class NoBenchOnNode(RuntimeError):
    """The node a problem task landed on has no bench (yet): Ray runs the task again."""


def hub_name(run: str) -> str:
    """The name of run `run`'s hub."""
    return f"{run}-hub"


def bench_name(run: str, node: str) -> str:
    """The name of run `run`'s bench on `node`."""
    return f"{run}-bench-{node}"


def run_problem(run: str, key: str, hub: ActorProxy[Hub], problem: bytes) -> tuple[str, int, bytes]:
    """Problem `key` of run `run` (a pickled (task, strategy, options)), evaluated on the
    node Ray put this task on: that node's id, the attempt number and the pickled outcome."""
    node = ray.get_runtime_context().get_node_id()
    bench = _find_bench(run, node)

    async def evaluate() -> tuple[int, bytes]:
        attempt: int = await hub.started.remote(key, node)
        outcome: bytes = await bench.evaluate.remote(problem)
        return attempt, outcome

    attempt, outcome = asyncio.run(evaluate())
    return node, attempt, outcome


def _find_bench(run: str, node: str) -> ActorProxy[NodeBench]:
    deadline = time.monotonic() + FIND_BENCH_S
    while True:
        try:
            return ray.get_actor(bench_name(run, node))
        except ValueError:
            if time.monotonic() > deadline:
                raise NoBenchOnNode(f"no bench on node {node}") from None
            time.sleep(0.2)
