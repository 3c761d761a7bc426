"""The driver's side of a cluster run, as one actor on the driver's node: the call gate, the
ledger of problem tasks, and the response cache every node reads and fills.

The cache is the driver's own file (`cache_path`), so a cluster run resumes from what an
earlier run, local or on the cluster, was answered, and a local run later resumes from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ray

from plansearch.bench.cluster.gate import CallGate
from plansearch.bench.cluster.ledger import Ledger
from plansearch.models.base import ModelReply, ModelRequest
from plansearch.models.cache import ResponseCache
from plansearch.models.errors import ModelError


@dataclass(frozen=True)
class HubStatus:
    """What the hub sees of the run now."""

    tasks_in_flight: int
    calls_in_flight: int
    call_limit: int


class Hub:
    """Call permits, problem starts and cached replies for every node of one run."""

    def __init__(self, cache_path: Path | None, concurrency: int) -> None:
        self._gate = CallGate(concurrency)
        self._ledger = Ledger()
        self._cache = ResponseCache(cache_path) if cache_path is not None else None

    @ray.method
    async def acquire(self, token: str, priority: int, node: str) -> int | None:
        """A permit for one model call (see `CallGate.acquire`): the limit then, or None."""
        granted = await self._gate.acquire(token, priority, node)
        return self._gate.limit if granted else None

    @ray.method
    async def release(self, token: str, output_tokens: int, error: ModelError | None) -> None:
        await self._gate.release(token, output_tokens, error)

    @ray.method
    def cap(self, source: str, most: int) -> None:
        self._gate.cap(source, most)

    @ray.method
    def started(self, key: str, node: str) -> int:
        """A problem task started on `node`: its attempt number."""
        return self._ledger.started(key, node)

    @ray.method
    def finished(self, key: str) -> None:
        self._ledger.finished(key)

    @ray.method
    async def forget(self, node: str) -> None:
        """`node` is gone: its permits come back, its problems no longer count as running."""
        await self._gate.forget(node)
        self._ledger.forget(node)

    @ray.method
    def status(self) -> HubStatus:
        return HubStatus(self._ledger.running, self._gate.in_flight, self._gate.limit)

    @ray.method
    def cache_get(self, identity: str, request: ModelRequest, sample: int) -> ModelReply | None:
        return self._cache.get(identity, request, sample) if self._cache else None

    @ray.method
    def cache_put(
        self, identity: str, request: ModelRequest, sample: int, reply: ModelReply
    ) -> None:
        if self._cache is not None:
            self._cache.put(identity, request, sample, reply)

    @ray.method
    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
