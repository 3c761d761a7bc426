"""What runs on each node: one `NodeBench` actor, kept for the whole run.

The problem tasks on a node hand their problems to its bench, which evaluates each
(`runner.evaluate_problem`) on its `ClusterWorkbench`: the search and the test runs happen on
that node, its model calls go to the endpoint from there, paced by the driver's gate, and its
replies are read from and written to the driver's cache.
"""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import ray
from ray.actor import ActorProxy

from plansearch.bench.cluster.hub import Hub
from plansearch.bench.cluster.remote import ClusterLimiter, HubCache
from plansearch.bench.cluster.task import hub_name
from plansearch.bench.runner import evaluate_problem
from plansearch.config import Settings
from plansearch.execution.executor import Executor
from plansearch.execution.limits import Limits
from plansearch.models.cache import ResponseCache
from plansearch.workbench import Workbench

if TYPE_CHECKING:
    from plansearch.models.base import Provider

class ClusterWorkbench(Workbench):
    """A node's workbench: model calls paced by the cluster's gate, replies from and to the
    driver's cache, and one executor sized to the node's CPUs."""

    def __init__(self, settings: Settings, hub: ActorProxy[Hub], node: str, cpus: int) -> None:
        super().__init__(settings)
        self._limiter = ClusterLimiter(hub, node)
        self._cache = HubCache(hub, settings.cache_path)
        self._cpus = cpus
        self._executor: Executor | None = None
        self._starting = asyncio.Lock()

    @asynccontextmanager
    async def lease_provider(self, settings: Settings) -> AsyncIterator[Provider]:
        async with super().lease_provider(settings) as provider:
            provider.limiter = self._limiter
            yield provider

    @asynccontextmanager
    async def lease_executor(
        self, settings: Settings, workspace: Path | None = None, module: Path | None = None
    ) -> AsyncIterator[Executor]:
        """The node's executor (bench tasks have no workspace or module to hide)."""
        async with self._starting:
            if self._executor is None:
                limits = Limits(test_timeout=settings.test_timeout,
                                candidate_timeout=settings.candidate_timeout,
                                memory_mb=settings.memory_mb)
                executor = Executor(workers=self._cpus, limits=limits,
                                    isolation=settings.isolation)
                await executor.start()
                self._executor = executor
        yield self._executor

    def cache_for(self, settings: Settings) -> ResponseCache | None:
        return self._cache if settings.cache else None

    async def aclose(self) -> None:
        if self._executor is not None:
            await self._executor.aclose()
            self._executor = None
        await super().aclose()


class NodeBench:
    """One node's bench, kept across problems: evaluates the problems sent to it."""

    def __init__(self, settings: Settings, run: str, node: str, cpus: int) -> None:
        hub: ActorProxy[Hub] = ray.get_actor(hub_name(run))
        self._bench = ClusterWorkbench(settings, hub, node, cpus)
        self._running: set[asyncio.Task[object]] = set()

    @ray.method
    async def evaluate(self, problem: bytes) -> bytes:
        """Evaluate a pickled (task, strategy, options); the pickled `ProblemOutcome`."""
        current = asyncio.current_task()
        assert current is not None
        self._running.add(current)
        try:
            task, strategy, options = pickle.loads(problem)
            outcome = await evaluate_problem(self._bench, task, strategy, options)
        finally:
            self._running.discard(current)
        return pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)

    @ray.method
    async def close(self) -> None:
        """Cancel what still runs, then stop the executor's processes."""
        for task in self._running:
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        await self._bench.aclose()
