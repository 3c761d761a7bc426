"""Model faults mid-search, through the language server.

A real server process runs a whole PlanSearch (`plansearch/generate`) against the loopback
model server, which fails a seeded share of requests with every kind of fault the issue
lists: 429 with retry-after, 529, 500, a hang past the client's timeout, a body cut short,
an empty reply and a body that is not JSON. Faults are drawn per request body
(`stable_faults`), so a seed gives the same faults on every run whatever order the calls
race in. The search must finish, keep every candidate it finished, and say what failed.

    figures = run_faults(fault_rate=0.3, seed=11, observations=3)

Usable outside pytest: `fault_session` is a coroutine, `run_faults` a plain function.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.lsp.conftest import STUB, area_code, init_options, server_env, session
from tests.reliability.figures import ScenarioFigures
from tests.support.fake_llm import FakeLLMServer, Fault
from tests.support.plansearch_script import PlanSearchScript

GENERATE = "plansearch/generate"

FAULT_KINDS = (Fault.RATE_LIMIT, Fault.OVERLOADED, Fault.SERVER_ERROR, Fault.HANG,
               Fault.TRUNCATED, Fault.EMPTY, Fault.MALFORMED)
"""Every fault the issue lists."""

ENGINE_KINDS: dict[Fault, str] = {
    Fault.RATE_LIMIT: "rate_limited",
    Fault.OVERLOADED: "overloaded",
    Fault.SERVER_ERROR: "server_error",
    Fault.HANG: "timed_out",
    Fault.TRUNCATED: "malformed_reply",
    Fault.MALFORMED: "malformed_reply",
    Fault.EMPTY: "empty_reply",
}
"""How the engine names each fault in `stats.faults` (an empty reply is also counted in
`stats.emptyReplies`)."""


@dataclass
class FaultRun:
    """Everything one run saw: the final result, the candidates streamed on the way, and
    the faults the model server served."""

    figures: ScenarioFigures
    result: dict[str, Any]
    streamed: set[str]
    injected: Counter[Fault] = field(default_factory=Counter)
    requests: int = 0
    max_retries: int = 0


def expected_faults(injected: Counter[Fault]) -> Counter[str]:
    """The `stats.faults` a search should report for the faults the server served."""
    expected: Counter[str] = Counter()
    for fault, count in injected.items():
        if fault in ENGINE_KINDS:
            expected[ENGINE_KINDS[fault]] += count
    return expected


def faults_match(
    reported: dict[str, int], injected: Counter[Fault], *, stopped_early: bool = False
) -> bool:
    """The search counted every fault served, by kind. A reply slowed past the timeout by
    a loaded machine is one more `timed_out` than the hangs served; a search that stopped
    early (at its candidate limit) cancels the calls still waiting, a hang among them, which
    then never times out."""
    expected = expected_faults(injected)
    others = {kind: count for kind, count in reported.items() if kind != "timed_out"}
    timed_out = reported.get("timed_out", 0)
    return (others == {kind: n for kind, n in expected.items() if kind != "timed_out"}
            and (stopped_early or timed_out >= expected["timed_out"]))


async def fault_session(
    fault_rate: float,
    seed: int,
    observations: int = 3,
    *,
    workdir: Path,
    max_retries: int = 2,
    timeout: float = 1.0,
    concurrency: int = 8,
) -> FaultRun:
    """One search of `area` in a fresh workspace under `workdir`.

    `observations` sizes the tree: first-order observations at the root, each a node with a
    sketch and a fixed sketch (budget "quick": one layer), so a search without faults writes
    2 * (observations + 1) candidates in 4 + 5 * (observations + 1) model calls. Calls time
    out after `timeout` seconds (a hang lasts 1.5 s longer) and are retried `max_retries`
    times. Figures: faults injected (requests the model server failed), faults survived
    (those a retry recovered from), requests served (model requests answered properly, and
    the search request), lost (candidates streamed but missing from the final result).
    """
    started = time.monotonic()
    workspace = workdir / "ws"
    workspace.mkdir(parents=True)
    (workspace / "geometry.py").write_text(STUB, encoding="utf-8")
    (workspace / "pyproject.toml").write_text("[project]\nname = 'ws'\n", encoding="utf-8")
    script = PlanSearchScript("area", first=observations, derived=2, code_for=area_code)
    most = 2 * (observations + 1)
    with FakeLLMServer(script, fault_rate=fault_rate, fault_kinds=FAULT_KINDS, seed=seed,
                       retry_after=0.05, hang_seconds=timeout + 1.5,
                       stable_faults=True) as fake:
        env = {**server_env(workdir), "PLANSEARCH_OBSERVATIONS": str(observations)}
        options = init_options(fake, timeout=timeout, maxRetries=max_retries,
                               concurrency=concurrency, maxCalls=20 * (observations + 2),
                               maxCandidates=most)
        async with session(workspace, env=env, options=options) as client:
            uri = client.open("geometry.py")
            result = await client.request(GENERATE, {
                "textDocument": {"uri": uri}, "position": {"line": 4, "character": 4},
                "workDoneToken": "work", "partialResultToken": "partial"})
            streamed = {value["candidates"][0]["id"]
                        for value in client.editor.progress.get("partial", [])}
        calls = fake.calls
    injected = Counter(call.fault for call in calls if call.fault is not None)
    stats = result["stats"]
    candidates = result["candidates"]
    kept = {candidate["id"] for candidate in candidates}
    failed_attempts = stats["failedCalls"] * (max_retries + 1)
    figures = ScenarioFigures(
        scenario="model faults",
        requests_served=len(calls) - sum(injected.values()) + 1,
        faults_injected=sum(injected.values()),
        faults_survived=sum(stats["faults"].values()) - failed_attempts,
        lost=len(streamed - kept),
        seconds=round(time.monotonic() - started, 2),
    )
    figures.notes += [
        f"fault rate {fault_rate:.0%}, seed {seed}, {observations} observations, "
        f"{max_retries} retries, timeout {timeout:g} s",
        f"{len(calls)} model requests, faults: " + ", ".join(
            f"{fault.value} {count}" for fault, count in sorted(injected.items())),
        f"{len(candidates)} of {most} candidates returned; {stats['recoveredCalls']} calls "
        f"recovered on a retry, {stats['failedCalls']} failed, {stats['emptyReplies']} empty "
        f"replies, {stats['droppedBranches']} branches dropped",
    ]
    if result["finishReason"] not in ("completed", "max_candidates"):  # both end normally
        figures.errors.append(f"finished with {result['finishReason']}: {result['message']}")
    if not candidates:
        figures.errors.append(f"no candidates at {fault_rate:.0%} faults")
    stopped_early = result["finishReason"] == "max_candidates"
    if not faults_match(stats["faults"], injected, stopped_early=stopped_early):
        figures.errors.append(f"faults reported {stats['faults']} but served "
                              f"{dict(expected_faults(injected))}")
    if figures.lost:
        figures.errors.append(f"{figures.lost} streamed candidates missing from the result")
    return FaultRun(figures=figures, result=result, streamed=streamed, injected=injected,
                    requests=len(calls), max_retries=max_retries)


def run_faults(
    fault_rate: float, seed: int, observations: int = 3, *, max_retries: int = 2,
    timeout: float = 1.0,
) -> ScenarioFigures:
    """`fault_session` in a temporary folder, from synchronous code; returns its figures."""
    with tempfile.TemporaryDirectory(prefix="plansearch-faults-") as folder:
        run = asyncio.run(fault_session(fault_rate, seed, observations, workdir=Path(folder),
                                        max_retries=max_retries, timeout=timeout))
    return run.figures
