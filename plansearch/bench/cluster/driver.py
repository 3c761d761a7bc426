"""A bench run on a Ray cluster, from the driver: connect, start the hub on the driver's node
and one bench per node, submit every (task, strategy) as a Ray task, collect the outcomes in
order while watching nodes come and go, and leave nothing running at the end.

Ray places the problem tasks (`SPREAD`, each taking `1 / per_cpu` of a CPU, so a node runs
`per_cpu` problems per CPU at once) and runs a task again when the node or process running it
is lost (`MAX_RETRIES`); the ledger on the hub counts those attempts.
"""

from __future__ import annotations

import logging
import os
import pickle
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import ray
from pydantic import SecretStr
from ray.actor import ActorHandle, ActorProxy
from ray.exceptions import RayActorError, RayError, RayTaskError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from plansearch.bench.cluster.hub import Hub
from plansearch.bench.cluster.node import NodeBench
from plansearch.bench.cluster.task import NoBenchOnNode, bench_name, hub_name, run_problem
from plansearch.bench.runner import ProblemOutcome, RunOptions
from plansearch.bench.tasks import BenchTask
from plansearch.config import Settings, StrategyName

NAMESPACE = "plansearch"
MAX_RETRIES = 3
"""Times a problem task is run again after its node or process was lost."""
_TICK_S = 1.0
"""How often the driver looks at the cluster's nodes while it waits."""
_CALL_S = 30.0
"""The longest the driver waits for one answer of the hub."""
_CLOSE_S = 15.0
"""How long the benches get to stop their executors before they are killed."""
_HUB_CONCURRENCY = 100_000
"""Calls the hub takes at once: every call waiting at the gate holds one."""

OnOutcome = Callable[[ProblemOutcome, "ClusterStatus"], None]


class ClusterError(Exception):
    """The cluster cannot be used; the message says why."""


@dataclass(frozen=True)
class ClusterStatus:
    """The cluster as the driver last saw it."""

    nodes: int
    """Nodes with a bench."""
    cpus: int
    tasks_in_flight: int
    """Problem tasks started and not finished."""
    calls_in_flight: int
    """Model calls holding a permit of the cluster's gate."""
    call_limit: int


def resolve_address(given: str) -> str:
    """`--ray`'s value (`auto`, `ray://HOST:PORT`, `HOST:PORT`); empty: `RAY_ADDRESS`, else
    `auto`."""
    return given or os.environ.get("RAY_ADDRESS") or "auto"


