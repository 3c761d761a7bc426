"""The run store: real SQLite files, reopened, shared by processes, damaged, searched."""

from __future__ import annotations

import ast
import itertools
import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from plansearch.extract import problem_from_source
from plansearch.ranking import rank
from plansearch.result import Candidate, FinishReason, Plan, SearchResult, SearchStats
from plansearch.splice import splice_candidate
from plansearch.store import (
    RunStore,
    StoreError,
    default_store_path,
    fingerprint,
    fingerprint_of,
)
from plansearch.types import CandidateRun, TestCase, TestOutcome, TestStatus
from tests.search_helpers import run_search, settings_for
from tests.support.fake_llm import FakeLLMServer
from tests.support.plansearch_script import PlanSearchScript

MODULE = '''\
"""Numbers."""


def _norm(x):
    return abs(x)


@staticmethod
def double(x: int) -> int:
    """Twice x.

    >>> double(2)
    4
    """
    ...
'''

PROBLEM = problem_from_source(MODULE, "double", path="numbers_mod.py")
RIGHT = "def double(x):\n    return x * 2\n"
WRONG = "def double(x):\n    return x + 2\n"
TEST_FILE = "tests/test_numbers.py"


def make_result(codes: list[str], *, strategy: str = "plansearch") -> SearchResult:
    """A result whose candidates ran one workspace test and one docstring example."""
    candidates = [
        Candidate(id=f"c{i}", index=i, strategy=strategy, code=code,
                  plan=Plan(observations=[f"observation {i}"], sketch=f"Sketch number {i}."))
        for i, code in enumerate(codes, start=1)
    ]
    tests = [
        TestCase(id="docstring#1", kind="docstring", source="docstring", call="double(2)",
                 expected="4"),
        TestCase(id=f"{TEST_FILE}::test_three", kind="pytest", source=TEST_FILE,
                 code="from numbers_mod import double\ndef test_three():\n"
                      "    assert double(3) == 6\n", function="test_three"),
    ]
    runs = {}
    for candidate in candidates:
        right = "* 2" in candidate.code
        runs[candidate.id] = CandidateRun(outcomes=[
            TestOutcome(test_id="docstring#1", status=TestStatus.PASS, actual="4"),
            TestOutcome(test_id=tests[1].id,
                        status=TestStatus.PASS if right else TestStatus.FAIL,
                        message="" if right else "assert 5 == 6"),
        ])
    return SearchResult(
        problem="double", strategy=strategy, provider="anthropic", model="claude-test",
        finish_reason=FinishReason.COMPLETED, stats=SearchStats(calls=3),
        candidates=candidates, tests=tests, runs=runs, ranking=rank(candidates, runs, tests),
    )


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return default_store_path(tmp_path)


@pytest.fixture
def store(store_path: Path) -> Iterator[RunStore]:
    with RunStore(store_path) as opened:
        yield opened


def test_default_path_is_in_the_workspace(tmp_path: Path) -> None:
    assert default_store_path(tmp_path) == tmp_path / ".plansearch" / "runs.sqlite3"


