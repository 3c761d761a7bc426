"""A thread with its own event loop, where searches, test runs and re-runs happen.

The engine does real CPU work between its awaits (splicing each candidate into the module,
ranking, parsing replies): tens of milliseconds for a module of a few hundred lines. On a
loop of its own it never holds up a reply to the editor; the LSP loop only waits for
results and relays events.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

_T = TypeVar("_T")
_STOP_TIMEOUT = 5.0
SWITCH_INTERVAL = 0.001
"""Seconds a thread may hold the GIL while another waits (Python's default is 5 ms): a
request from the editor waits at most this long for the engine at each step."""


class EngineThread:
    """Runs coroutines on the engine's loop for callers on another loop, once `start`ed."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="plansearch-engine",
                                        daemon=True)
        self._started = False

    def start(self) -> None:
        """Start the loop in its thread (once; again does nothing)."""
        if self._started:
            return
        self._started = True
        sys.setswitchinterval(SWITCH_INTERVAL)
        self._thread.start()

    @property
    def started(self) -> bool:
        """Whether `start` was called."""
        return self._started

    async def run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        """Run `coroutine` on the engine loop and wait for it; cancelling the wait cancels
        it there."""
        self._check_started(coroutine)
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self.loop))

    def call(self, function: Callable[..., object], *args: object) -> None:
        """Call `function(*args)` on the engine loop, soon."""
        self._check_started()
        self.loop.call_soon_threadsafe(function, *args)

    def stop(self) -> None:
        """Stop the loop and its thread (run `aclose` of what lives there first); a loop
        that never started is just closed."""
        if not self._started:
            if not self.loop.is_closed():
                self.loop.close()
            return
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(_STOP_TIMEOUT)

    def _check_started(self, coroutine: Coroutine[Any, Any, object] | None = None) -> None:
        """Nothing runs on a loop that was never started: fail now instead of waiting forever."""
        if not self._started:
            if coroutine is not None:
                coroutine.close()  # never awaited: no warning about it
            raise RuntimeError("the engine thread is not started")

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            self.loop.run_until_complete(self.loop.shutdown_default_executor())
            self.loop.close()
