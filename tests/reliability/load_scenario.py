"""Load: concurrent searches in one workspace while the editor keeps asking for code actions
and hovers, then successive searches, to see whether the server's memory grows.

One real server process (`python -m plansearch_lsp`) and one client, as in an editor (one
editor sends both kinds of traffic). The client keeps `searches` PlanSearch searches running
at once, each on its own stub of one module and each followed by the next search of that stub
until `duration` is over, and meanwhile sends code-action and hover requests at a steady
`rate`, open loop (a request goes out on its tick whether or not earlier ones were answered),
timing each answer. Every search is real: the loopback model server, in a process of its own,
plays the whole conversation with some latency, and the executor runs every candidate against
the stub's docstring example. Before each search the client edits its stub's docstring (a
round number), as a user would between searches, so that no search is answered from the
response cache.

Then `successive` searches run one after another, and after each the resident memory of the
server and of the processes below it (the executor's fork servers) is read from /proc.

    run = measure_load(searches=4, duration=30.0, rate=20.0, successive=10)
    figures = run.figures            # or: figures = run_load(...)
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import re
import shutil
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from plansearch.store import RunStore, StoreError, default_store_path
from tests.lsp.conftest import Client, server_env, session
from tests.reliability.figures import ScenarioFigures
from tests.reliability.vanish_scenario import descendants

if TYPE_CHECKING:
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Event

    from tests.support.fake_llm import FakeCall

GENERATE = "plansearch/generate"
APPLY = "plansearch/apply"
SEARCH_TIMEOUT = 60.0
"""Seconds one search may take under load before it counts as an error."""
REQUEST_TIMEOUT = 30.0
"""Seconds an interactive request may stay unanswered after the load ends."""
P99_TARGET_MS = 50.0
"""The language server's target for interactive requests (docs/performance.md)."""
_MODULE_HEAD = '"""Scaling helpers: one stub per search, and one a first search fills in."""\n'
_STUB = '''

def scale_{i}(x: int) -> int:
    """Scale {i}: x times {factor}, round 0.

    >>> scale_{i}(3)
    {product}
    """
    ...
'''
_ENTRY = re.compile(r"Implement this function:\n```python\ndef (scale_(\d+))\(")


def factor(i: int) -> int:
    return i + 2


def module_text(stubs: int) -> str:
    """The module: stub 0 (filled in first, for hover to explain) and stubs 1..`stubs`."""
    return _MODULE_HEAD + "".join(
        _STUB.format(i=i, factor=factor(i), product=3 * factor(i)) for i in range(stubs + 1))


def scale_code(call: FakeCall) -> str:
    """Code for the stub the conversation is about: right when written from a fixed sketch,
    wrong otherwise."""
    found = _ENTRY.search(call.system)
    if found is None:
        raise AssertionError("no stub in the system prompt")
    name, index = found.group(1), int(found.group(2))
    operator = "*" if "fix reply" in call.messages[-1][1] else "+"
    return f"```python\ndef {name}(x):\n    return x {operator} {factor(index)}\n```"


def serve_fake(latency: float, ports: Queue[int], stop: Event) -> None:
    """The loopback model server, in this process, until `stop` is set (at most an hour)."""
    from tests.support.fake_llm import FakeLLMServer
    from tests.support.plansearch_script import PlanSearchScript

    script = PlanSearchScript("scale_1", first=3, derived=2, code_for=scale_code)
    with FakeLLMServer(script, latency=latency) as server:
        ports.put(server.port)
        stop.wait(3600)


