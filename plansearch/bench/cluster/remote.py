"""A node's stand-ins for what the driver holds: the call limiter and the response cache.

Both keep the engine's interfaces (a provider's `limiter`, a `ResponseCache`), so a search
on a node runs unchanged: each permit and each cached reply is a call to the run's `Hub`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import ray
from ray.actor import ActorProxy

from plansearch.bench.cluster.hub import Hub
from plansearch.models.base import ModelReply, ModelRequest
from plansearch.models.cache import ResponseCache
from plansearch.models.errors import ModelError
from plansearch.scheduling import AdaptiveLimiter, Permit

_CACHE_TIMEOUT_S = 60.0


class PermitWithdrawn(ModelError):
    """The gate gave up a waiting call (it took the node for lost): asked again at once."""

    kind = "permit_withdrawn"
    retryable = True
    backoff = False


class ClusterLimiter(AdaptiveLimiter):
    """A provider's limiter whose permits come from the cluster's one gate on the driver."""

    def __init__(self, hub: ActorProxy[Hub], node: str) -> None:
        super().__init__("the cluster")
        self._hub = hub
        self._node = node
        self._sent: dict[str, int] = {}
        self._gate_limit = 0

    @property
    def limit(self) -> int:
        """The gate's limit when it last gave a permit."""
        return self._gate_limit

    def cap(self, source: str, most: int) -> None:
        """Pass a cap (the concurrency setting, the server's slots) on to the gate, once."""
        if self._sent.get(source) != most:
            self._sent[source] = most
            self._hub.cap.remote(source, most)

    @asynccontextmanager
    async def permit(self, priority: int) -> AsyncIterator[Permit]:
        token = uuid.uuid4().hex
        try:
            limit = await self._hub.acquire.remote(token, priority, self._node)
        except BaseException:
            self._hub.release.remote(token, 0, None)  # cancelled: stop waiting at the gate
            raise
        if limit is None:
            raise PermitWithdrawn("the cluster's call gate withdrew the permit")
        self._gate_limit = limit
        permit = Permit(0, time.monotonic())
        error: ModelError | None = None
        try:
            yield permit
        except ModelError as exc:
            error = exc
            raise
        finally:
            self._hub.release.remote(token, permit.output_tokens, error)


class HubCache(ResponseCache):
    """The driver's response cache, read and filled through the hub."""

    def __init__(self, hub: ActorProxy[Hub], path: Path) -> None:
        # no file of its own: the hub holds the driver's
        self.path = path
        self._hub = hub

    def get(self, identity: str, request: ModelRequest, sample_index: int) -> ModelReply | None:
        ref = self._hub.cache_get.remote(identity, request, sample_index)
        return ray.get(ref, timeout=_CACHE_TIMEOUT_S)

    def put(
        self, identity: str, request: ModelRequest, sample_index: int, reply: ModelReply
    ) -> None:
        ray.get(self._hub.cache_put.remote(identity, request, sample_index, reply),
                timeout=_CACHE_TIMEOUT_S)

    def close(self) -> None:
        """Nothing to close: the hub closes the file."""
