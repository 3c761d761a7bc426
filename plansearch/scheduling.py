"""In-flight limits on model calls: the most advanced work goes first, and the limit follows
what the endpoint sustains.

`AdaptiveLimiter` is additive increase, multiplicative decrease, as TCP paces its window. It
starts at `START` calls in flight and, while calls succeed with at least half the slots in
use, grows by one a success (doubling each round trip) until the endpoint first pushes back,
then by one a round trip. A 429 or 529 cuts it by a quarter; a timeout, or replies slowed by
queueing at the endpoint, halve it; a `retry-after` holds back every new call until it has
passed. Calls sent before a cut say nothing about the new limit, so a burst of refusals
cuts it once.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from plansearch.models.errors import ModelError, RequestTimedOut

logger = logging.getLogger("plansearch.models")

START = 16
"""The limit an endpoint starts at: what hosted APIs take without complaint."""
REFUSED_CUT = 0.75
"""The cut on a 429 or 529: cheap to see, so the limit may stay close to what is taken."""
SLOW_CUT = 0.5
"""The cut on a timeout, or on replies slowed by queueing: each costs a long wait."""
QUEUE_FACTOR = 4.0
"""A reply this many times slower per token than the fastest one shows queueing..."""
QUEUE_MIN_SECONDS = 1.0
"""...when it took at least this long (short calls vary too much to tell)."""
REPLY_OVERHEAD_TOKENS = 50
"""The time a reply takes besides writing its tokens (reading the prompt), in tokens."""
MAX_PAUSE = 60.0
"""The longest `retry-after` that holds back new calls."""


class PriorityLimiter:
    """At most `limit` holders at once; waiters with a lower priority number go first.

    Calls closer to producing a program get lower numbers, so a limited budget or a narrow
    concurrency limit finishes branches instead of widening the tree. The limit may change
    at any time: raised, it lets waiters in at once; lowered, it lets no one in until
    enough holders have left.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._held = 0
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @property
    def limit(self) -> int:
        return self._limit

    @property
    def held(self) -> int:
        """Slots held now."""
        return self._held

    @asynccontextmanager
    async def slot(self, priority: int) -> AsyncIterator[None]:
        """Hold one slot for the duration of the block."""
        await self._acquire(priority)
        try:
            yield
        finally:
            self._release()

    def _open(self) -> bool:
        """Whether a slot may be given now."""
        return self._held < self._limit

    def _set_limit(self, limit: int) -> None:
        self._limit = limit
        self._admit()

    async def _acquire(self, priority: int) -> None:
        if self._open() and not self._waiters:
            self._held += 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._order), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release()  # the slot was handed over just as we were cancelled
            else:
                self._waiters = [w for w in self._waiters if w[2] is not future]
                heapq.heapify(self._waiters)
            raise

    def _release(self) -> None:
        self._held -= 1
        self._admit()

    def _admit(self) -> None:
        """Hand free slots to the first waiters."""
        while self._waiters and self._open():
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                self._held += 1
                future.set_result(None)


@dataclass
class Permit:
    """One call's slot: the cut it was sent after, and when. The caller sets `output_tokens`
    once the reply is in (its latency is judged per token)."""

    cuts: int
    started: float
    output_tokens: int = 0


class AdaptiveLimiter(PriorityLimiter):
    """A `PriorityLimiter` whose limit follows what one endpoint sustains, shared by every
    search that calls it. `name` says which endpoint in log lines."""

    def __init__(self, name: str) -> None:
        super().__init__(START)
        self.name = name
        self._caps: dict[str, int] = {}
        self._estimate = float(START)
        self._slow_start = True
        self._cuts = 0
        self._fastest: float | None = None
        """Seconds per token (with the overhead) of the fastest reply so far."""
        self._paused_until = 0.0

    def cap(self, source: str, most: int) -> None:
        """Keep the limit at or below `most` from now on, as `source` says (the concurrency
        setting, the server's parallel slots); a later cap from the same source replaces it."""
        if self._caps.get(source) == most:
            return
        self._caps[source] = most
        self._apply(f"capped at {most} by {source}", logging.INFO)

    @asynccontextmanager
    async def permit(self, priority: int) -> AsyncIterator[Permit]:
        """Hold a slot for one call: its success or congestion (a `ModelError` that says so)
        moves the limit."""
        async with self.slot(priority):
            permit = Permit(self._cuts, time.monotonic())
            try:
                yield permit
            except ModelError as error:
                if error.congestion:
                    self._congested(permit, error)
                raise
            self._succeeded(permit)

    def _open(self) -> bool:
        return super()._open() and time.monotonic() >= self._paused_until

    def _ceiling(self) -> int:
        return min(self._caps.values(), default=sys.maxsize)

    def _succeeded(self, permit: Permit) -> None:
        seconds = time.monotonic() - permit.started
        per_token = seconds / (permit.output_tokens + REPLY_OVERHEAD_TOKENS)
        fastest = self._fastest
        self._fastest = per_token if fastest is None else min(fastest, per_token)
        if permit.cuts != self._cuts:
            return  # sent before the last cut: it says nothing about the limit now
        if (fastest is not None and seconds >= QUEUE_MIN_SECONDS
                and per_token > QUEUE_FACTOR * fastest):
            self._cut(SLOW_CUT, f"a reply took {per_token / fastest:.0f} x the fastest's time "
                                "per token: the endpoint queues calls")
        elif 2 * self._held >= self._estimate:
            self._estimate += 1.0 if self._slow_start else 1.0 / self._estimate
            self._apply("calls succeed", logging.DEBUG)

    def _congested(self, permit: Permit, error: ModelError) -> None:
        if error.retry_after:
            self._pause(min(error.retry_after, MAX_PAUSE))
        if permit.cuts == self._cuts:
            slow = isinstance(error, RequestTimedOut)
            self._cut(SLOW_CUT if slow else REFUSED_CUT, error.kind.replace("_", " "))

    def _cut(self, factor: float, reason: str) -> None:
        self._cuts += 1
        self._slow_start = False
        self._estimate *= factor
        self._apply(reason, logging.INFO)

    def _apply(self, reason: str, level: int) -> None:
        """Set the limit from the estimate, kept between 1 and the caps."""
        self._estimate = max(1.0, min(self._estimate, float(self._ceiling())))
        before = self._limit
        self._set_limit(int(self._estimate))
        if self._limit != before:
            logger.log(level, "%s: in-flight limit %d (was %d): %s", self.name, self._limit,
                       before, reason)

    def _pause(self, seconds: float) -> None:
        """Give no slot for `seconds`, as the endpoint asked."""
        until = time.monotonic() + seconds
        if until > self._paused_until:
            self._paused_until = until
            asyncio.get_running_loop().call_later(seconds, self._resume, until)

    def _resume(self, until: float) -> None:
        if self._paused_until == until:
            self._paused_until = 0.0
            self._admit()
