"""Which problem runs where: how often each was started, and what runs on each node now."""

from __future__ import annotations

from collections import Counter


class Ledger:
    """Starts and ends of the cluster's problem tasks, by key."""

    def __init__(self) -> None:
        self._starts: Counter[str] = Counter()
        self._running: dict[str, str] = {}

    @property
    def running(self) -> int:
        """Problems started and not yet finished."""
        return len(self._running)

    def started(self, key: str, node: str) -> int:
        """`key` started on `node`; its attempt number (1 the first time)."""
        self._starts[key] += 1
        self._running[key] = node
        return self._starts[key]

    def finished(self, key: str) -> None:
        self._running.pop(key, None)

    def forget(self, node: str) -> None:
        """`node` is gone: what ran there runs no more (until Ray starts it again)."""
        self._running = {key: at for key, at in self._running.items() if at != node}