def test_a_run_survives_reopening(store_path: Path, tmp_path: Path) -> None:
    result = make_result([WRONG, RIGHT])
    with RunStore(store_path) as store:
        run_id = store.save_run(result, PROBLEM, document_uri="file:///w/numbers_mod.py",
                                workspace=str(tmp_path), module_source=MODULE)
    assert (store_path.parent / ".gitignore").read_text() == "*\n"
    with sqlite3.connect(store_path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    with RunStore(store_path) as store:
        stored = store.load_run(run_id)
        assert stored is not None
        assert stored.result == result
        assert stored.problem == PROBLEM
        assert stored.document_uri == "file:///w/numbers_mod.py"
        assert stored.workspace == str(tmp_path.resolve())
        assert stored.module_source == MODULE
        assert stored.source_file == Path("numbers_mod.py").resolve()
        assert abs(stored.created.timestamp() - time.time()) < 60
        latest = store.latest_run(Path("numbers_mod.py"), "double")
        assert latest is not None and latest.run_id == run_id
        assert store.latest_run(Path("numbers_mod.py"), "triple") is None
        assert store.load_run("no-such-run") is None


def test_latest_run_is_the_newest_for_that_function(store: RunStore) -> None:
    first = store.save_run(make_result([WRONG]), PROBLEM)
    second = store.save_run(make_result([RIGHT]), PROBLEM)
    other = PROBLEM.model_copy(update={"source_path": "elsewhere.py"})
    store.save_run(make_result([RIGHT]), other)
    latest = store.latest_run(Path("numbers_mod.py"), "double")
    assert latest is not None and latest.run_id == second != first


@pytest.mark.parametrize(
    "variant",
    [
        "def double(x):\n    return x * 2",
        "def double(x):  # comment\n\n    # more\n    return (x *\n            2)\n",
        'def double(x):\n    """A docstring."""\n    return x * 2\n',
        "@functools.cache\n@other\ndef double(x):\n    return x*2\n",
        "    def double(x):\n        '''Indented, as in a class.'''\n        return x * 2\n",
        "def double(x):\r\n    return x * 2\r\n",
        "def double(x: int) -> int:\n    return x * 2\n",
    ],
)
def test_fingerprint_ignores_layout_comments_docstring_and_decorators(variant: str) -> None:
    assert fingerprint(variant) == fingerprint(RIGHT)


@pytest.mark.parametrize(
    "variant",
    [
        "def double(x):\n    return x + 2\n",
        "def double(y):\n    return y * 2\n",
        "def twice(x):\n    return x * 2\n",
        "async def double(x):\n    return x * 2\n",
        "def double(x):\n    x = x\n    return x * 2\n",
        'def double(x):\n    return "x * 2"\n',
    ],
)
def test_fingerprint_sees_every_change_of_logic(variant: str) -> None:
    assert fingerprint(variant) != fingerprint(RIGHT)


def test_fingerprint_of_a_function_inside_a_module() -> None:
    module = "import os\n\nclass A:\n    class B:\n        def double(self, x):\n" \
             "            return x * 2\n\ndef double(x):\n    return x * 2\n"
    top = fingerprint_of(module, "double")
    assert top == fingerprint(RIGHT)
    assert fingerprint_of(module, "A.B.double") == fingerprint(
        "def double(self, x):\n    return x * 2\n")
    assert fingerprint_of(module, "A.double") is None
    assert fingerprint_of(module, "missing") is None
    assert fingerprint_of("def broken(:\n", "broken") is None
    with pytest.raises(ValueError, match="no function"):
        fingerprint("x = 1\n")
    with pytest.raises(ValueError, match="not valid Python"):
        fingerprint("def f(:\n    pass\n")


def test_find_by_code_gives_the_plan_and_test_results(store: RunStore) -> None:
    run_id = store.save_run(make_result([WRONG, RIGHT]), PROBLEM)
    found = store.find_by_code("    def double(x):\n        return x*2  # edited layout\n")
    assert found is not None
    assert (found.run_id, found.candidate.id, found.candidate.code) == (run_id, "c2", RIGHT)
    assert found.candidate.plan.sketch == "Sketch number 2."
    assert found.ranked is not None and found.ranked.rank == 1 and found.ranked.passes_all
    assert found.run is not None and [o.status for o in found.run.outcomes] == ["pass", "pass"]
    assert [t.id for t in found.tests] == ["docstring#1", f"{TEST_FILE}::test_three"]
    assert (found.strategy, found.provider, found.model) == ("plansearch", "anthropic",
                                                             "claude-test")
    assert not found.applied
    wrong = store.find_by_code(WRONG)
    assert wrong is not None and wrong.ranked is not None and not wrong.ranked.passes_all
    assert store.find_by_code("def double(x):\n    return x ** 2\n") is None
    assert store.find_by_code("this is not python(") is None


def test_candidates_are_found_by_their_entry_point_not_their_helpers(store: RunStore) -> None:
    code = ("import math\n\ndef _helper(x):\n    return x\n\n"
            "def double(x):\n    return _helper(x) * 2\n")
    store.save_run(make_result([code]), PROBLEM)
    assert store.find_by_code("def _helper(x):\n    return x\n") is None
    found = store.find_by_code("def double(x):\n    return _helper(x) * 2\n")
    assert found is not None and found.candidate.code == code


def _function_text(module: str, name: str) -> str:
    node = next(n for n in ast.parse(module).body
                if isinstance(n, ast.FunctionDef) and n.name == name)
    lines = module.splitlines(keepends=True)
    return "".join(lines[node.decorator_list[0].lineno - 1 if node.decorator_list
                         else node.lineno - 1 : node.end_lineno])


def test_an_applied_candidate_that_kept_the_stub_docstring_is_found(store: RunStore) -> None:
    run_id = store.save_run(make_result([WRONG, RIGHT]), PROBLEM)
    applied = _function_text(splice_candidate(MODULE, PROBLEM, RIGHT), "double")
    assert '"""Twice x.' in applied and "@staticmethod" in applied
    found = store.find_by_code(applied)
    assert found is not None and (found.run_id, found.candidate.id) == (run_id, "c2")


def test_record_applied_finds_a_function_the_splice_changed(store: RunStore) -> None:
    # The candidate's helper clashes with the module's `_norm`, so the splice nests it.
    code = "def _norm(x):\n    return x % 10\n\ndef double(x):\n    return _norm(x) * 2\n"
    run_id = store.save_run(make_result([WRONG, code]), PROBLEM)
    module = splice_candidate(MODULE, PROBLEM, code)
    applied = _function_text(module, "double")
    assert "    def _norm(x):" in applied
    assert store.find_by_code(applied) is None
    store.record_applied(run_id, "c2", applied)
    found = store.find_by_code(applied)
    assert found is not None and found.candidate.id == "c2" and found.applied
    assert fingerprint_of(module, "double") == fingerprint(applied)


def test_the_newest_match_wins_and_applying_makes_a_match_newest(store: RunStore) -> None:
    older = store.save_run(make_result([WRONG, RIGHT]), PROBLEM)
    newer = store.save_run(make_result([RIGHT], strategy="repeated"), PROBLEM)
    found = store.find_by_code(RIGHT)
    assert found is not None and (found.run_id, found.strategy) == (newer, "repeated")
    store.record_applied(older, "c2", RIGHT)
    found = store.find_by_code(RIGHT)
    assert found is not None and (found.run_id, found.candidate.id) == (older, "c2")
    assert found.applied


def test_record_applied_refuses_what_it_cannot_record(store: RunStore) -> None:
    run_id = store.save_run(make_result([RIGHT]), PROBLEM)
    with pytest.raises(StoreError, match="no run"):
        store.record_applied("missing", "c1", RIGHT)
    with pytest.raises(StoreError, match="no candidate c9"):
        store.record_applied(run_id, "c9", RIGHT)
    with pytest.raises(StoreError, match="no function"):
        store.record_applied(run_id, "c1", "x = 1\n")


def test_runs_are_found_by_the_test_files_they_used(store: RunStore, tmp_path: Path) -> None:
    with_tests = store.save_run(make_result([RIGHT]), PROBLEM, workspace=str(tmp_path))
    store.save_run(make_result([RIGHT]), PROBLEM)  # no workspace: relative sources unknown
    later = store.save_run(make_result([WRONG]), PROBLEM, workspace=str(tmp_path))
    assert store.runs_using_test_file(tmp_path / TEST_FILE) == [later, with_tests]
    assert store.runs_using_test_file(tmp_path / "tests" / ".." / TEST_FILE) == [
        later, with_tests]
    assert store.runs_using_test_file(tmp_path / "tests" / "test_other.py") == []
    assert store.runs_using_test_file(tmp_path / "docstring") == []


def test_update_tests_replaces_results_and_test_files(store: RunStore, tmp_path: Path) -> None:
    result = make_result([WRONG, RIGHT])
    run_id = store.save_run(result, PROBLEM, workspace=str(tmp_path))
    moved = TestCase(id="tests/test_moved.py::test_five", kind="pytest",
                     source=str(tmp_path / "tests" / "test_moved.py"),
                     code="def test_five():\n    assert double(5) == 7\n", function="test_five")
    runs = {
        "c1": CandidateRun(outcomes=[TestOutcome(test_id=moved.id, status=TestStatus.PASS)]),
        "c2": CandidateRun(outcomes=[TestOutcome(test_id=moved.id, status=TestStatus.FAIL)]),
    }
    ranking = rank(result.candidates, runs, [moved])
    store.update_tests(run_id, [moved], runs, ranking)
    stored = store.load_run(run_id)
    assert stored is not None
    assert stored.result.tests == [moved] and stored.result.runs == runs
    assert stored.result.ranking == ranking
    assert [c.id for c in stored.result.ranked_candidates()] == ["c1", "c2"]
    assert store.runs_using_test_file(tmp_path / TEST_FILE) == []
    assert store.runs_using_test_file(tmp_path / "tests" / "test_moved.py") == [run_id]
    found = store.find_by_code(WRONG)
    assert found is not None and found.ranked is not None and found.ranked.rank == 1
    with pytest.raises(StoreError, match="no run"):
        store.update_tests("missing", [moved], runs, ranking)


def test_two_processes_write_at_once(tmp_path: Path) -> None:
    store_path = tmp_path / "shared" / ".plansearch" / "runs.sqlite3"
    result_file, problem_file, go = tmp_path / "r.json", tmp_path / "p.json", tmp_path / "go"
    result_file.write_text(make_result([WRONG, RIGHT]).model_dump_json())
    problem_file.write_text(PROBLEM.model_dump_json())
    script = textwrap.dedent("""
        import sqlite3, sys, time
        from pathlib import Path
        from plansearch.problem import Problem
        from plansearch.result import SearchResult
        from plansearch.store import RunStore

        store_path, result_file, problem_file, go, count = sys.argv[1:]
        result = SearchResult.model_validate_json(Path(result_file).read_text())
        problem = Problem.model_validate_json(Path(problem_file).read_text())
        while not Path(go).exists():
            time.sleep(0.005)
        with RunStore(Path(store_path)) as store:  # both create the new file at once
            for index in range(int(count)):
                run_id = store.save_run(result, problem)
                store.record_applied(run_id, "c2", "def double(x):\\n    return 2 * x\\n")
                print(run_id, flush=True)
                if index == 0:  # go on once the other writer has written too
                    with sqlite3.connect(store_path, timeout=30) as db:
                        deadline = time.monotonic() + 30
                        while time.monotonic() < deadline and db.execute(
                            "SELECT count(*) FROM runs"
                        ).fetchone()[0] < 2:
                            time.sleep(0.005)
    """)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(store_path), str(result_file), str(problem_file),
             str(go), "150"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(2)
    ]
    time.sleep(0.3)
    go.touch()
    outputs = [writer.communicate(timeout=60) for writer in writers]
    for writer, (_, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err
    ids = [line for out, _ in outputs for line in out.split()]
    assert len(ids) == len(set(ids)) == 300
    with RunStore(store_path) as store:
        assert all(store.load_run(run_id) is not None for run_id in ids)
        found = store.find_by_code("def double(x):\n    return 2 * x\n")
        assert found is not None and found.run_id in ids and found.applied
    with sqlite3.connect(store_path) as db:
        assert db.execute("SELECT count(*) FROM runs").fetchone() == (300,)
        assert db.execute("SELECT count(*) FROM fingerprints").fetchone() == (900,)
        order = [row[0] for row in db.execute("SELECT id FROM runs ORDER BY rowid")]
    first = set(outputs[0][0].split())
    switches = sum((a in first) != (b in first) for a, b in itertools.pairwise(order))
    assert switches >= 2, "the two writers' runs interleave (each waits for the other's first)"


def test_a_file_that_is_not_a_database_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    path.write_bytes(b"these are not the runs you are looking for\n" * 200)
    with pytest.raises(StoreError) as caught:
        RunStore(path)
    assert str(path) in str(caught.value)
    assert "damaged or not a run store" in str(caught.value)


def test_a_damaged_store_gives_a_clear_error(store_path: Path) -> None:
    with RunStore(store_path) as store:
        for _ in range(20):
            store.save_run(make_result([WRONG, RIGHT]), PROBLEM)
    data = bytearray(store_path.read_bytes())
    assert len(data) > 20_000
    data[100:12_000] = b"\xa5" * (12_000 - 100)
    store_path.write_bytes(bytes(data))
    with (pytest.raises(StoreError, match="damaged or not a run store"),
          RunStore(store_path) as store):
        store.find_by_code(RIGHT)
        store.latest_run(Path("numbers_mod.py"), "double")


def test_another_sqlite_file_or_a_newer_schema_is_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "other.sqlite3"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    db.close()
    with pytest.raises(StoreError, match="not a plansearch run store"):
        RunStore(foreign)
    newer = tmp_path / "newer.sqlite3"
    RunStore(newer).close()
    with sqlite3.connect(newer) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.close()
    with pytest.raises(StoreError, match="schema version 99"):
        RunStore(newer)


def test_a_store_in_an_unwritable_place_gives_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    with pytest.raises(StoreError, match="cannot open the run store"):
        RunStore(blocker / ".plansearch" / "runs.sqlite3")


async def test_the_store_never_holds_the_api_key(tmp_path: Path) -> None:
    key = "sk-ant-test-DO-NOT-STORE-7f3a9c"
    with FakeLLMServer(PlanSearchScript("double", first=2, derived=1)) as server:
        settings = settings_for(server, tmp_path, api_key=key, budget="quick")
        result, _ = await run_search(settings, PROBLEM)
    assert result.candidates
    store_path = default_store_path(tmp_path / "workspace")
    with RunStore(store_path) as store:
        store.save_run(result, PROBLEM, workspace=str(tmp_path), module_source=MODULE)
        files = sorted(store_path.parent.iterdir())  # the WAL is still open here
        contents = b"".join(path.read_bytes() for path in files)
    assert any(path.name.endswith("-wal") for path in files)
    contents += store_path.read_bytes()
    stored_code = json.dumps(result.candidates[0].code)[1:-1]
    assert stored_code.encode() in contents  # the grep looks at real data
    for needle in (key, key[8:], "DO-NOT-STORE"):
        assert needle.encode() not in contents
        assert needle.encode("utf-16-le") not in contents
