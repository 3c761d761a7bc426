"""Secrets: an API key given to the language server reaches the model and nothing else.

A recognisable fake key (`sk-ant-SECRET-canary-<random>`) is configured through one route:
the environment (`ANTHROPIC_API_KEY`), the editor's `plansearch/setApiKey` notification (with
the key also in the editor's settings, which refuse it), or the config file (`api_key` in the
file `PLANSEARCH_CONFIG` names; at first under a misspelt name, which makes the settings
invalid). Then a whole search runs through a real server process, with model faults, debug
logging (`PLANSEARCH_LOG_LEVEL`, `ANTHROPIC_LOG`) and candidates run by the executor that read
their environment (`os.environ`, `/proc/self/environ`), print it and return it. Afterwards the
key is looked for, as raw bytes, in the server's log file and standard error, everything the
server sent to the client, the run store and the response cache (every file, WAL included,
during the session and after it), what the candidates saw, and every other file the session
left.

    figures = run_secrets(fault_rate=0.3, seed=5, observations=1)

Usable outside pytest: `secrets_session` is a coroutine, `run_secrets` a plain function.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pygls.exceptions import JsonRpcException

from tests.lsp.conftest import STUB, Client, init_options, server_env, session
from tests.reliability.faults_scenario import FAULT_KINDS
from tests.reliability.figures import ScenarioFigures
from tests.support.fake_llm import FakeCall, FakeLLMServer
from tests.support.plansearch_script import PlanSearchScript

Route = Literal["environment", "notification", "config file"]
ROUTES: tuple[Route, ...] = ("environment", "notification", "config file")
GENERATE = "plansearch/generate"

_PROBE = '''\
```python
import math
import os


def area(r):
    seen = "ENVIRON " + repr(sorted(os.environ.items()))
    try:
        with open("/proc/self/environ", "rb") as proc:
            seen += "\\nPROC " + proc.read().replace(b"\\0", b" ").decode("utf-8", "replace")
    except OSError as error:
        seen += "\\nPROC unreadable: " + repr(error)
    with open({seen_file!r} + str(os.getpid()), "a", encoding="utf-8") as out:
        out.write(seen + "\\n")
    ancestors = ""
    pid = os.getppid()
    while pid > 1:
        try:
            with open(f"/proc/{{pid}}/environ", "rb") as proc:
                ancestors += f"{{pid}}: " + proc.read().decode("utf-8", "replace") + "\\n"
            with open(f"/proc/{{pid}}/stat", encoding="utf-8") as stat:
                pid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            break
    with open({ancestors_file!r} + str(os.getpid()), "a", encoding="utf-8") as out:
        out.write(ancestors)
    print(seen)
    return {answer}
```
'''


def probe_code(seen: Path) -> Callable[[FakeCall], str]:
    """Code for `area` that records what it sees of its environment under `seen`, prints
    it, and returns it (or the right area, when written from a fixed sketch)."""

    def code_for(call: FakeCall) -> str:
        fixed = "fix reply" in call.messages[-1][1]
        return _PROBE.format(seen_file=str(seen / "environ-"),
                             ancestors_file=str(seen / "ancestors-"),
                             answer="math.pi * r * r" if fixed else "seen")

    return code_for


@dataclass
class SecretsRun:
    """What one route's session left, and where the key was found."""

    route: Route
    key: str
    sources: dict[str, int] = field(default_factory=dict)
    """Every place looked at, with its size in bytes."""
    leaks: list[str] = field(default_factory=list)
    """Places the key was found in."""
    result: dict[str, Any] = field(default_factory=dict)
    model_requests: int = 0
    authorized_requests: int = 0
    faults: int = 0
    candidate_views: int = 0
    """Files in which candidates wrote what they saw of their environment."""
    proc_views: int = 0
    """Of those, the ones that include the contents of /proc/self/environ."""
    debug_loggers: set[str] = field(default_factory=set)
    """Top-level loggers with debug records in the log file."""
    ancestors_hold_key: bool = False
    """A candidate could read the key in an ancestor's /proc/<pid>/environ (the server's
    own environment: isolation rlimits hides no process)."""
    log_text: str = ""
    refused: str | None = None
    """For the config file: the answer to a search while the key had a misspelt name."""
    seconds: float = 0.0


