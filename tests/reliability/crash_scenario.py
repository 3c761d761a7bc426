"""Crash safety: `kill -9` of the server mid-search, a restart, and editor windows sharing a
workspace.

One server finishes a search and applies its best candidate (so the run store holds a
finished run), then starts a second search. The model answers that search until one code
reply has gone out, then holds every further request: with candidates running (they sleep)
and model calls in flight, and everything answered already in the response cache, the server
is killed with SIGKILL. Then the run store and the cache must open cleanly with nothing
lost, no process of the dead server may be left, and on restart `windows` servers (editor
windows) share the workspace at once: the first shows the finished run on hover and repeats
the interrupted search, which must ask the model only what was never answered; the others
run searches of their own. Nothing may say "database is locked", and every run is saved.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plansearch.store import default_store_path
from tests.lsp.conftest import init_options, server_env
from tests.reliability.figures import ScenarioFigures
from tests.reliability.vanish_scenario import (
    GENERATE,
    Identity,
    Server,
    Sleepy,
    descendants,
    generate_params,
    identity,
    left_behind,
    scratch_roots,
    script,
    server,
    stub_line,
    stub_module,
    until,
)
from tests.support.fake_llm import FakeCall, FakeLLMServer, FakeReply
from tests.support.plansearch_script import PlanSearchScript, stage_of

APPLY = "plansearch/apply"
FINISHED, INTERRUPTED = "finished", "interrupted"
LOCKED = "database is locked"


def request_key(call: FakeCall) -> str:
    """What identifies a model request: its whole body."""
    return json.dumps(call.body, sort_keys=True)


def function_of(call: FakeCall, names: Sequence[str]) -> str | None:
    """The function a request is about: the last of `names` defined in its prompt (the
    module's other functions come first, as context)."""
    found = re.findall(r"^def (\w+)\(", call.system + "\n" + call.messages[-1][1], re.MULTILINE)
    return next((name for name in reversed(found) if name in names), None)


@dataclass
class Gate:
    """Answers with `script`, and records what it answered. While `armed`, once a code reply
    and `hold_after` replies in all for `held` have gone out, every later request for `held`
    waits (in flight) until `release`."""

    script: PlanSearchScript
    names: Sequence[str]
    held: str
    hold_after: int = 1
    armed: bool = True
    answered: list[str] = field(default_factory=list)
    holding: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    _code_out: bool = False
    _out: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, call: FakeCall) -> str | FakeReply:
        key = request_key(call)
        mine = function_of(call, self.names) == self.held
        with self._lock:
            hold = self.armed and mine and self._code_out and self._out >= self.hold_after
            if hold:
                self.holding.append(key)
        if hold:
            self.release.wait(60)
            return "too late: the server that asked is gone"
        reply = self.script(call)
        with self._lock:
            self.answered.append(key)
            self._out += mine
            self._code_out |= mine and stage_of(call) == "code"
        return reply


