"""The server's one executor, started on first use and shared by every search and re-run.

It is replaced (the old one closed once idle) when the settings change its limits or its
isolation level, or a search is in another workspace (the folder candidates import from) or
another module (whose file, with the workspace's test files, candidates may not read).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from plansearch.config import IsolationName, Settings
from plansearch.execution.executor import Executor
from plansearch.execution.hiding import hidden_paths
from plansearch.execution.limits import Limits

_Key = tuple[Limits, IsolationName, tuple[Path, ...], tuple[str, ...]]


def _key(settings: Settings, workspace: Path | None, module: Path | None) -> _Key:
    limits = Limits(test_timeout=settings.test_timeout,
                    candidate_timeout=settings.candidate_timeout, memory_mb=settings.memory_mb)
    if workspace is None:
        return limits, settings.isolation, (), ()
    hidden = hidden_paths(workspace, extra=[module] if module else [])
    return limits, settings.isolation, (workspace,), tuple(hidden)


class ExecutorPool:
    """Leases the current executor; closes retired ones when their last user is done."""

    def __init__(self) -> None:
        self._current: Executor | None = None
        self._current_key: _Key | None = None
        self._users: dict[Executor, int] = {}
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def lease(
        self, settings: Settings, workspace: Path | None, module: Path | None = None
    ) -> AsyncIterator[Executor]:
        """The executor for `settings`, `workspace` and the file of the `module` under test,
        started if needed (ExecutorError when it cannot)."""
        key = await asyncio.to_thread(_key, settings, workspace, module)  # walks the workspace
        executor = await self._get(key)
        self._users[executor] = self._users.get(executor, 0) + 1
        try:
            yield executor
        finally:
            self._users[executor] -= 1
            if executor is not self._current and self._users[executor] == 0:
                del self._users[executor]
                await executor.aclose()

    async def aclose(self) -> None:
        """Close every executor; no worker process is left behind."""
        executors = set(self._users)
        if self._current is not None:
            executors.add(self._current)
        self._current = None
        self._users.clear()
        await asyncio.gather(*(executor.aclose() for executor in executors),
                             return_exceptions=True)

    async def _get(self, key: _Key) -> Executor:
        async with self._lock:
            if self._current is not None and self._current_key == key:
                return self._current
            old = self._current
            limits, isolation, paths, hidden = key
            executor = Executor(limits=limits, isolation=isolation, paths=paths, hidden=hidden)
            await executor.start()
            self._current, self._current_key = executor, key
            if old is not None and not self._users.get(old):
                self._users.pop(old, None)
                await old.aclose()
            return executor
