"""The terminal as a new user meets it: the quick-start example, `apply`, progress without a
terminal, and exit statuses. A real `plansearch` process, the real SDK, the fake server."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fake_llm import FakeCall, FakeLLMServer, FakeReply, Fault
from tests.support.plansearch_script import PlanSearchScript

pytestmark = pytest.mark.slow  # each test runs whole searches in a process of its own

ROOT = Path(__file__).resolve().parent.parent
MERGE = """\
def merge_intervals(intervals):
    merged = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
"""
WRONG = "def merge_intervals(intervals):\n    return sorted(intervals)\n"


def merge_code(call: FakeCall) -> str:
    """The right merge when written from a fixed sketch, a wrong one otherwise."""
    fixed = "fix reply" in call.messages[-1][1]
    return f"```python\n{MERGE if fixed else WRONG}```"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the quick-start example in a project with a workspace test."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    shutil.copy(ROOT / "examples" / "intervals.py", tmp_path / "intervals.py")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_intervals.py").write_text(
        "from intervals import merge_intervals\n\n\n"
        "def test_nested():\n    assert merge_intervals([(1, 10), (2, 3)]) == [(1, 10)]\n"
    )
    return tmp_path


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    script = PlanSearchScript("merge_intervals", first=2, derived=1, code_for=merge_code)
    with FakeLLMServer(script) as fake:
        yield fake


def plansearch(
    *args: str, cwd: Path, server: FakeLLMServer | None
) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "COLUMNS": "200",
           "HOME": str(cwd), "PLANSEARCH_CACHE_PATH": str(cwd / "cache.sqlite3")}  # fmt: skip
    if server is not None:
        env |= {"ANTHROPIC_API_KEY": "sk-terminal-test",
                "ANTHROPIC_BASE_URL": server.base_url_anthropic}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "plansearch", *args], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=120, stdin=subprocess.DEVNULL,
    )


def test_the_quick_start_example_passes_every_example_with_a_good_model(
    project: Path, server: FakeLLMServer
) -> None:
    run = plansearch("solve", "intervals.py::merge_intervals", "--budget", "quick",
                     "--depth", "1", cwd=project, server=server)
    assert run.returncode == 0, run.stderr
    assert "tests: 3 from docstring, 1 from tests/test_intervals.py" in run.stderr
    assert "3/3 docstring examples, 1/1 of tests/test_intervals.py" in run.stdout


def test_apply_puts_the_best_candidate_in_and_the_tests_then_pass(
    project: Path, server: FakeLLMServer
) -> None:
    solved = plansearch("solve", "intervals.py::merge_intervals", "--budget", "quick",
                        "--depth", "1", cwd=project, server=server)
    assert solved.returncode == 0, solved.stderr
    stub = (project / "intervals.py").read_text()

    dry = plansearch("apply", "intervals.py::merge_intervals", "--dry-run", cwd=project,
                     server=None)
    assert dry.returncode == 0, dry.stderr
    assert "-    raise NotImplementedError" in dry.stdout and "+    merged = []" in dry.stdout
    assert (project / "intervals.py").read_text() == stub, "a dry run changes nothing"

    applied = plansearch("apply", "intervals.py::merge_intervals", cwd=project, server=None)
    assert applied.returncode == 0, applied.stderr
    assert "in intervals.py" in applied.stderr and "3/3 docstring examples" in applied.stderr
    text = (project / "intervals.py").read_text()
    assert "merged.append((start, end))" in text and "raise NotImplementedError" not in text
    assert '"""Merge overlapping closed intervals' in text, "the docstring stays"
    doctests = subprocess.run([sys.executable, "-m", "doctest", "intervals.py"], cwd=project,
                              capture_output=True, text=True, timeout=60)
    assert doctests.returncode == 0, doctests.stdout
    pytest_run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                 "tests"], cwd=project, capture_output=True, text=True,
                                timeout=120)  # fmt: skip
    assert pytest_run.returncode == 0, pytest_run.stdout

    # the function is no longer the stub the candidates were written for: refused
    again = plansearch("apply", "intervals.py::merge_intervals", "--rank", "2", cwd=project,
                       server=None)
    assert again.returncode == 2
    assert "was edited since the search" in again.stderr and "--force" in again.stderr
    assert (project / "intervals.py").read_text() == text


def test_solve_apply_puts_in_only_a_candidate_that_passes(
    project: Path, server: FakeLLMServer
) -> None:
    run = plansearch("solve", "intervals.py::merge_intervals", "--budget", "quick",
                     "--depth", "1", "--apply", cwd=project, server=server)
    assert run.returncode == 0, run.stderr
    assert "applied c" in run.stderr
    assert "merged.append" in (project / "intervals.py").read_text()


def test_json_progress_is_one_event_object_per_line(project: Path, server: FakeLLMServer) -> None:
    run = plansearch("solve", "intervals.py::merge_intervals", "--budget", "quick",
                     "--depth", "1", "--json", cwd=project, server=server)
    assert run.returncode == 0, run.stderr
    records = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    kinds = [record["event"] for record in records]
    assert kinds[-1] == "search_finished" and "candidate_tested" in kinds
    assert all(isinstance(record["time"], float) for record in records)
    tested = next(r for r in records if r["event"] == "candidate_tested")
    assert {"candidate", "rank", "tally", "passes_all", "flags"} <= set(tested)
    assert json.loads(run.stdout)["finish_reason"] == records[-1]["finish_reason"]


def test_piped_progress_says_what_happens_as_it_goes(
    project: Path, server: FakeLLMServer
) -> None:
    run = plansearch("solve", "intervals.py::merge_intervals", "--budget", "quick",
                     "--depth", "1", cwd=project, server=server)
    lines = run.stderr.splitlines()
    written = [line for line in lines if "written:" in line]
    tested = [line for line in lines if " tested: " in line]
    assert written and tested
    counts = re.compile(r"\[\d+ calls?(, \d+ failed)?; \d+ candidates?, \d+ tested, "
                        r"\d+ passing\] ")
    assert all(counts.match(line) for line in written + tested), written + tested


def test_exit_status_says_what_happened(project: Path) -> None:
    def wrong_code(call: FakeCall) -> str:
        return f"```python\n{WRONG}```"

    script = PlanSearchScript("merge_intervals", first=2, derived=1, code_for=wrong_code)
    with FakeLLMServer(script) as wrong:
        none_passing = plansearch("solve", "intervals.py::merge_intervals", "--budget", "quick",
                                  "--depth", "1", cwd=project, server=wrong)
    assert none_passing.returncode == 1, none_passing.stderr

    def unusable(call: FakeCall) -> FakeReply:
        return FakeReply(text="I cannot help with that.")

    with FakeLLMServer(unusable) as chatty:
        no_candidate = plansearch("solve", "intervals.py::merge_intervals", "--budget",
                                  "quick", "--depth", "1", cwd=project, server=chatty)
    assert no_candidate.returncode == 3, no_candidate.stderr
    assert "No candidate:" in no_candidate.stderr
    assert "explored its whole tree" not in no_candidate.stderr

    with FakeLLMServer(fault_rate=1.0, fault_kinds=[Fault.SERVER_ERROR]) as broken:
        failing = plansearch("solve", "intervals.py::merge_intervals", "--budget", "quick",
                             "--max-retries", "0", cwd=project, server=broken)
    assert failing.returncode == 3, failing.stderr
    assert "every model call failed" in failing.stderr
