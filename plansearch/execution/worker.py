"""The executor's handle on one fork-server process: start it, send it requests, read its
replies (length-prefixed JSON on its stdin and stdout), cancel a run, stop or kill it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections import deque

from plansearch.execution.protocol import (
    HEADER,
    MAX_FRAME,
    Message,
    ProtocolError,
    decode_body,
    encode,
)
from plansearch.execution.sandbox import WorkerSpec, remove_scratch_root

_STDERR_KEEP = 50


class WorkerError(Exception):
    """The worker could not start, died, or stopped answering."""


class Worker:
    """One running fork server."""

    def __init__(self, process: asyncio.subprocess.Process, spec: WorkerSpec) -> None:
        self._process = process
        self._spec = spec
        self._inbox: asyncio.Queue[Message | None] = asyncio.Queue()
        self._stderr: deque[str] = deque(maxlen=_STDERR_KEEP)
        self._tasks = [
            asyncio.create_task(self._read_replies()),
            asyncio.create_task(self._read_stderr()),
        ]
        self.ready: Message = {}

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
            reply = await asyncio.wait_for(worker._next(), timeout)
        except BaseException as exc:  # cancelled too: never leave the process behind
            await worker.kill()
            if isinstance(exc, TimeoutError | WorkerError):
                raise WorkerError(f"the {spec.level} worker did not start: {worker.why()}") from exc
            raise
        worker.ready = reply
        return worker

    @property
    def pid(self) -> int:
        """The process the executor started (bwrap, or the worker's own interpreter)."""
        return self._process.pid

    @property
    def alive(self) -> bool:
        return self._process.returncode is None

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

    async def request(self, message: Message, timeout: float) -> Message:
        """Send a run request; return its result (or its 'cancelled' acknowledgement)."""
        await self._send(message)
        return await self._wait_for(message["id"], ("result", "cancelled"), timeout)

    async def cancel(self, run_id: int, timeout: float) -> None:
        """Ask the worker to stop run `run_id` and wait until it has killed the candidate."""
        await self._send({"t": "cancel", "id": run_id})
        await self._wait_for(run_id, ("cancelled",), timeout)

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
        remove_scratch_root(self._spec)

    async def _send(self, message: Message) -> None:
        stdin = self._process.stdin
        if stdin is None or stdin.is_closing() or not self.alive:
            raise WorkerError(f"the worker is gone: {self.why()}")
        try:
            stdin.write(encode(message))
            await stdin.drain()
        except (ConnectionError, RuntimeError) as exc:
            raise WorkerError(f"cannot write to the worker: {self.why()}") from exc

    async def _wait_for(self, run_id: int, kinds: tuple[str, ...], timeout: float) -> Message:
        async with asyncio.timeout(timeout):
            while True:
                reply = await self._next()
                if reply.get("id") == run_id and reply.get("t") in kinds:
                    return reply

    async def _next(self) -> Message:
        reply = await self._inbox.get()
        if reply is None:
            self._inbox.put_nowait(None)  # later readers see the end too
            await self._process.wait()
            raise WorkerError(f"the worker ended: {self.why()}")
        return reply

    async def _read_replies(self) -> None:
        stdout = self._process.stdout
        try:
            while stdout is not None:
                (length,) = HEADER.unpack(await stdout.readexactly(HEADER.size))
                if length > MAX_FRAME:
                    break
                self._inbox.put_nowait(decode_body(await stdout.readexactly(length)))
        except (asyncio.IncompleteReadError, ConnectionError, ProtocolError):
            pass
        finally:
            self._inbox.put_nowait(None)

    async def _read_stderr(self) -> None:
        stderr = self._process.stderr
        while stderr is not None and (line := await stderr.readline()):
            self._stderr.append(line.decode(errors="replace").rstrip())


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
