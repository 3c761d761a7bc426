"""The bench on a real Ray cluster: a head and a worker node on loopback, inside a private
network and PID namespace (so nothing leaves 127.0.0.1, and stopping the cluster cannot touch a
process outside it), against the loopback model server.

The scenario runs inside the namespace (`python -m tests.test_ray OUT`): the bench of a HumanEval
slice twice locally (the first run fills the response cache, the second is the local report),
then on the cluster with the same cache while the worker node is killed mid-run, then once more
on the cluster, interrupted with Ctrl-C. The test reads what it wrote and checks it.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from plansearch.bench.cluster import require_ray
from plansearch.bench.cluster.gate import CallGate
from plansearch.bench.cluster.ledger import Ledger
from plansearch.bench.humaneval import Task, load_tasks
from plansearch.bench.report import BenchReport, figures, summarize
from plansearch.bench.runner import CandidateOutcome, ProblemOutcome
from plansearch.bench.tasks import BenchError
from plansearch.models.errors import RateLimited
from tests.support.fake_llm import FakeCall, FakeLLMServer
from tests.support.plansearch_script import PlanSearchScript

ROOT = Path(__file__).resolve().parent.parent
HEAD_PORT = 29380
"""Outside Ray's worker ports (10002-19999)."""
FAST_NODE_DEATH = ("RAY_health_check_period_ms=500 RAY_health_check_timeout_ms=500 "
                   "RAY_health_check_failure_threshold=3")
"""A lost node is declared dead in about 2 s (Ray's default: about 15 s)."""
SLICE = ("--problems", "0:12", "--strategy", "repeated", "--samples", "3", "--budget", "quick",
         "--k", "1,2")
_TARGET = re.compile(r"Implement this function:\n```python\n(?:@.*\n)*(?:async )?def (\w+)\(")
_KEEP = re.compile(r"gcs_server|raylet|dashboard|log_monitor|monitor\.py|client\.server|"
                   r"ray::IDLE|DashboardAgent|RuntimeEnvAgent|^bash|^ps\b")


class HumanEvalModel:
    """Plays every PlanSearch stage; code is the problem's canonical solution, or code that
    returns None, chosen by a hash of the conversation, so the same request always gets the
    same reply. Each program first sleeps `sleep` seconds (once per process), to make a
    problem's test runs take a known time."""

    def __init__(self, sleep: float = 0.0) -> None:
        self._by_entry: dict[str, Task] = {task.entry_point: task for task in load_tasks()}
        self._sleep = sleep
        self._stages = PlanSearchScript(entry_point="unused", first=2, derived=1,
                                        code_for=self._code)

    def __call__(self, call: FakeCall) -> str:
        reply = self._stages(call)
        assert isinstance(reply, str)
        return reply

    def _code(self, call: FakeCall) -> str:
        match = _TARGET.search(call.system)
        assert match, "the system prompt names the function to write"
        task = self._by_entry[match.group(1)]
        conversation = "\n".join(text for _, text in call.messages)
        right = int(hashlib.sha256(conversation.encode()).hexdigest(), 16) % 3 != 0
        pause = ("    if not globals().get('_slept'):\n        globals()['_slept'] = True\n"
                 f"        __import__('time').sleep({self._sleep})\n") if self._sleep else ""
        if right:
            program = task.prompt + pause + task.canonical_solution
        else:
            program = f"def {task.entry_point}(*args):\n{pause}    return None\n"
        return f"```python\n{program}```\n"


def in_cluster(tmp: Path, command: str) -> list[str]:
    """argv running `command` (a shell command) in a new network and PID namespace that holds
    a Ray head and one worker node (1 CPU each) on loopback, with `RAY_TMPDIR` in `tmp`
    (through a short link); the cluster is stopped at the end, and leaving the namespace ends
    any process left."""
    ray = Path(sys.executable).parent / "ray"
    script = f"""
set -e
ip link set lo up
mkdir -p {tmp}/ray
# Ray's sockets live under RAY_TMPDIR, and a socket's path may not exceed 107 bytes
link=$(mktemp -d /tmp/psray.XXXXXX)
ln -s {tmp}/ray "$link/r"
export RAY_TMPDIR="$link/r"
{FAST_NODE_DEATH} {ray} start --head --port {HEAD_PORT} --num-cpus 1 --disable-usage-stats \
    --include-dashboard=false > {tmp}/head.log 2>&1
{ray} start --address 127.0.0.1:{HEAD_PORT} --num-cpus 1 > {tmp}/worker.log 2>&1
set +e
{command}
status=$?
timeout 30 {ray} stop --force > /dev/null 2>&1
rm -r "$link"
exit $status
"""
    return ["unshare", "--net", "--map-root-user", "--fork", "--pid", "--mount-proc",
            "--kill-child", "bash", "-c", script]


