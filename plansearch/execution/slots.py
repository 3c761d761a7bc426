"""Which worker runs the next candidate.

Each worker holds at most `depth` runs: one running, the others waiting in its fork server to
start the moment it is free. A run goes to the least loaded worker, and between equally loaded
ones to the one that finished a run last: a worker stuck on a slow candidate has not, and a run
queued behind it would wait out that candidate (up to its time limit) while another worker
moves on. Runs that find every worker full wait, and are served in the order they came.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

_W = TypeVar("_W", bound=Hashable)


class Slots(Generic[_W]):
    """Hands out workers to runs, `depth` runs per worker at most."""

    def __init__(self, depth: int) -> None:
        self._depth = depth
        self._load: dict[_W, int] = {}
        self._finished: dict[_W, float] = {}  # when each worker last finished a run
        self._waiting: deque[asyncio.Future[_W | None]] = deque()

    def add(self, worker: _W) -> None:
        """A worker ready for runs."""
        self._load[worker] = 0
        self._finished[worker] = time.monotonic()
        self._serve()

    def discard(self, worker: _W) -> None:
        """A worker that takes no more runs (dead, or being replaced)."""
        self._load.pop(worker, None)
        self._finished.pop(worker, None)

    def release(self, worker: _W) -> None:
        """A run of `worker` is over."""
        if worker in self._load:
            self._load[worker] -= 1
            self._finished[worker] = time.monotonic()
            self._serve()

    def wake(self) -> None:
        """Wake every waiting run with no worker (None), to look again at why none comes."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)

    async def take(self) -> _W | None:
        """A worker for one run, once one has room; None when woken by `wake`."""
        if not self._waiting:
            worker = self._pick()
            if worker is not None:
                self._load[worker] += 1
                return worker
        waiter: asyncio.Future[_W | None] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            given = waiter.result() if waiter.done() and not waiter.cancelled() else None
            if given is not None:
                self.release(given)  # given a worker, then cancelled: give it back
            raise

    def _pick(self) -> _W | None:
        room = [worker for worker, load in self._load.items() if load < self._depth]
        if not room:
            return None
        return min(room, key=lambda worker: (self._load[worker], -self._finished[worker]))

    def _serve(self) -> None:
        while self._waiting:
            worker = self._pick()
            if worker is None:
                return
            waiter = self._waiting.popleft()
            if waiter.done():  # its run was cancelled while it waited
                continue
            self._load[worker] += 1
            waiter.set_result(worker)
