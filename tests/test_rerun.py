"""Re-running a stored run after the workspace's tests changed: a real search, executor, store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from plansearch.config import Settings
from plansearch.execution.executor import Executor
from plansearch.execution.limits import Limits
from plansearch.extract import problem_from_file
from plansearch.ranking import Ranking
from plansearch.rerun import rerun
from plansearch.result import SearchResult
from plansearch.splice import splice_candidate
from plansearch.store import RunStore, StoredRun, default_store_path
from plansearch.workbench import Target
from tests.search_helpers import settings_for, workbench
from tests.support.fake_llm import FakeCall, FakeLLMServer
from tests.support.plansearch_script import PlanSearchScript

MODULE = '''\
def scale(x: int) -> int:
    """Scale x up."""
    ...
'''

TESTS = """\
from calc import scale


def test_three():
    assert scale(3) == {expected}
"""


def scale_code(call: FakeCall) -> str:
    """`x * 2` when written from a fixed sketch, `x + 2` otherwise (both give scale(2) == 4)."""
    fixed = "fix reply" in call.messages[-1][1]
    return f"```python\ndef scale(x):\n    return {'x * 2' if fixed else 'x + 2'}\n```"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'calc'\n")
    (root / "calc.py").write_text(MODULE)
    (root / "tests" / "test_calc.py").write_text(TESTS.format(expected=5))
    return root


@pytest.fixture
async def executor(workspace: Path) -> AsyncIterator[Executor]:
    limits = Limits(test_timeout=2, candidate_timeout=5)
    async with Executor(workers=2, limits=limits, paths=[workspace]) as started:
        yield started


async def searched(workspace: Path, settings: Settings) -> tuple[SearchResult, str]:
    """A search on calc.py::scale whose candidates ran against the workspace's tests, and
    the id under which the workbench stored it."""
    problem = problem_from_file(workspace / "calc.py", "scale")
    async with workbench(settings) as bench:
        search = await bench.search(Target(problem, MODULE, workspace))
        result = await search.run()
    assert search.run_id is not None
    return result, search.run_id


@pytest.fixture
async def stored_run(
    workspace: Path, tmp_path: Path
) -> AsyncIterator[tuple[RunStore, StoredRun, Settings]]:
    script = PlanSearchScript("scale", first=2, derived=2, code_for=scale_code)
    with FakeLLMServer(script) as server:
        settings = settings_for(server, tmp_path, depth=1)
        _, run_id = await searched(workspace, settings)
    with RunStore(default_store_path(workspace)) as store:
        stored = store.load_run(run_id)
        assert stored is not None
        yield store, stored, settings


def passing_codes(result: SearchResult, ranking: Ranking) -> set[str]:
    """The code of every candidate that passes all trusted tests."""
    by_id = {candidate.id: candidate for candidate in result.candidates}
    return {by_id[r.candidate_id].code for r in ranking.candidates if r.passes_all}


def flip_tests(workspace: Path) -> None:
    (workspace / "tests" / "test_calc.py").write_text(TESTS.format(expected=6))


async def test_a_changed_test_file_flips_the_ranking(
    workspace: Path, executor: Executor, stored_run: tuple[RunStore, StoredRun, Settings]
) -> None:
    store, stored, settings = stored_run
    result = stored.result
    assert result.ranking is not None
    adds = [c.id for c in result.candidates if "x + 2" in c.code]
    muls = [c.id for c in result.candidates if "x * 2" in c.code]
    assert adds and muls, "the script writes both programs"
    assert {r.candidate_id for r in result.ranking.candidates[: len(adds)]} == set(adds)
    assert result.ranking.passing == len(adds)
    test_file = workspace / "tests" / "test_calc.py"
    assert store.runs_using_test_file(test_file) == [stored.run_id]

    flip_tests(workspace)
    tests, runs, ranking = await rerun(stored, executor, workspace=workspace, settings=settings)

    assert [t.id for t in tests] == ["tests/test_calc.py::test_three"]
    assert set(runs) == {c.id for c in result.candidates}
    assert {r.candidate_id for r in ranking.candidates[: len(muls)]} == set(muls)
    assert ranking.passing == len(muls)
    for ranked in ranking.candidates[len(muls):]:
        assert ranked.candidate_id in adds and ranked.first_failure is not None
        assert "expected 6, got 5" in ranked.first_failure.message
    store.update_tests(stored.run_id, tests, runs, ranking)
    found = store.find_by_code("def scale(x):\n    return x * 2\n")
    assert found is not None and found.ranked is not None and found.ranked.rank == 1
    assert found.ranked.passes_all


async def test_candidates_run_in_the_module_as_it_is_now(
    workspace: Path, executor: Executor, stored_run: tuple[RunStore, StoredRun, Settings]
) -> None:
    """After one was applied and the module grew, each candidate replaces the function."""
    _, stored, settings = stored_run
    source_file = workspace / "calc.py"
    applied = splice_candidate(MODULE, stored.problem, "def scale(x):\n    return x + 2\n")
    source_file.write_text('"""Calc."""\n\nFACTOR = 2\n\n\n' + applied)
    (workspace / "tests" / "test_calc.py").write_text(
        "from calc import FACTOR, scale\n\n\ndef test_three():\n"
        "    assert scale(3) == 3 * FACTOR\n")
    _, _, ranking = await rerun(stored, executor, workspace=workspace, settings=settings)
    assert passing_codes(stored.result, ranking) == {"def scale(x):\n    return x * 2"}
    assert "x + 2" in source_file.read_text(), "the file itself is left alone"


async def test_a_file_that_does_not_parse_falls_back_to_the_stored_module(
    workspace: Path, executor: Executor, stored_run: tuple[RunStore, StoredRun, Settings]
) -> None:
    _, stored, settings = stored_run
    (workspace / "calc.py").write_text("def scale(x:\n")  # mid-edit
    flip_tests(workspace)
    _, runs, ranking = await rerun(stored, executor, workspace=workspace, settings=settings)
    assert all(run.outcomes[0].status in {"pass", "fail"} for run in runs.values())
    assert passing_codes(stored.result, ranking) == {"def scale(x):\n    return x * 2"}


async def test_model_written_tests_are_kept(
    workspace: Path, executor: Executor, tmp_path: Path
) -> None:
    script = PlanSearchScript("scale", first=2, derived=1, code_for=scale_code,
                              tests_reply="```python\nassert scale(10) == 20\n```")
    with FakeLLMServer(script) as server:
        settings = settings_for(server, tmp_path, depth=1, generate_tests=1)
        result, run_id = await searched(workspace, settings)
    assert [t.kind for t in result.tests] == ["pytest", "generated"]
    with RunStore(default_store_path(workspace)) as store:
        stored = store.load_run(run_id)
    assert stored is not None
    (workspace / "tests" / "test_calc.py").unlink()
    tests, runs, ranking = await rerun(stored, executor, workspace=workspace, settings=settings)
    assert [t.id for t in tests] == ["generated#1"]
    assert ranking.trusted_tests == 0
    actual = {run.outcomes[0].actual for run in runs.values()}
    assert actual == {"12", "20"}
    assert ranking.diversity.behaviour_clusters == 2
