"""Does the language server stay responsive while a search runs, and how much memory does it use?

Starts the real server process (`python -m plansearch_lsp`) with a client, and the loopback
model server in a process of its own. A first quick search is applied, so that hover has
generated code to explain. Then a long search runs (slow replies, the paper's full tree)
while the client sends code-action and hover requests one after another; it prints their
latency (p50, p99, max) and the server's memory (RSS) at rest and during the search, with
and without the executor's worker processes. Target: p99 < 50 ms.

    .venv/bin/python benchmarks/bench_lsp.py [--requests 300] [--latency 0.2] [--lines 600]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lsprotocol import types
from rich.console import Console
from rich.table import Table

from tests.lsp.conftest import Client, server_env, session

MODULE_HEAD = '''\
"""A module of realistic size with two stubs."""
import math


def area(r: float) -> float:
    """Area of a circle of radius r.

    >>> area(1.0)
    3.141592653589793
    """
    ...


def volume(r: float) -> float:
    """Volume of a ball of radius r.

    >>> round(volume(1.0), 6)
    4.18879
    """
    ...
'''
FILLER = '''

def helper_{i}(values: list[int]) -> int:
    """Sum of the even values, plus {i}."""
    total = {i}
    for value in values:
        if value % 2 == 0:
            total += value
    return total
'''


def code_for(call: Any) -> str:
    """Code for whichever stub the prompt is about (right after a fix, wrong before)."""
    prompt = call.messages[-1][1]
    fixed = "fix reply" in prompt
    if "def volume" in prompt or "volume(" in prompt:
        body = "4 / 3 * math.pi * r ** 3" if fixed else "math.pi * r ** 3"
        return f"```python\nimport math\n\ndef volume(r):\n    return {body}\n```"
    body = "math.pi * r * r" if fixed else "2 * math.pi * r"
    return f"```python\nimport math\n\ndef area(r):\n    return {body}\n```"


def serve(latency: multiprocessing.Value, ports: multiprocessing.Queue,  # type: ignore[type-arg]
          stop: multiprocessing.Event) -> None:  # type: ignore[type-arg]
    """The fake model server, in this process, until `stop` is set."""
    from tests.support.fake_llm import FakeLLMServer
    from tests.support.plansearch_script import PlanSearchScript

    server = FakeLLMServer(PlanSearchScript("area", first=4, derived=3, code_for=code_for))
    with server:
        ports.put(server.port)
        while not stop.wait(0.05):
            server.latency = latency.value


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    """Every descendant process of `pid`."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *children(int(child))]
    return found


def memory(pid: int) -> tuple[float, float]:
    """(server RSS, server plus descendants RSS), in MB."""
    own = rss_kb(pid)
    total = own
    for child in children(pid):
        with contextlib.suppress(OSError):  # it ended meanwhile
            total += rss_kb(child)
    return own / 1024, total / 1024


def at(uri: str, line: int) -> dict[str, Any]:
    return {"textDocument": {"uri": uri}, "position": {"line": line, "character": 4}}


async def timed(samples: list[float], request: Any) -> Any:
    started = time.perf_counter()
    result = await request
    samples.append((time.perf_counter() - started) * 1000)
    return result