def _has_key(data: bytes, key: str) -> bool:
    """The key, or its random part, in raw bytes (also as JSON would escape nothing here)."""
    return key.encode() in data or key.rsplit("-", 1)[1].encode() in data


def _files(folder: Path) -> dict[str, bytes]:
    """Raw bytes of every file under `folder` (none if it does not exist)."""
    if not folder.is_dir():
        return {}
    return {str(path): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def _record_messages(client: Client, into: list[str]) -> None:
    """Keep the repr of every message the server sends from now on."""
    protocol = client.lsp.protocol
    handle = protocol.handle_message

    def recording(message: Any) -> Any:
        into.append(repr(message))
        return handle(message)

    protocol.handle_message = recording  # type: ignore[method-assign]


async def secrets_session(
    route: Route,
    *,
    workdir: Path,
    fault_rate: float = 0.3,
    seed: int = 5,
    observations: int = 1,
    timeout: float = 1.0,
) -> SecretsRun:
    """One session with the key given by `route`, in a fresh folder under `workdir`; then
    the hunt for the key. `observations` sizes the tree as in `faults_scenario`."""
    started = time.monotonic()
    key = f"sk-ant-SECRET-canary-{secrets.token_hex(12)}"
    run = SecretsRun(route=route, key=key)
    workspace, seen, cache = workdir / "ws", workdir / "seen", workdir / "cache"
    for folder in (workspace, seen):
        folder.mkdir(parents=True)
    (workspace / "geometry.py").write_text(STUB, encoding="utf-8")
    (workspace / "pyproject.toml").write_text("[project]\nname = 'ws'\n", encoding="utf-8")
    log_file, stderr_file = workdir / "lsp.log", workdir / "stderr.txt"
    config = workdir / "config.toml"

    env = server_env(workdir, key=key if route == "environment" else None)
    env |= {"PLANSEARCH_LOG_LEVEL": "debug", "ANTHROPIC_LOG": "debug", "OPENAI_LOG": "debug",
            "PLANSEARCH_CACHE_PATH": str(cache / "responses.sqlite3")}
    if route == "config file":  # first under a misspelt name: the settings are invalid
        config.write_text(f'anthropic_api_key = "{key}"\n', encoding="utf-8")
        env["PLANSEARCH_CONFIG"] = str(config)
    command = ["sh", "-c", 'exec "$0" -m plansearch_lsp --stdio --log-file "$1" 2>"$2"',
               sys.executable, str(log_file), str(stderr_file)]
    script = PlanSearchScript("area", first=observations, derived=1, code_for=probe_code(seen))
    sent: list[str] = []
    during: dict[str, bytes] = {}
    with FakeLLMServer(script, api_key=key, fault_rate=fault_rate, fault_kinds=FAULT_KINDS,
                       seed=seed, retry_after=0.05, hang_seconds=timeout + 1.5,
                       stable_faults=True) as fake:
        options = init_options(fake, timeout=timeout, maxRetries=2, concurrency=8)
        if route == "notification":  # also where it does not belong: refused, never logged
            options["apiKey"] = key
        async with session(workspace, env=env, options=options, command=command) as client:
            _record_messages(client, sent)
            if route == "notification":
                client.lsp.protocol.notify("plansearch/setApiKey",
                                           {"provider": "anthropic", "key": key})
            uri = client.open("geometry.py")
            params = {"textDocument": {"uri": uri}, "position": {"line": 4, "character": 4}}
            if route == "config file":
                try:
                    await client.request(GENERATE, params)
                except JsonRpcException as error:
                    run.refused = error.message
                config.write_text(f'api_key = "{key}"\n', encoding="utf-8")
            run.result = await client.request(GENERATE, {
                **params, "workDoneToken": "work", "partialResultToken": "partial"})
            await client.responsive()
            for name, data in {**_files(workspace / ".plansearch"), **_files(cache)}.items():
                during[f"{name} (during the session)"] = data
            run.log_text = client.log_text()
            said = [run.log_text, json.dumps(client.editor.progress, default=repr),
                    json.dumps(run.result), repr(client.lsp.log_messages),
                    repr(client.lsp.messages), repr(client.editor.message_requests)]
        calls = fake.calls
    run.model_requests = len(calls)
    run.authorized_requests = sum(call.authorized for call in calls)
    run.faults = sum(call.fault is not None for call in calls)

    views = {name: data for name, data in _files(seen).items() if "/environ-" in name}
    ancestors = {name: data for name, data in _files(seen).items() if "/ancestors-" in name}
    run.candidate_views = len(views)
    run.proc_views = sum(b"\nPROC PATH=" in data for data in views.values())
    if log_file.exists():
        run.debug_loggers = set(re.findall(r" DEBUG (\w+)", log_file.read_text("utf-8")))
    run.ancestors_hold_key = any(_has_key(data, key) for data in ancestors.values())
    places: dict[str, bytes] = {
        "messages to the client": "\n".join([*sent, *said]).encode(),
        **during,
        f"server stderr {stderr_file}": b"",
        f"server log file {log_file}": b"",
    }
    skip = {str(config), *ancestors}  # the key's own file; what no candidate should reach
    for name, data in _files(workdir).items():  # the log, stderr, store, cache, views, ...
        if name not in skip:
            label = next((place for place in places if place.endswith(f" {name}")), name)
            places[label] = data
    run.sources = {name: len(data) for name, data in places.items()}
    run.leaks = [name for name, data in places.items() if _has_key(data, key)]
    run.seconds = round(time.monotonic() - started, 2)
    return run


def figures_of(runs: list[SecretsRun]) -> ScenarioFigures:
    """One row for every route: places searched, faults, and every leak as an error."""
    figures = ScenarioFigures(
        scenario="secrets",
        requests_served=sum(run.authorized_requests - run.faults + 1 for run in runs),
        faults_injected=sum(run.faults for run in runs),
        inputs_tried=sum(len(run.sources) for run in runs),
        seconds=round(sum(run.seconds for run in runs), 2),
    )
    for run in runs:
        figures.notes.append(
            f"{run.route}: {len(run.sources)} places searched "
            f"({sum(run.sources.values()) // 1024} KiB), {run.model_requests} model requests "
            f"({run.authorized_requests} with the key, {run.faults} faults), "
            f"{len(run.result.get('candidates', []))} candidates, {run.candidate_views} "
            "candidate views of the environment"
            + ("; an ancestor's /proc/<pid>/environ held the key (isolation rlimits)"
               if run.ancestors_hold_key else ""))
        figures.errors += [f"{run.route}: the key leaked into {place}" for place in run.leaks]
        if run.authorized_requests == 0:
            figures.errors.append(f"{run.route}: the key never reached the model server")
        if run.candidate_views == 0:
            figures.errors.append(f"{run.route}: no candidate ran")
    return figures


async def secrets_sessions(workdir: Path, **sizes: Any) -> list[SecretsRun]:
    """`secrets_session` for every route, one after another, each in its own folder."""
    return [await secrets_session(route, workdir=workdir / str(index), **sizes)
            for index, route in enumerate(ROUTES)]


def run_secrets(
    fault_rate: float = 0.3, seed: int = 5, observations: int = 1
) -> ScenarioFigures:
    """Every route, in a temporary folder, from synchronous code; returns the figures."""
    with tempfile.TemporaryDirectory(prefix="plansearch-secrets-") as folder:
        runs = asyncio.run(secrets_sessions(Path(folder), fault_rate=fault_rate, seed=seed,
                                            observations=observations))
    return figures_of(runs)