def rss_mb(pid: int) -> float:
    """Resident memory of one process, in MB (0 when it is gone)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def memory(pid: int) -> tuple[float, float]:
    """(RSS of the server, RSS of the server and every process below it), in MB."""
    own = rss_mb(pid)
    return own, own + sum(rss_mb(child) for child, _ in descendants(pid))


@dataclass
class LoadRun:
    """What one run of the scenario measured and saw."""

    searches: int
    duration: float
    rate: float
    errors: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    """Latency of each interactive request answered during the load."""
    served: int = 0
    sent: int = 0
    under_load: int = 0
    """Searches that finished during the load phase."""
    completed: int = 0
    """Searches that finished with a proper answer (first, load and successive ones)."""
    most_at_once: int = 0
    calls: int = 0
    candidates: int = 0
    run_ids: list[str] = field(default_factory=list)
    memory_mb: list[tuple[float, float]] = field(default_factory=list)
    """(server, server with fork servers) after each successive search."""
    seconds: float = 0.0

    @property
    def figures(self) -> ScenarioFigures:
        figures = ScenarioFigures(scenario="load", requests_served=self.served,
                                  latencies_ms=list(self.latencies_ms),
                                  p99_target_ms=P99_TARGET_MS,
                                  errors=list(self.errors), seconds=self.seconds)
        if self.memory_mb:
            first, last = self.memory_mb[0][1], self.memory_mb[-1][1]
            figures.memory_mb = (f"RSS {first:.1f} → {last:.1f} MB over "
                                 f"{len(self.memory_mb)} searches")
        figures.notes.append(
            f"{self.sent} code actions and hovers at {self.rate:g}/s for {self.duration:g} s "
            f"beside {self.searches} searches at once ({self.under_load} finished meanwhile); "
            f"{self.completed} searches in all, {self.calls} model calls, "
            f"{self.candidates} candidates")
        figures.notes.append("memory after each successive search, server / with fork "
                             "servers (MB): " + ", ".join(f"{own:.1f}/{total:.1f}"
                                                          for own, total in self.memory_mb))
        return figures


class _Editor:
    """The client side: one editor with one module of stubs."""

    def __init__(self, client: Client, stubs: int, run: LoadRun) -> None:
        self.client = client
        self.stubs = stubs
        self.run = run
        self.uri = client.open("scaling.py")
        self.lines: dict[int, int] = {}
        self.rounds: dict[int, int] = {}
        self.in_flight = 0
        self._locate()

    def _locate(self) -> None:
        """The 0-based line of each function's `def` in the client's text."""
        for number, line in enumerate(self.client.text(self.uri).splitlines()):
            found = re.match(r"def scale_(\d+)\(", line)
            if found:
                self.lines[int(found.group(1))] = number

    def _next_round(self, i: int) -> int:
        """Edit stub `i`'s docstring (a new round): its next search is a new problem."""
        number = self.rounds[i] = self.rounds.get(i, 0) + 1
        text = re.sub(rf"(Scale {i}: x times \d+, round )\d+\.", rf"\g<1>{number}.",
                      self.client.text(self.uri))
        self.client.change(self.uri, text)
        return number

    async def search(self, i: int) -> dict[str, Any] | None:
        """One search of stub `i`, checked with its progress and partial results (they must
        be this search's, not another's); None when it failed."""
        number = self._next_round(i)
        name, work, partial = f"scale_{i}", f"work-{i}-{number}", f"partial-{i}-{number}"
        params = {"textDocument": {"uri": self.uri},
                  "position": {"line": self.lines[i] + 1, "character": 4},
                  "workDoneToken": work, "partialResultToken": partial}
        self.in_flight += 1
        self.run.most_at_once = max(self.run.most_at_once, self.in_flight)
        try:
            result: dict[str, Any] = await asyncio.wait_for(
                self.client.lsp.protocol.send_request_async(GENERATE, params), SEARCH_TIMEOUT)
        except Exception as error:
            self.run.errors.append(f"search of {name} round {number} failed: {error!r}")
            return None
        finally:
            self.in_flight -= 1
        problems = _search_problems(result, name, self.client.editor.progress, work, partial)
        self.run.errors += [f"search of {name} round {number}: {p}" for p in problems]
        self.run.completed += 1
        self.run.calls += result["stats"]["calls"]
        self.run.candidates += len(result["candidates"])
        if result["runId"]:
            self.run.run_ids.append(result["runId"])
        return result

    async def keep_searching(self, i: int, until: float) -> None:
        """Search stub `i` again and again until the monotonic time `until`."""
        while time.monotonic() < until:
            if await self.search(i) is None:
                return
            self.run.under_load += 1

    async def interact(self, until: float, rate: float) -> None:
        """Code actions (in a stub) and hovers (over the filled-in function), alternately, one
        every 1/`rate` seconds until `until`, without waiting for earlier answers."""
        pending: set[asyncio.Task[None]] = set()
        start = time.monotonic()
        while (due := start + self.run.sent / rate) < until:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            request = self._hover if self.run.sent % 2 else self._code_action
            task = asyncio.create_task(self._timed(request(self.run.sent)))
            pending.add(task)
            task.add_done_callback(pending.discard)
            self.run.sent += 1
        if pending:
            _, late = await asyncio.wait(pending, timeout=REQUEST_TIMEOUT)
            for task in late:
                task.cancel()
            if late:
                self.run.errors.append(f"{len(late)} requests unanswered after "
                                       f"{REQUEST_TIMEOUT:g} s")

    async def _timed(self, request: Awaitable[str | None]) -> None:
        started = time.perf_counter()
        try:
            problem = await request
        except Exception as error:
            problem = f"a request failed: {error!r}"
        if problem is None:
            self.run.latencies_ms.append((time.perf_counter() - started) * 1000)
            self.run.served += 1
        else:
            self.run.errors.append(problem)

    async def _code_action(self, count: int) -> str | None:
        stub = 1 + (count // 2) % self.stubs
        actions = await self.client.code_actions(self.uri, (self.lines[stub] + 1, 4))
        if [action.title for action in actions] != ["Generate via PlanSearch"]:
            return f"code action in scale_{stub}: {actions!r}"
        return None

    async def _hover(self, count: int) -> str | None:
        shown = await self.client.hover(self.uri, self.lines[0])
        if not (isinstance(shown, types.Hover) and isinstance(shown.contents, types.MarkupContent)
                and "PlanSearch candidate" in shown.contents.value):
            return f"hover over scale_0: {shown!r}"
        return None

    async def fill_first(self) -> None:
        """Search stub 0 and apply its best candidate, for hover to explain; then a few
        requests of each kind, as an editor sends meanwhile (the first of a kind is slow)."""
        result = await self.search(0)
        if result is None or not result["candidates"]:
            raise RuntimeError("the first search failed: " + "; ".join(self.run.errors))
        applied = await self.client.request(APPLY, {
            "searchId": result["searchId"], "candidateId": result["candidates"][0]["id"]})
        if not applied.get("applied"):
            raise RuntimeError(f"the first candidate was not applied: {applied}")
        self._locate()
        for count in range(10):
            request = self._hover if count % 2 else self._code_action
            problem = await request(count)
            if problem is not None:
                raise RuntimeError(problem)


def _search_problems(
    result: dict[str, Any], name: str, progress: dict[Any, list[Any]], work: str, partial: str
) -> list[str]:
    """What is wrong with one search's answer and with what its tokens carried."""
    problems = []
    if result["target"] != name:
        problems.append(f"the result is for {result['target']}")
    if result["finishReason"] != "completed" or result["errors"]:
        problems.append(f"finished {result['finishReason']}: {result['errors']}")
    if not result["runId"]:
        problems.append("the run was not saved")
    codes = [candidate["code"] for candidate in result["candidates"]]
    if not codes or any(f"def {name}(" not in code for code in codes):
        problems.append(f"{len(codes)} candidates, not all for {name}")
    if not any(candidate["passesAll"] for candidate in result["candidates"]):
        problems.append("no candidate passes the docstring example")
    reports = progress.get(work, [])
    if (not reports or reports[0].get("title") != f"PlanSearch: {name}"
            or reports[-1].get("kind") != "end"):
        problems.append(f"progress on {work}: {reports[:1]} ... {reports[-1:]}")
    streamed = {item["id"] for value in progress.get(partial, []) for item in value["candidates"]}
    if streamed != {candidate["id"] for candidate in result["candidates"]}:
        problems.append(f"the partial results on {partial} are not this search's candidates")
    return problems


def _log_problems(client: Client, log_file: Path) -> list[str]:
    """Errors and warnings the server sent the client or wrote to its log file."""
    problems = [f"server said: {message.message.splitlines()[0]}"
                for message in client.lsp.log_messages
                if message.type in (types.MessageType.Error, types.MessageType.Warning)]
    problems += [f"server showed: {message.message}" for message in client.lsp.messages]
    if log_file.exists():
        problems += [f"log file: {line}" for line in log_file.read_text().splitlines()
                     if any(level in line for level in (" ERROR ", " WARNING ", " CRITICAL "))
                     or line.startswith("Traceback")]
    return problems


def _lost_runs(workspace: Path, run_ids: list[str]) -> list[str]:
    """Runs a search reported saved that the run store does not give back."""
    try:
        with RunStore(default_store_path(workspace)) as store:
            return [f"run {run_id} is not in the run store" for run_id in run_ids
                    if store.load_run(run_id) is None]
    except StoreError as error:
        return [f"the run store cannot be read: {error}"]


async def _scenario(port: int, run: LoadRun, successive: int, folder: Path) -> None:
    workspace = folder / "ws"
    workspace.mkdir()
    (workspace / "scaling.py").write_text(module_text(run.searches), encoding="utf-8")
    (workspace / "pyproject.toml").write_text("[project]\nname = 'ws'\n", encoding="utf-8")
    options = {"baseUrl": f"http://127.0.0.1:{port}", "budget": "quick", "timeout": 30,
               "maxRetries": 0, "isolation": "auto", "concurrency": 4}
    async with session(workspace, env=server_env(folder / "env"), options=options) as client:
        assert client.lsp._server is not None
        pid = client.lsp._server.pid
        editor = _Editor(client, run.searches, run)
        await editor.fill_first()

        until = time.monotonic() + run.duration
        await asyncio.gather(editor.interact(until, run.rate),
                             *(editor.keep_searching(i, until)
                               for i in range(1, run.searches + 1)))

        for index in range(successive):
            await editor.search(1 + index % run.searches)
            run.memory_mb.append(memory(pid))
        run.errors += _log_problems(client, folder / "ws-lsp.log")
    run.errors += _lost_runs(workspace, run.run_ids)


def measure_load(searches: int = 4, duration: float = 30.0, rate: float = 20.0,
                 successive: int = 10, latency: float = 0.1) -> LoadRun:
    """Run the scenario: `searches` searches at once for `duration` seconds while code
    actions and hovers (alternately) go out at `rate` per second, then `successive` searches
    one after another, reading the memory after each. Model replies take `latency` seconds.
    """
    started = time.monotonic()
    run = LoadRun(searches=searches, duration=duration, rate=rate)
    context = multiprocessing.get_context("spawn")
    ports: Queue[int] = context.Queue()
    stop = context.Event()
    fake = context.Process(target=serve_fake, args=(latency, ports, stop), daemon=True)
    fake.start()
    folder = Path(tempfile.mkdtemp(prefix="load-scenario-"))
    try:
        asyncio.run(_scenario(ports.get(timeout=30), run, successive, folder))
    finally:
        stop.set()
        fake.join(timeout=5)
        if fake.is_alive():
            fake.kill()
        shutil.rmtree(folder, ignore_errors=True)
    run.seconds = time.monotonic() - started
    return run


def run_load(searches: int = 4, duration: float = 30.0, rate: float = 20.0,
             successive: int = 10, latency: float = 0.1) -> ScenarioFigures:
    """`measure_load(searches, duration, rate, successive, latency)` as figures: the
    interactive requests served and their latencies (p50/p99), the memory of the server with
    its fork servers as "RSS a → b MB over N searches" (after the first and the last of the
    successive searches), and every error seen in an answer, in the server's log or in the
    run store."""
    return measure_load(searches, duration, rate, successive, latency).figures
