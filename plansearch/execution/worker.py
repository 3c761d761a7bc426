"""The executor's handle on one fork-server process: start it, send it requests, read its
replies (length-prefixed JSON on its stdin and stdout), cancel a run, stop or kill it.

Several requests may be outstanding at once: the fork server runs them one after the other,
and replies are matched to requests by id. Keeping the next request queued in the server
spares it the round trip to the executor between two candidates.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections import deque
from typing import Any, TypeVar, cast

from plansearch.execution.launch import WorkerSpec, remove_scratch_root
from plansearch.execution.messages import (
    Cancelled,
    Command,
    Ready,
    RunRequest,
    RunResult,
)
from plansearch.execution.protocol import (
    HEADER,
    MAX_FRAME,
    Message,
    ProtocolError,
    decode_body,
    encode_trusted,
)

_STDERR_KEEP = 50
_R = TypeVar("_R")


class WorkerError(Exception):
    """The worker could not start, died, or stopped answering."""


class Worker:
    """One running fork server."""

    def __init__(self, process: asyncio.subprocess.Process, spec: WorkerSpec) -> None:
        self._process = process
        self._spec = spec
        loop = asyncio.get_running_loop()
        self._ready: asyncio.Future[Ready] = loop.create_future()
        self._replies: dict[int, asyncio.Future[RunResult | Cancelled]] = {}
        self._acknowledgements: dict[int, asyncio.Future[Cancelled]] = {}
        self._budgets: dict[int, float] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._stderr: deque[str] = deque(maxlen=_STDERR_KEEP)
        self._ended = False
        self._tasks = [
            asyncio.create_task(self._read_replies()),
            asyncio.create_task(self._read_stderr()),
        ]
        self.ready: Ready | None = None
        """The fork server's ready message, once started."""

    @classmethod
    async def start(cls, spec: WorkerSpec, timeout: float = 30.0) -> Worker:
        """Start a fork server and wait until it says it is ready."""
        try:
            process = await asyncio.create_subprocess_exec(
                *spec.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=spec.env,
                start_new_session=True,
            )
        except OSError as exc:
            remove_scratch_root(spec)
            raise WorkerError(f"cannot start the {spec.level} worker: {exc}") from exc
        worker = cls(process, spec)
        try:
            worker.ready = await asyncio.wait_for(asyncio.shield(worker._ready), timeout)
        except BaseException as exc:  # cancelled too: never leave the process behind
            await worker.kill()
            if isinstance(exc, TimeoutError | WorkerError):
                raise WorkerError(f"the {spec.level} worker did not start: {worker.why()}") from exc
            raise
        return worker

    @property
    def alive(self) -> bool:
        return self._process.returncode is None and not self._ended

    def why(self) -> str:
        """What is known about the worker's state, for an error message."""
        code = self._process.returncode
        if code is None:
            state = "still running"
        elif code < 0:
            state = f"killed by {signal.Signals(-code).name}"
        else:
            state = f"exited with status {code}"
        tail = " | ".join(self._stderr)
        return f"{state}{'; stderr: ' + tail[-600:] if tail else ''}"

    async def request(self, message: RunRequest, budget: float) -> RunResult | Cancelled:
        """Send a run request; return its result (or its 'cancelled' acknowledgement).

        `budget` is the request's own time limit; it waits as long as the requests queued
        before it in the server may take too.
        """
        run_id = message["id"]
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[RunResult | Cancelled] = loop.create_future()
        self._replies[run_id] = reply
        self._budgets[run_id] = budget
        self._idle.clear()
        # a timer on the reply itself, not wait_for: two fewer turns of the event loop
        timer = loop.call_later(sum(self._budgets.values()), _expire, reply)
        try:
            await self._send(message)
            return await reply
        finally:
            timer.cancel()
            if not reply.done():  # nobody waits for it any more: a late reply is dropped
                reply.cancel()
            self._replies.pop(run_id, None)
            self._budgets.pop(run_id, None)
            if not self._budgets:
                self._idle.set()

    async def wait_idle(self) -> None:
        """Wait until no request of this worker is outstanding (or the worker has ended)."""
        await self._idle.wait()

    async def cancel(self, run_id: int, timeout: float) -> None:
        """Ask the worker to stop run `run_id` and wait until it has killed the candidate."""
        acknowledged: asyncio.Future[Cancelled] = asyncio.get_running_loop().create_future()
        self._acknowledgements[run_id] = acknowledged
        try:
            await self._send({"t": "cancel", "id": run_id})
            await asyncio.wait_for(acknowledged, timeout)
        finally:
            self._acknowledgements.pop(run_id, None)

    async def close(self, timeout: float = 3.0) -> None:
        """Let the worker finish (it kills what is left and exits); kill it if it does not."""
        if self._process.stdin is not None and not self._process.stdin.is_closing():
            self._process.stdin.close()
        try:
            await asyncio.wait_for(self._process.wait(), timeout)
        except TimeoutError:
            await self.kill()
        await self._finish()

    async def kill(self) -> None:
        """Kill the worker (a sandbox dies with it) and wait for it. Without a sandbox, also
        kill what is left in the worker's session: candidates run in process groups of their
        own, and their fork server may be dead."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGKILL)
        if self._spec.level == "rlimits":
            await asyncio.to_thread(_kill_session, self._process.pid)
        await self._process.wait()
        await self._finish()

    async def _finish(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._fail_all()
        remove_scratch_root(self._spec)

    async def _send(self, message: Command) -> None:
        stdin = self._process.stdin
        if stdin is None or stdin.is_closing() or not self.alive:
            raise WorkerError(f"the worker is gone: {self.why()}")
        try:
            stdin.write(encode_trusted(message))
            await stdin.drain()
        except (ConnectionError, RuntimeError) as exc:
            raise WorkerError(f"cannot write to the worker: {self.why()}") from exc

    def _deliver(self, message: Message) -> None:
        """Hand a reply to whoever waits for it, by its kind and id (the executor checks the
        rest: the fork server runs in the sandbox)."""
        kind, run_id = message.get("t"), message.get("id")
        if kind == "ready":
            _resolve(self._ready, cast("Ready", message))
        elif kind in ("result", "cancelled") and isinstance(run_id, int):
            _resolve(self._replies.get(run_id), cast("RunResult | Cancelled", message))
            if kind == "cancelled":
                _resolve(self._acknowledgements.get(run_id), cast("Cancelled", message))

    def _fail_all(self) -> None:
        self._ended = True
        self._idle.set()
        error = WorkerError(f"the worker ended: {self.why()}")
        waiting: list[asyncio.Future[Any]] = [
            self._ready,
            *self._replies.values(),
            *self._acknowledgements.values(),
        ]
        for future in waiting:
            if not future.done():
                future.set_exception(error)

    async def _read_replies(self) -> None:
        stdout = self._process.stdout
        try:
            while stdout is not None:
                (length,) = HEADER.unpack(await stdout.readexactly(HEADER.size))
                if length > MAX_FRAME:
                    break
                self._deliver(decode_body(await stdout.readexactly(length)))
        except (asyncio.IncompleteReadError, ConnectionError, ProtocolError):
            pass
        with contextlib.suppress(asyncio.TimeoutError):
            # the exit status makes the error message useful; it follows the end of output
            await asyncio.wait_for(self._process.wait(), 1.0)
        self._fail_all()

    async def _read_stderr(self) -> None:
        stderr = self._process.stderr
        while stderr is not None and (line := await stderr.readline()):
            self._stderr.append(line.decode(errors="replace").rstrip())


def _resolve(future: asyncio.Future[_R] | None, message: _R) -> None:
    if future is not None and not future.done():
        future.set_result(message)


def _expire(reply: asyncio.Future[RunResult | Cancelled]) -> None:
    if not reply.done():
        reply.set_exception(TimeoutError("the worker did not answer in time"))


def _kill_session(session: int, rounds: int = 20) -> None:
    """Kill every process of a session, again until none is left (bounded)."""
    for _ in range(rounds):
        found = False
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            with contextlib.suppress(OSError):
                if os.getsid(int(name)) == session:
                    found = True
                    os.kill(int(name), signal.SIGKILL)
        if not found:
            return
        time.sleep(0.01)
