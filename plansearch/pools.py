"""One shared resource per configuration, leased by whoever needs it.

A model provider (its HTTP client holds certificates and connections) and an executor (its
sandboxed worker processes) are costly to make and worth keeping between searches. A `Pool`
keeps the one made for the current configuration; when a lease asks for another one, a new
one is made and the old one is closed as soon as its last user gives it back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Pool(Generic[K, V]):
    """Leases the value for a key, made on first use and closed by `close`."""

    def __init__(self, close: Callable[[V], Awaitable[None]]) -> None:
        self._close = close
        self._current: tuple[K, V] | None = None
        self._users: dict[int, int] = {}
        self._retired: dict[int, V] = {}
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def lease(self, key: K, make: Callable[[], Awaitable[V]]) -> AsyncIterator[V]:
        """The value for `key` while the block runs, made by `make` when the current one
        is for another key (or there is none); errors of `make` propagate."""
        value = await self._acquire(key, make)
        try:
            yield value
        finally:
            await self._release(value)

    async def aclose(self) -> None:
        """Close every value, in use or not."""
        values = list(self._retired.values())
        if self._current is not None:
            values.append(self._current[1])
        self._current = None
        self._retired.clear()
        self._users.clear()
        await asyncio.gather(*(self._close(value) for value in values), return_exceptions=True)

    async def _acquire(self, key: K, make: Callable[[], Awaitable[V]]) -> V:
        async with self._lock:
            if self._current is None or self._current[0] != key:
                value = await make()
                old, self._current = self._current, (key, value)
                if old is not None and self._users.get(id(old[1])):
                    self._retired[id(old[1])] = old[1]  # closed when its last user is done
                elif old is not None:
                    await self._close(old[1])
            value = self._current[1]
            self._users[id(value)] = self._users.get(id(value), 0) + 1
            return value

    async def _release(self, value: V) -> None:
        left = self._users.get(id(value), 0) - 1
        if left > 0:
            self._users[id(value)] = left
            return
        self._users.pop(id(value), None)  # (none left after `aclose`)
        if self._retired.pop(id(value), None) is not None:
            await self._close(value)
