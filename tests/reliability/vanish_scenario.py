"""A vanished client: the editor's end of the connection goes away mid-search.

The real server runs a search whose candidates sleep (each writes its pid to a marker folder
first), over stdio or TCP. Once candidates are running, the client disappears (see
`Departure`). The server must stop the search, leave no process behind and exit within a few
seconds.

Also the helpers the crash scenario shares: a module of stubs the scripted model can answer
for any function, the process tree of a server, and a server process with a pytest-lsp client
over either transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import struct
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient
from pytest_lsp.client import register_lsp_features

from tests.lsp.conftest import (
    Client,
    Editor,
    _features,
    capabilities,
    client_converter,
    init_options,
    server_env,
)
from tests.reliability.figures import ScenarioFigures
from tests.support.fake_llm import FakeCall, FakeLLMServer
from tests.support.plansearch_script import PlanSearchScript

Transport = Literal["stdio", "tcp"]
Departure = Literal["stdio", "stdout", "tcp"]
"""How the client vanishes: its process ends (both stdio pipes close), it stops reading the
server's output (stdin stays open), or its TCP connection is reset."""
GENERATE = "plansearch/generate"
STARTUP_TIMEOUT = 30.0
"""Seconds the server may take to start and answer `initialize`."""

# -- a module of stubs, and a model that answers for each --------------------------------------


def stub(name: str, factor: int) -> str:
    """A stub whose docstring example wants `x * factor`."""
    return (f"def {name}(x: float) -> float:\n"
            f'    """Return x times {factor}.\n\n'
            f"    >>> {name}(2.0)\n    {2.0 * factor}\n"
            f'    """\n    ...\n')


def stub_module(names: Sequence[str]) -> str:
    """A module of stubs, the i-th (from 1) multiplying by i + 1."""
    return '"""Stubs."""\nimport math\n\n\n' + "\n\n".join(
        stub(name, index + 2) for index, name in enumerate(names))


def stub_line(text: str, name: str) -> int:
    """The line of `def name` in `text`."""
    return next(i for i, line in enumerate(text.splitlines()) if line.startswith(f"def {name}("))


@dataclass
class Sleepy:
    """Candidates of the functions named here write their pid into `marks`, then sleep while
    the file `hold` exists."""

    marks: Path
    hold: Path
    names: set[str] = field(default_factory=set)

    def pids(self) -> list[int]:
        return sorted(int(p.name) for p in self.marks.iterdir()) if self.marks.is_dir() else []


def code_writer(
    names: Sequence[str], sleepy: Sleepy | None = None
) -> Callable[[FakeCall], str]:
    """`code_for` of a `PlanSearchScript` for a `stub_module` of `names`: right code when
    written from a fixed sketch, wrong otherwise."""

    def code_for(call: FakeCall) -> str:
        found = re.findall(r"^def (\w+)\(", call.messages[-1][1], re.MULTILINE)
        name = next(n for n in reversed(found) if n in names)
        factor = names.index(name) + 2
        fixed = "fix reply" in call.messages[-1][1]
        body = f"x * {factor}" if fixed else f"x - {factor}"
        nap = ""
        if sleepy is not None and name in sleepy.names:
            nap = (f"    open(os.path.join({str(sleepy.marks)!r}, str(os.getpid())), 'w').close()\n"
                   f"    while os.path.exists({str(sleepy.hold)!r}):\n        time.sleep(0.05)\n")
        return (f"```python\nimport os\nimport time\n\n\ndef {name}(x):\n{nap}"
                f"    return {body}\n```")

    return code_for


def script(names: Sequence[str], sleepy: Sleepy | None = None, *, first: int = 2,
           derived: int = 2) -> PlanSearchScript:
    """A whole PlanSearch conversation for any function of a `stub_module` of `names`."""
    return PlanSearchScript(names[0], first=first, derived=derived,
                            code_for=code_writer(names, sleepy))