def entries(path: Path, table: str) -> int:
    """Rows of `table` in a SQLite file another process may be writing."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
        (count,) = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
    db.close()
    return int(count)


def integrity(path: Path) -> str:
    """`PRAGMA integrity_check` of a SQLite file ("ok" when sound)."""
    db = sqlite3.connect(path, timeout=10)
    try:
        return "; ".join(row[0] for row in db.execute("PRAGMA integrity_check"))
    finally:
        db.close()


def saved_functions(store: Path) -> list[str]:
    db = sqlite3.connect(store, timeout=10)
    try:
        return sorted(row[0] for row in db.execute("SELECT qualname FROM runs"))
    finally:
        db.close()


async def run_crash(
    *, windows: int = 2, first: int = 2, derived: int = 2, workdir: Path | None = None,
    latency: float = 0.05,
) -> ScenarioFigures:
    """`run_crash(*, windows=2, first=2, derived=2, workdir=None, latency=0.05)`: the crash
    and restart described above, with `windows` servers at once after the restart, a
    PlanSearch tree of `first` first-order and `derived` derived observations per node, and a
    fake model answering after `latency` seconds. In `workdir`, or a temporary folder.

    Figures: `lost` runs, cache entries and processes; `requests_served` model requests;
    `notes` with cache entries before and after, requests answered, in flight and asked again
    for the interrupted search (`errors` when one already answered was asked again), and
    what the windows did; `seconds` for the whole scenario."""
    if workdir is not None:
        return await _crash(windows, first, derived, workdir, latency)
    with tempfile.TemporaryDirectory(prefix="crash-") as temporary:
        return await _crash(windows, first, derived, Path(temporary), latency)


async def _crash(windows: int, first: int, derived: int, workdir: Path,
                 latency: float) -> ScenarioFigures:
    figures = ScenarioFigures(scenario=f"kill -9 mid-search, {windows} windows after")
    started = time.monotonic()
    names = [FINISHED, INTERRUPTED, *(f"window_{i}" for i in range(1, windows))]
    sleepy = Sleepy(workdir / "marks", workdir / "hold", {INTERRUPTED})
    sleepy.marks.mkdir()
    sleepy.hold.touch()
    workspace = workdir / "ws"
    workspace.mkdir()
    (workspace / "stubs.py").write_text(stub_module(names), encoding="utf-8")
    env = server_env(workdir)
    cache, store = Path(env["PLANSEARCH_CACHE_PATH"]), default_store_path(workspace)
    gate = Gate(script(names, sleepy, first=first, derived=derived), names, INTERRUPTED)
    fake = FakeLLMServer(gate, latency=latency).start()
    try:
        options = init_options(fake, testTimeout=30, candidateTimeout=30)
        async with server(workspace, env, options, name="killed") as doomed:
            killed = await _finish_then_crash(doomed, gate, sleepy, cache, figures)
        answered = set(gate.answered)
        held = set(gate.holding)
        gate.armed = False
        gate.release.set()
        sleepy.hold.unlink()
        figures.notes.append(f"killed after {time.monotonic() - started:.1f} s")
        _check_files(store, cache, killed, figures, workdir / "after-kill")
        before = len(fake.calls)
        logs = killed.said + await _windows(workspace, env, options, names, figures)
        _count_repeats(fake.calls[before:], names, answered, held, figures)
        figures.requests_served = len(gate.answered)
        for path in (store, cache):
            verdict = integrity(path)
            if verdict != "ok":
                figures.errors.append(f"{path.name} after the windows: {verdict}")
        saved = saved_functions(store)
        figures.notes.append(f"runs in the store: {', '.join(saved)}")
        missing = [name for name in names if name not in saved]
        if missing:
            figures.lost += len(missing)
            figures.errors.append(f"runs not saved: {missing}")
        if LOCKED in logs:
            figures.errors.append(f'"{LOCKED}" in a log or result')
    finally:
        gate.release.set()
        sleepy.hold.unlink(missing_ok=True)
        fake.stop()
    figures.seconds = time.monotonic() - started
    return figures


@dataclass(frozen=True)
class Killed:
    """What the killed server left."""

    run_id: str
    """The finished run."""
    cached: int
    """Cache entries at the kill."""
    said: str
    """What the server logged and answered."""


async def _finish_then_crash(
    doomed: Server, gate: Gate, sleepy: Sleepy, cache: Path, figures: ScenarioFigures,
) -> Killed:
    """Search and apply, start the second search, kill the server once it is mid-search."""
    client = doomed.client
    uri = client.open("stubs.py")
    result = await client.request(GENERATE, generate_params(uri, client.text(uri), FINISHED))
    best = result["candidates"][0]
    applied = await client.request(APPLY, {"searchId": result["searchId"],
                                           "candidateId": best["id"]})
    if not (best["passesAll"] and applied["applied"] and result["runId"]):
        figures.errors.append(f"the first search did not finish and apply: {applied}")
    text = client.text(uri)
    (client.workspace / "stubs.py").write_text(text, encoding="utf-8")  # as the editor saves
    gate.hold_after = len(gate.answered) // 2  # about half the second search is answered
    pending = asyncio.create_task(client.request(
        GENERATE, generate_params(uri, text, INTERRUPTED)))
    try:
        await until(lambda: (sleepy.pids() and gate.holding) or pending.done(), 30,
                    "candidates to run and model calls to wait")
        if pending.done():
            figures.errors.append("the second search ended before the kill")
        await until(lambda: entries(cache, "replies") >= len(gate.answered), 10,
                    "the cache to hold every reply")
        processes: set[Identity] = descendants(doomed.process.pid)
        processes |= {i for pid in sleepy.pids() if (i := identity(pid)) is not None}
        roots = scratch_roots(processes)
        cached = entries(cache, "replies")
        doomed.process.kill()
        await doomed.process.wait()
    finally:
        pending.cancel()
    figures.notes.append(f"killed with {len(sleepy.pids())} candidates running, "
                         f"{len(gate.holding)} model calls in flight, {cached} replies cached")
    left, waited = await left_behind(processes, 5.0)
    if left:
        figures.lost += len(left)
        figures.errors.append(f"{len(left)} processes of the killed server left: "
                              f"{sorted(p[0] for p in left)}")
    figures.notes.append(f"{len(processes)} processes below the killed server, "
                         f"{len(processes) - len(left)} gone within {waited:.2f} s")
    with contextlib.suppress(TimeoutError):  # what is left is counted below
        await until(lambda: not any(root.exists() for root in roots), 5,
                    "the fork servers to remove their scratch folders")
    kept = [root for root in roots if root.exists()]
    figures.notes.append(f"worker scratch folders left by the killed server: {len(kept)} of "
                         f"{len(roots)}")
    if kept:
        figures.lost += len(kept)
        figures.errors.append(f"{len(kept)} worker scratch folders left on the host")
    for root in kept:
        shutil.rmtree(root, ignore_errors=True)
    return Killed(str(result["runId"]), cached, doomed.logs() + json.dumps(result))


def snapshot(path: Path, folder: Path) -> Path:
    """A copy of a SQLite file as it is, with its WAL and shared-memory files."""
    folder.mkdir(exist_ok=True)
    for part in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if part.exists():
            shutil.copyfile(part, folder / part.name)
    return folder / path.name


def _check_files(store: Path, cache: Path, killed: Killed, figures: ScenarioFigures,
                 copies: Path) -> None:
    """After the kill: both files sound, the finished run and every cached reply kept. Read
    from copies, so that the restarted servers are the first to open (and recover) the
    files themselves."""
    store, cache = snapshot(store, copies), snapshot(cache, copies)
    for path in (store, cache):
        verdict = integrity(path)
        if verdict != "ok":
            figures.errors.append(f"{path.name} after the kill: {verdict}")
    db = sqlite3.connect(store, timeout=10)
    try:
        kept = db.execute("SELECT COUNT(*) FROM runs WHERE id = ?",
                          (killed.run_id,)).fetchone()[0]
    finally:
        db.close()
    if not kept:
        figures.lost += 1
        figures.errors.append("the finished run was lost")
    after = entries(cache, "replies")
    figures.notes.append(f"cache entries: {killed.cached} at the kill, {after} after it")
    if after < killed.cached:
        figures.lost += killed.cached - after
        figures.errors.append(f"{killed.cached - after} cache entries lost")


async def _windows(workspace: Path, env: dict[str, str], options: dict[str, Any],
                   names: Sequence[str], figures: ScenarioFigures) -> str:
    """`len(names) - 1` servers at once on the workspace: the first hovers over the applied
    function and repeats the interrupted search, the others search their own function.
    Returns what they logged and answered."""

    async def window(index: int) -> str:
        async with server(workspace, env, options, name=f"window-{index}") as running:
            client = running.client
            uri = client.open("stubs.py")
            text = client.text(uri)
            said = ""
            if index == 0:
                hover = await client.hover(uri, stub_line(text, FINISHED))
                shown = hover is not None and "PlanSearch candidate" in str(hover.contents)
                figures.notes.append(f"hover after the restart shows the finished run: {shown}")
                if not shown:
                    figures.errors.append("hover after the restart does not show the run")
            name = names[index + 1]
            result = await client.request(GENERATE, generate_params(uri, text, name))
            said = json.dumps(result)
            figures.notes.append(f"window {index}: {name} {result['finishReason']}, "
                                 f"{len(result['candidates'])} candidates, run saved: "
                                 f"{bool(result['runId'])}")
            if not result["runId"] or result["finishReason"] != "completed":
                figures.errors.append(f"window {index}: {result['finishReason']}, "
                                      f"{result['message']}")
            return said + running.logs()

    said = await asyncio.gather(*(window(i) for i in range(len(names) - 1)))
    return "\n".join(said)


def _count_repeats(calls: Sequence[FakeCall], names: Sequence[str], answered: set[str],
                   held: set[str], figures: ScenarioFigures) -> None:
    """Of the requests for the interrupted search after the restart: none answered before."""
    again = [request_key(c) for c in calls if function_of(c, names) == INTERRUPTED]
    repeated = sum(key in answered for key in again)
    in_flight = sum(key in held for key in again)
    figures.notes.append(
        f"{len(answered)} requests answered before the kill, {len(held)} in flight; "
        f"for the interrupted search after the restart {len(again)} asked ({in_flight} of those "
        f"in flight, {repeated} already answered)")
    if repeated:
        figures.errors.append(f"{repeated} requests answered before the kill were asked again")