def bench_env(server: FakeLLMServer, cache: Path) -> dict[str, str]:
    """The environment of a `plansearch bench` run against `server`, caching in `cache`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANTHROPIC_", "OPENAI_", "PLANSEARCH_", "RAY_ADDRESS"))}
    env.update(ANTHROPIC_API_KEY="sk-ray-test", ANTHROPIC_BASE_URL=server.base_url_anthropic,
               PLANSEARCH_CACHE_PATH=str(cache), PLANSEARCH_CONFIG=str(cache.parent / "none"),
               PYTHONPATH=str(ROOT), COLUMNS="200")
    return env


def worker_raylet() -> psutil.Process:
    """The worker node's raylet (the one that is not the head's)."""
    for process in psutil.process_iter(["cmdline"]):
        argv = process.info["cmdline"] or []
        if argv and argv[0].endswith("raylet") and not any(
            "node:__internal_head__" in arg for arg in argv
        ):
            return process
    raise AssertionError("no worker raylet")


def node_id(raylet: psutil.Process) -> str:
    argv = raylet.cmdline()
    return str(next(arg.split("=", 1)[1] for arg in argv if arg.startswith("--node_id=")))


def kill_node(raylet: psutil.Process) -> None:
    """Kill a node as a machine failing would: its raylet and everything under it at once."""
    for process in [raylet, *raylet.children(recursive=True)]:
        process.kill()


def ours_left() -> list[str]:
    """Processes in the namespace that are neither Ray's own nor this scenario's."""
    me = psutil.Process()
    mine = {me.pid, *(child.pid for child in me.children(recursive=True))}
    left = []
    for process in psutil.process_iter(["pid", "cmdline", "name"]):
        text = " ".join(process.info["cmdline"] or []) or process.info["name"] or ""
        if process.info["pid"] not in mine and process.info["pid"] != 1 and not _KEEP.search(
            Path(text.split(" ", 1)[0]).name + " " + text
        ):
            left.append(text[:120])
    return left


def watch(
    argv: list[str], env: dict[str, str], cwd: Path,
    act: Callable[[str, subprocess.Popen[str]], bool],
) -> tuple[int, str]:
    """Run `argv`, calling `act` with each line of its standard error (and the process) until
    it returns True; its exit status and the end of its standard error."""
    process = subprocess.Popen(argv, env=env, cwd=cwd, stderr=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
    assert process.stderr is not None
    killer = threading.Timer(90, process.kill)  # never wait for ever
    killer.start()
    lines: list[str] = []
    acted = False
    for line in process.stderr:
        lines.append(line)
        acted = acted or act(line, process)
    killer.cancel()
    return process.wait(timeout=30), "".join(lines)[-6000:]


def scenario(out: Path) -> None:
    """Run the bench locally and on the cluster; write what happened to `out` as JSON."""
    tmp = out.parent
    cache = tmp / "cache" / "responses.sqlite3"
    python = [sys.executable, "-m", "plansearch", "bench", "humaneval", *SLICE]
    facts: dict[str, Any] = {}
    with FakeLLMServer(HumanEvalModel(sleep=0.25)) as server:
        env = bench_env(server, cache)

        def bench(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([*python, *args], env=env, cwd=tmp, capture_output=True,
                                  text=True, timeout=90, stdin=subprocess.DEVNULL)

        warm = bench("--out", "warm.json")
        local = bench("--out", "local.json")
        facts["local"] = [warm.returncode, local.returncode, local.stderr[-2000:]]
        asked = server.request_count

        raylet = worker_raylet()
        worker = node_id(raylet)[:8]
        facts["worker"] = worker

        def kill_worker(line: str, _: subprocess.Popen[str]) -> bool:
            if f"/{worker} |" not in line:
                return False
            time.sleep(0.3)  # the node's next problem has started
            kill_node(raylet)
            facts["killed"] = True
            return True

        facts["cluster"] = watch([*python, "--ray", "auto", "--out", "cluster.json"], env, tmp,
                                 kill_worker)
        facts["asked_on_cluster"] = server.request_count - asked

        def interrupt(line: str, process: subprocess.Popen[str]) -> bool:
            if "in flight" not in line:
                return False
            process.send_signal(signal.SIGINT)
            return True

        code, text = watch([*python, "--ray", "auto", "--out", "never.json"], env, tmp,
                           interrupt)
        deadline = time.monotonic() + 20
        while (left := ours_left()) and time.monotonic() < deadline:
            time.sleep(0.5)
        facts["interrupted"] = [code, text, left]
    out.write_text(json.dumps(facts), encoding="utf-8")


async def test_the_gate_keeps_one_limit_for_every_node() -> None:
    gate = CallGate(concurrency=2)
    assert await gate.acquire("a", 0, "node-1")
    assert await gate.acquire("b", 0, "node-2")
    third = asyncio.create_task(gate.acquire("c", 0, "node-1"))
    await asyncio.sleep(0.01)
    assert not third.done() and gate.in_flight == 2
    await gate.release("a", 10, None)
    assert await third and gate.in_flight == 2


async def test_the_gate_cuts_on_congestion_and_frees_a_lost_nodes_permits() -> None:
    gate = CallGate(concurrency=4)
    assert gate.limit == 4
    for token in "abcd":
        assert await gate.acquire(token, 0, "lost")
    waiting = [asyncio.create_task(gate.acquire(f"w{i}", 0, "lost")) for i in range(2)]
    await asyncio.sleep(0.01)
    await gate.release("a", 0, RateLimited("429"))
    assert gate.limit == 3 and gate.in_flight == 3  # a 429 cuts by a quarter: none admitted
    await gate.forget("lost")
    assert gate.in_flight == 0
    assert not any(await asyncio.gather(*waiting))
    assert await gate.acquire("e", 0, "alive")


async def test_a_permit_given_up_before_it_is_granted_is_not_held() -> None:
    gate = CallGate(concurrency=1)
    await gate.release("early", 0, None)  # the caller was cancelled before acquire arrived
    assert not await gate.acquire("early", 0, "node")
    assert await gate.acquire("x", 0, "node")
    waiting = asyncio.create_task(gate.acquire("y", 0, "node"))
    await asyncio.sleep(0.01)
    await gate.release("y", 0, None)
    assert not await waiting and gate.in_flight == 1


def test_the_ledger_counts_attempts_and_what_runs() -> None:
    ledger = Ledger()
    assert ledger.started("0", "n1") == 1
    assert ledger.started("1", "n1") == 1
    ledger.forget("n1")
    assert ledger.running == 0
    assert ledger.started("1", "n2") == 2
    ledger.finished("1")
    assert ledger.running == 0


def test_without_ray_the_flag_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *rest: None if name == "ray" else real(name, *rest))
    with pytest.raises(BenchError, match=re.escape("plansearch[ray]")):
        require_ray()


def test_without_a_cluster_the_bench_says_how_to_start_one(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(ANTHROPIC_API_KEY="sk-ray-test", RAY_TMPDIR=str(tmp_path), PYTHONPATH=str(ROOT))
    run = subprocess.run(
        [sys.executable, "-m", "plansearch", "bench", "humaneval", "--problems", "0", "--ray"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 2, run.stderr
    assert "cannot connect to the Ray cluster at auto" in run.stderr
    assert "ray start --head" in run.stderr and "Traceback" not in run.stderr


def test_figures_leave_out_when_where_and_in_which_order(tmp_path: Path) -> None:
    def outcome(node: str | None, ids: list[str], seconds: float) -> ProblemOutcome:
        candidates = [CandidateOutcome(id=i, public_passed=1, public_total=1, passes_public=True,
                                       hidden_passed=1, hidden_total=1, passes_hidden=True,
                                       output_tokens=3) for i in ids]
        return ProblemOutcome(task_id="t", strategy="repeated", n=2, c_hidden=2,
                              n_public_pass=2, c_public_and_hidden=2, public_tests=1,
                              output_tokens=6, search_seconds=seconds, node=node,
                              retried=1 if node else 0, candidates=candidates)

    def report(result: ProblemOutcome, created: str) -> BenchReport:
        return BenchReport(created=created, dataset="d", dataset_version="v", data_source="s",
                           selection={}, provider="p", model="m", budget="quick", samples=2,
                           judge_pairs=0, ks=[1], problems=["t"],
                           summary=summarize([result], [1]), results=[result])

    local = report(outcome(None, ["c1", "c2"], 1.0), "today")
    cluster = report(outcome("127.0.0.1/abcd", ["c2", "c1"], 2.0), "tomorrow")
    assert cluster.summary[0].retried == 1
    assert figures(local) == figures(cluster)
    other = report(outcome(None, ["c1", "c3"], 1.0), "today")
    assert figures(other) != figures(local)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_bench_slice_on_a_two_node_cluster_survives_losing_a_node(tmp_path: Path) -> None:
    out = tmp_path / "facts.json"
    command = f"{sys.executable} -m tests.test_ray {out}"
    run = subprocess.run(in_cluster(tmp_path, command), cwd=ROOT, capture_output=True,
                         text=True, timeout=200, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    facts = json.loads(out.read_text(encoding="utf-8"))
    assert facts["local"][:2] == [0, 0], facts["local"][2]
    code, stderr = facts["cluster"]
    assert code == 0, stderr
    assert "killed" in facts, f"the worker node never finished a problem:\n{stderr}"
    assert facts["asked_on_cluster"] == 0  # every reply came from the driver's cache

    local = BenchReport.model_validate_json((tmp_path / "local.json").read_text())
    cluster = BenchReport.model_validate_json((tmp_path / "cluster.json").read_text())
    assert figures(cluster) == figures(local)
    nodes = {result.node for result in cluster.results}
    assert len(nodes) >= 2 and None not in nodes
    assert any(node is not None and node.endswith("/" + facts["worker"]) for node in nodes)
    assert cluster.summary[0].retried > 0, stderr
    retried = [r for r in cluster.results if r.retried]
    assert all(r.node is not None and not r.node.endswith(facts["worker"]) for r in retried)
    assert all(result.node is None and result.retried == 0 for result in local.results)
    assert "sk-ray-test" not in stderr

    code, stderr, left = facts["interrupted"]
    assert code == 130, stderr
    assert "Interrupted" in stderr
    assert left == [], left
    assert not (tmp_path / "never.json").exists()


if __name__ == "__main__":
    scenario(Path(sys.argv[1]))