async def bench(port: int, latency: Any, requests: int, reply_latency: float,
                lines: int) -> dict[str, Any]:
    workspace = Path(tempfile.mkdtemp(prefix="bench-lsp-"))
    source = MODULE_HEAD + "".join(FILLER.format(i=i) for i in range(lines // 9))
    (workspace / "shapes.py").write_text(source, encoding="utf-8")
    options = {"baseUrl": f"http://127.0.0.1:{port}", "budget": "quick", "timeout": 60,
               "maxRetries": 0, "isolation": "auto", "concurrency": 4}
    figures: dict[str, Any] = {"lines": source.count("\n")}
    async with session(workspace, env=server_env(workspace.parent / f"{workspace.name}-env"),
                       options=options) as client:
        assert client.lsp._server is not None
        pid = client.lsp._server.pid
        uri = client.open("shapes.py")
        await client.code_actions(uri, (4, 4))
        await asyncio.sleep(1.0)
        figures["rest"] = memory(pid)

        first = await client.request("plansearch/generate", at(uri, 4))
        await client.request("plansearch/apply", {"searchId": first["searchId"],
                                                  "candidateId": first["candidates"][0]["id"]})
        volume_line = next(i for i, text in enumerate(client.text(uri).splitlines())
                           if text.startswith("def volume"))
        figures["after"] = memory(pid)
        figures["idle"] = await measure(client, uri, volume_line, requests, pid)

        latency.value = reply_latency
        search = asyncio.create_task(client.request(
            "plansearch/generate", {**at(uri, volume_line), "overrides": {"budget": "full"}},
            msg_id="long"))
        await asyncio.sleep(1.0)
        figures["busy"] = await measure(client, uri, volume_line, requests, pid)
        figures["search_done"] = search.done()
        client.lsp.cancel_request(types.CancelParams(id="long"))
        stopped = await search
        figures["long_search"] = (stopped["finishReason"], stopped["stats"]["calls"],
                                  len(stopped["candidates"]))
    return figures


async def measure(
    client: Client, uri: str, stub_line: int, requests: int, pid: int
) -> tuple[list[float], list[float], tuple[float, float]]:
    """Latencies of code actions (in a stub) and hovers (over generated code), and the
    peak memory meanwhile."""
    actions: list[float] = []
    hovers: list[float] = []
    peak = (0.0, 0.0)
    for index in range(requests):
        found = await timed(actions, client.code_actions(uri, (stub_line, 4)))
        assert len(found) == 1
        shown = await timed(hovers, client.hover(uri, 4))
        assert isinstance(shown, types.Hover)
        if index % 20 == 0:
            peak = max(peak, memory(pid))
    return actions, hovers, peak


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def report(figures: dict[str, Any], console: Console) -> None:
    table = Table(title=f"Request latency ({figures['lines']}-line module)")
    for column in ("request", "while", "n", "p50 ms", "p99 ms", "max ms", "mean ms"):
        table.add_column(column, justify="left" if column in ("request", "while") else "right")
    for key, label in (("idle", "idle"), ("busy", "a search runs")):
        actions, hovers, _ = figures[key]
        for name, samples in (("codeAction", actions), ("hover", hovers)):
            table.add_row(name, label, str(len(samples)), f"{percentile(samples, 0.5):.1f}",
                          f"{percentile(samples, 0.99):.1f}", f"{max(samples):.1f}",
                          f"{statistics.fmean(samples):.1f}")
    console.print(table)
    memory_table = Table(title="Memory (RSS, MB)")
    for column in ("when", "server", "server + workers"):
        memory_table.add_column(column, justify="right" if column != "when" else "left")
    peaks = {"rest": figures["rest"], "after": figures["after"], "during": figures["busy"][2]}
    for label, key in (("at rest (started, document open)", "rest"),
                       ("after a first search", "after"), ("during a search (peak)", "during")):
        own, total = peaks[key]
        memory_table.add_row(label, f"{own:.0f}", f"{total:.0f}")
    console.print(memory_table)
    reason, calls, candidates = figures["long_search"]
    running = "still running" if not figures["search_done"] else "already finished"
    console.print(f"the long search was {running} when the requests ended; then cancelled: "
                  f"{reason}, {calls} calls, {candidates} candidates kept")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="code actions (and hovers)")
    parser.add_argument("--latency", type=float, default=0.2,
                        help="seconds the model server takes per reply in the long search")
    parser.add_argument("--lines", type=int, default=600, help="size of the module")
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    latency = context.Value("d", 0.0)
    ports: multiprocessing.Queue[int] = context.Queue()
    stop = context.Event()
    fake = context.Process(target=serve, args=(latency, ports, stop), daemon=True)
    fake.start()
    try:
        figures = asyncio.run(bench(ports.get(timeout=30), latency, args.requests,
                                    args.latency, args.lines))
    finally:
        stop.set()
        fake.join(timeout=5)
    report(figures, Console())


if __name__ == "__main__":
    main()
