"""One in-flight limit on model calls for the whole cluster.

The limit is the one a single machine keeps (`AdaptiveLimiter`: it starts at 16 calls, grows
while calls succeed, is cut by 429s, 529s and timeouts, and stays under the concurrency
setting), so the endpoint sees one client however many nodes there are. A permit is held
across actor calls, by a token the caller makes up; the node holding it is kept, so that a
node lost mid-call gives its permits back.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from plansearch.models.errors import ModelError
from plansearch.scheduling import AdaptiveLimiter, Permit

_NODE_LOST = ModelError("the node holding the permit was lost")
"""Gives a permit back without saying anything about the endpoint (no cut, no growth)."""


@dataclass
class _Held:
    node: str
    context: AbstractAsyncContextManager[Permit]
    permit: Permit


class CallGate:
    """Permits for model calls, one limiter for every node."""

    def __init__(self, concurrency: int) -> None:
        self._limiter = AdaptiveLimiter("the cluster")
        self._limiter.cap("the concurrency setting", concurrency)
        self._held: dict[str, _Held] = {}
        self._waiting: dict[str, tuple[str, asyncio.Task[object]]] = {}
        self._abandoned: set[str] = set()

    @property
    def in_flight(self) -> int:
        """Calls holding a permit now."""
        return len(self._held)

    @property
    def limit(self) -> int:
        return self._limiter.limit

    def cap(self, source: str, most: int) -> None:
        """Keep the limit at or below `most`, as `source` says (see `AdaptiveLimiter.cap`)."""
        self._limiter.cap(source, most)

    async def acquire(self, token: str, priority: int, node: str) -> bool:
        """Wait for a permit for `token`; False when it was given up before it was granted."""
        if token in self._abandoned:
            self._abandoned.discard(token)
            return False
        task = asyncio.current_task()
        assert task is not None
        context = self._limiter.permit(priority)
        self._waiting[token] = (node, task)
        try:
            permit = await context.__aenter__()
        except asyncio.CancelledError:
            return False  # given up by `release`, or by `forget`
        finally:
            del self._waiting[token]
        self._held[token] = _Held(node, context, permit)
        return True

    async def release(self, token: str, output_tokens: int, error: ModelError | None) -> None:
        """Give `token`'s permit back: the call's reply had `output_tokens`, or it failed with
        `error` (congestion cuts the limit). A token still waiting stops waiting."""
        if token in self._waiting:
            self._waiting[token][1].cancel()
            return
        held = self._held.pop(token, None)
        if held is None:
            self._abandoned.add(token)  # released before its acquire arrived
            return
        held.permit.output_tokens = output_tokens
        await _exit(held.context, error)

    async def forget(self, node: str) -> None:
        """`node` is gone: its permits come back and its waiters stop waiting."""
        for _, task in (entry for entry in self._waiting.values() if entry[0] == node):
            task.cancel()
        lost = [token for token, held in self._held.items() if held.node == node]
        for token in lost:
            await _exit(self._held.pop(token).context, _NODE_LOST)


async def _exit(context: AbstractAsyncContextManager[Permit], error: ModelError | None) -> None:
    if error is None:
        await context.__aexit__(None, None, None)
    else:
        await context.__aexit__(type(error), error, error.__traceback__)