# -- processes ---------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, str, int] | None:
    """(parent pid, state, start time) of a process; None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return int(fields[1]), fields[0], int(fields[19])


Identity = tuple[int, int]
"""A process: (pid, start time), so that a reused pid is not mistaken for it."""


def identity(pid: int) -> Identity | None:
    stat = _stat(pid)
    return None if stat is None else (pid, stat[2])


def descendants(root: int) -> set[Identity]:
    """Every process below `root` (children of children too), now."""
    parents: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (stat := _stat(int(name))) is not None:
            parents.setdefault(stat[0], []).append(int(name))
    found: set[Identity] = set()
    todo = [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            if (ident := identity(child)) is not None and ident not in found:
                found.add(ident)
                todo.append(child)
    return found


def scratch_roots(processes: set[Identity]) -> set[Path]:
    """The host scratch folders of the fork servers among `processes` (the `rlimits` level
    makes one per worker, named in the worker's command line)."""
    roots = set()
    for pid, _ in processes:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        for arg in argv:
            if arg.startswith(b"{") and b"scratch_root" in arg:
                with contextlib.suppress(ValueError):
                    roots.add(Path(json.loads(arg)["scratch_root"]))
    return roots


def alive(process: Identity) -> bool:
    """Whether the process still runs (a zombie waiting for its parent has ended)."""
    stat = _stat(process[0])
    return stat is not None and stat[2] == process[1] and stat[1] != "Z"


async def left_behind(processes: set[Identity], within: float) -> tuple[set[Identity], float]:
    """The processes still alive after waiting up to `within` seconds for them to end, and
    the seconds waited."""
    started = time.monotonic()
    while (running := {p for p in processes if alive(p)}) and (
            time.monotonic() - started < within):
        await asyncio.sleep(0.02)
    return running, time.monotonic() - started


# -- a server process with a client ------------------------------------------------------------


@dataclass
class Server:
    """A running server process and the client talking to it."""

    client: Client
    process: asyncio.subprocess.Process
    transport: Transport
    log_file: Path

    @property
    def lsp(self) -> LanguageClient:
        return self.client.lsp

    def vanish(self, *, keep_input: bool = False) -> None:
        """The client goes away without a word: over stdio both pipes close (unless
        `keep_input`: the client stops reading but the server's stdin stays open); over TCP
        the socket is reset."""
        if self.transport == "stdio":
            pipes = self.process._transport  # type: ignore[attr-defined]
            pipes.get_pipe_transport(1).close()
            if not keep_input:
                assert self.process.stdin is not None
                self.process.stdin.close()
            return
        writer = self.lsp.protocol.writer
        assert isinstance(writer, asyncio.StreamWriter)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # with linger 0: a reset, as from a crashed peer

    def logs(self) -> str:
        """The server's log file and what it told the client."""
        text = self.log_file.read_text(encoding="utf-8") if self.log_file.exists() else ""
        return text + "\n" + self.client.log_text()


@contextlib.asynccontextmanager
async def server(
    workspace: Path, env: dict[str, str], options: dict[str, Any], *,
    transport: Transport = "stdio", name: str = "server",
) -> AsyncIterator[Server]:
    """A server for `workspace` over `transport`, initialised; at the end shut down if it
    still runs (killed if it does not answer), and its client stopped."""
    editor = Editor()
    lsp = LanguageClient(converter_factory=client_converter,
                         configuration={"": {"plansearch": {}}})
    register_lsp_features(lsp, _features(editor))
    log_file = workspace.parent / f"{name}-lsp.log"
    argv = [sys.executable, "-m", "plansearch_lsp", "--log-file", str(log_file)]
    drain: asyncio.Task[None] | None = None
    if transport == "stdio":
        await lsp.start_io(*argv, "--stdio", env=env, cwd=str(workspace))
        assert lsp._server is not None
        process = lsp._server
    else:
        process = await asyncio.create_subprocess_exec(
            *argv, "--tcp", "127.0.0.1:0", env=env, cwd=str(workspace),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE)
    try:
        if transport == "tcp":
            assert process.stderr is not None
            line = await asyncio.wait_for(process.stderr.readline(), STARTUP_TIMEOUT)
            if b"listening on" not in line:
                raise RuntimeError(f"the server did not start: {line!r}")
            drain = asyncio.create_task(_drain(process.stderr))
            await lsp.start_tcp("127.0.0.1", int(line.rsplit(b":", 1)[1]))
        await asyncio.wait_for(lsp.initialize_session(types.InitializeParams(
            capabilities=capabilities(), root_uri=workspace.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="ws")],
            initialization_options=options)), STARTUP_TIMEOUT)
        yield Server(Client(lsp, editor, workspace), process, transport, log_file)
    finally:
        if process.returncode is None and not lsp.stopped:
            with contextlib.suppress(TimeoutError, RuntimeError, OSError, JsonRpcException):
                await asyncio.wait_for(lsp.shutdown_session(), 20)
        with contextlib.suppress(ProcessLookupError):
            if process.returncode is None:
                process.kill()
        await process.wait()
        lsp._stop_event.set()
        await asyncio.wait_for(asyncio.gather(*lsp._async_tasks, return_exceptions=True), 10)
        if drain is not None:
            await asyncio.wait_for(drain, 10)


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass


async def until(condition: Callable[[], object], seconds: float, what: str) -> None:
    """Wait for `condition()` to be true; TimeoutError naming `what` if it does not come."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def generate_params(uri: str, text: str, name: str) -> dict[str, Any]:
    return {"textDocument": {"uri": uri},
            "position": {"line": stub_line(text, name), "character": 4}}


# -- the scenario ------------------------------------------------------------------------------


async def run_vanish(
    how: Departure, *, searches: int = 1, workdir: Path | None = None, latency: float = 0.05,
    exit_limit: float = 10.0,
) -> ScenarioFigures:
    """`run_vanish(how, *, searches=1, workdir=None, latency=0.05, exit_limit=10.0)`: run
    `searches` searches at once against a fake model answering after `latency` seconds; once
    candidates are running (they sleep) in every worker process, or for every search when
    there are fewer, the client vanishes `how` ("stdio", "stdout" or "tcp", see
    `Departure`). In `workdir`, or a temporary folder.

    Figures: `seconds` until the server exited (an error if not within `exit_limit`), `lost`
    processes left behind, and in `notes` the candidates and processes running at the time
    and the model requests made after the client vanished."""
    if workdir is not None:
        return await _vanish(how, searches, workdir, latency, exit_limit)
    with tempfile.TemporaryDirectory(prefix="vanish-") as temporary:
        return await _vanish(how, searches, Path(temporary), latency, exit_limit)


async def _vanish(how: Departure, searches: int, workdir: Path, latency: float,
                  exit_limit: float) -> ScenarioFigures:
    figures = ScenarioFigures(scenario=f"vanished client ({how})")
    started = time.monotonic()
    names = [f"nap_{i}" for i in range(searches)]
    # candidates that can run at once: one per worker, and the server has one per core
    expected = min(searches, len(os.sched_getaffinity(0)))
    sleepy = Sleepy(workdir / "marks", workdir / "hold", set(names))
    sleepy.marks.mkdir()
    sleepy.hold.touch()
    workspace = workdir / "ws"
    workspace.mkdir()
    text = stub_module(names)
    (workspace / "naps.py").write_text(text, encoding="utf-8")
    transport: Transport = "tcp" if how == "tcp" else "stdio"
    try:
        with FakeLLMServer(script(names, sleepy), latency=latency) as fake:
            options = init_options(fake, testTimeout=60, candidateTimeout=60)
            async with server(workspace, server_env(workdir), options, transport=transport,
                              name=f"vanish-{how}") as running:
                uri = running.client.open("naps.py")
                pending = [asyncio.create_task(running.client.request(
                    GENERATE, generate_params(uri, text, name))) for name in names]
                try:
                    await until(lambda: len(sleepy.pids()) >= expected
                                or any(p.done() for p in pending), 30, "candidates to run")
                    await _depart(running, how, sleepy, fake, figures, exit_limit, expected)
                finally:
                    for task in pending:
                        task.cancel()
                    await asyncio.gather(*pending, return_exceptions=True)
                logs = running.logs()
                if "the client is gone" not in logs:
                    figures.errors.append("the server did not log that the client was gone")
                if "Traceback" in logs:
                    figures.errors.append("the server logged a traceback")
            figures.requests_served = len(fake.calls)
    finally:
        sleepy.hold.unlink(missing_ok=True)
    figures.notes.append(f"whole scenario {time.monotonic() - started:.1f} s")
    return figures


async def _depart(running: Server, how: Departure, sleepy: Sleepy, fake: FakeLLMServer,
                  figures: ScenarioFigures, exit_limit: float, expected: int) -> None:
    """Vanish with candidates running; measure the exit and what is left."""
    candidates = {i for pid in sleepy.pids() if (i := identity(pid)) is not None}
    if len(candidates) < expected:
        figures.errors.append(f"only {len(candidates)} candidates ran before a search ended")
    processes = descendants(running.process.pid) | candidates
    figures.notes.append(f"{len(candidates)} candidates running, {len(processes)} processes "
                         "below the server")
    requests = fake.request_count
    vanished = time.monotonic()
    running.vanish(keep_input=how == "stdout")
    try:
        await asyncio.wait_for(running.process.wait(), exit_limit)
    except TimeoutError:
        figures.errors.append(f"the server still ran {exit_limit:.0f} s after the client "
                              "vanished")
    figures.seconds = time.monotonic() - vanished
    figures.notes.append(f"exit status {running.process.returncode}")
    left, _ = await left_behind(processes, 3.0)
    figures.lost = len(left)
    if left:
        figures.errors.append(f"{len(left)} processes left behind: {sorted(p[0] for p in left)}")
    figures.notes.append(f"{fake.request_count - requests} model requests after the client "
                         "vanished")
