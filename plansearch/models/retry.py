"""Retries of retryable model errors: exponential backoff with jitter, honouring retry-after."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from plansearch.models.errors import ModelError

T = TypeVar("T")

OnRetry = Callable[[ModelError, float, int], None]
"""Told (error, seconds about to be waited, retry number starting at 1) before each wait."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait. Delays are in seconds; scale them down in tests."""

    max_retries: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    jitter: float = 0.25
    """Up to this fraction of each backoff is removed at random, so callers spread out."""

    def backoff(self, retry: int) -> float:
        """The backoff before retry number `retry` (1, 2, ...)."""
        delay = min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))
        return delay * (1 - self.jitter * random.random())

    def delay(self, error: ModelError, retry: int) -> float:
        """The wait before retry number `retry`: the backoff, or the server's ask if longer;
        none for an error the provider has already adapted to (`error.backoff` false)."""
        if not error.backoff:
            return 0.0
        wait = self.backoff(retry)
        if error.retry_after is not None:
            wait = max(wait, min(error.retry_after, self.max_retry_after))
        return wait


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    on_retry: OnRetry | None = None,
) -> T:
    """Await `attempt()`, retrying retryable `ModelError`s; the last error is raised."""
    retry = 0
    while True:
        try:
            return await attempt()
        except ModelError as error:
            if not error.retryable or retry >= policy.max_retries:
                raise
            retry += 1
            wait = policy.delay(error, retry)
            if on_retry is not None:
                on_retry(error, wait, retry)
            await asyncio.sleep(wait)