class ClusterRun:
    """One bench run on a Ray cluster: `with ClusterRun(...) as run: run.evaluate(...)`."""

    def __init__(self, address: str, settings: Settings, per_cpu: int) -> None:
        """`per_cpu`: problems at once per CPU of a node."""
        self.address = address
        self._settings = _portable(settings)
        self._share = 1 / per_cpu
        self._run = f"{NAMESPACE}-{uuid.uuid4().hex[:12]}"
        self._benches: dict[str, ActorProxy[NodeBench]] = {}
        self._cpus: dict[str, int] = {}
        self._addresses: dict[str, str] = {}
        self._hub: ActorProxy[Hub] | None = None
        self._watched = 0.0

    def __enter__(self) -> ClusterRun:
        try:
            ray.init(address=self.address, namespace=NAMESPACE, log_to_driver=False,
                     logging_level=logging.WARNING)
        except Exception as error:
            raise ClusterError(f"cannot connect to the Ray cluster at {self.address} ({error}); "
                               "start one (`ray start --head`) or give its address: --ray "
                               "HOST:PORT (docs/scale-out.md)") from None
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def status(self) -> ClusterStatus:
        """Nodes, problems and model calls in flight now."""
        try:
            hub = ray.get(self._hub_handle().status.remote(), timeout=_CALL_S)
        except RayError as error:
            raise ClusterError(f"the run's hub on the driver's node is lost: {error}") from None
        return ClusterStatus(len(self._benches), sum(self._cpus.values()),
                             hub.tasks_in_flight, hub.calls_in_flight, hub.call_limit)

    def evaluate(
        self,
        tasks: Sequence[BenchTask],
        strategies: Sequence[StrategyName],
        options: RunOptions,
        on_outcome: OnOutcome | None = None,
    ) -> list[ProblemOutcome]:
        """Outcomes of every (strategy, task) pair, strategies first, in the order given (as
        `runner.evaluate`); each names the node that ran it and how often it was retried."""
        hub = self._hub_handle()
        pairs = [(strategy, task) for strategy in strategies for task in tasks]
        remote = ray.remote(run_problem).options(
            num_cpus=self._share, scheduling_strategy="SPREAD", max_retries=MAX_RETRIES,
            retry_exceptions=[RayActorError, NoBenchOnNode],
        )
        index = {
            remote.remote(self._run, str(number), hub, _pickled(task, strategy, options)): number
            for number, (strategy, task) in enumerate(pairs)
        }
        outcomes: list[ProblemOutcome | None] = [None] * len(pairs)
        pending = list(index)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1, timeout=_TICK_S)
                self._watch_nodes()
                for ref in done:
                    number = index[ref]
                    strategy, task = pairs[number]
                    outcome = self._outcome(ref, task.task_id, strategy)
                    hub.finished.remote(str(number))
                    outcomes[number] = outcome
                    if on_outcome is not None:
                        on_outcome(outcome, self.status())
        except BaseException:
            for ref in pending:
                ray.cancel(ref, recursive=True)
            raise
        return [outcome for outcome in outcomes if outcome is not None]

    def close(self) -> None:
        """Stop every bench's executor, then the actors, then leave the cluster."""
        try:
            _settle([bench.close.remote() for bench in self._benches.values()], _CLOSE_S)
            if self._hub is not None:
                _settle([self._hub.close.remote()], _CALL_S)
        finally:
            for actor in [*self._benches.values(), self._hub]:
                if isinstance(actor, ActorHandle):
                    ray.kill(actor)
            self._benches.clear()
            self._hub = None
            ray.shutdown()

    def _start(self) -> None:
        here = ray.get_runtime_context().get_node_id()
        settings = self._settings
        self._hub = ray.remote(Hub).options(
            name=hub_name(self._run), num_cpus=0, max_concurrency=_HUB_CONCURRENCY,
            scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False),
        ).remote(settings.cache_path if settings.cache else None, settings.concurrency)
        self._watch_nodes(force=True)
        if not self._benches:
            raise ClusterError(f"the Ray cluster at {self.address} has no node with a CPU")

    def _watch_nodes(self, *, force: bool = False) -> None:
        """Start a bench on each new node; forget the nodes that are gone."""
        now = time.monotonic()
        if not force and now - self._watched < _TICK_S:
            return
        self._watched = now
        alive = {node["NodeID"]: node for node in _nodes() if node["Alive"]}
        for gone in set(self._benches) - set(alive):
            del self._benches[gone], self._cpus[gone]
            self._hub_handle().forget.remote(gone)
        for node, info in alive.items():
            self._addresses[node] = info["NodeManagerAddress"]
            cpus = int(info["Resources"].get("CPU", 0))
            if node not in self._benches and cpus > 0:
                self._benches[node] = self._start_bench(node, cpus)
                self._cpus[node] = cpus

    def _start_bench(self, node: str, cpus: int) -> ActorProxy[NodeBench]:
        return ray.remote(NodeBench).options(
            name=bench_name(self._run, node), num_cpus=0, max_restarts=MAX_RETRIES,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False),
        ).remote(self._settings, self._run, node, cpus)

    def _outcome(self, ref: Any, task_id: str, strategy: str) -> ProblemOutcome:
        """The finished task's outcome, its node named by address; a problem lost more often
        than Ray retries it counts as failed. An engine error (the executor, the cache) is
        raised, as in a local run."""
        try:
            node, attempt, pickled = ray.get(ref)
        except RayTaskError as error:
            cause = error.cause
            if not isinstance(cause, RayError | NoBenchOnNode):
                raise cause from None
            return _lost(task_id, strategy, str(cause))
        except RayError as error:
            return _lost(task_id, strategy, str(error))
        outcome: ProblemOutcome = pickle.loads(pickled)
        label = f"{self._addresses.get(node, '?')}/{node[:8]}"
        return outcome.model_copy(update={"node": label, "retried": attempt - 1})

    def _hub_handle(self) -> ActorProxy[Hub]:
        if self._hub is None:
            raise ClusterError("the cluster run is closed")
        return self._hub


def _settle(refs: list[Any], timeout: float) -> None:
    """Wait until every call of `refs` has ended (however), or `timeout` has passed."""
    if refs:
        ray.wait(refs, num_returns=len(refs), timeout=timeout)


def _nodes() -> list[dict[str, Any]]:
    """The cluster's nodes as Ray lists them (alive or not)."""
    nodes: list[dict[str, Any]] = ray.nodes()  # type: ignore[no-untyped-call]
    return nodes


def _portable(settings: Settings) -> Settings:
    """`settings` with the key and endpoint resolved here: nodes do not have the driver's
    environment."""
    key = settings.resolved_api_key()
    return settings.model_copy(update={
        "api_key": SecretStr(key) if key is not None else None,
        "base_url": settings.resolved_base_url(),
    })


def _pickled(task: BenchTask, strategy: StrategyName, options: RunOptions) -> bytes:
    return pickle.dumps((task, strategy, options), protocol=pickle.HIGHEST_PROTOCOL)


def _lost(task_id: str, strategy: str, message: str) -> ProblemOutcome:
    first = message.strip().splitlines()[0] if message.strip() else "lost"
    return ProblemOutcome(
        task_id=task_id, strategy=strategy, n=0, c_hidden=0, n_public_pass=0,
        c_public_and_hidden=0, public_tests=0, output_tokens=0, retried=MAX_RETRIES,
        message=f"lost {MAX_RETRIES + 1} times on the cluster: {first}",
    )
