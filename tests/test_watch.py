"""`plansearch watch` as a user runs it: real processes, the fake model server, real files."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

from plansearch.result import SearchResult
from plansearch.store import RunStore, default_store_path
from tests.support.fake_llm import FakeLLMServer
from tests.support.plansearch_script import PlanSearchScript
from tests.test_cli import cli_env, default_sigint, plansearch
from tests.test_rerun import MODULE, TESTS, scale_code

ROW = re.compile(r"^│\s*(\d+)\s*│\s*(\w+)\s*│")  # rank, candidate id (c1, direct, ...)
TITLE = re.compile(r"^\d+ candidates for scale")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'calc'\n")
    (root / "calc.py").write_text(MODULE)
    (root / "tests" / "test_calc.py").write_text(TESTS.format(expected=5))
    return root


@pytest.fixture
def solved(workspace: Path) -> tuple[set[str], set[str]]:
    """Run `plansearch solve` (which stores the run); the ids of `x + 2` and `x * 2`."""
    script = PlanSearchScript("scale", first=2, derived=2, code_for=scale_code)
    with FakeLLMServer(script) as server:
        run = plansearch("solve", "calc.py::scale", "--budget", "quick", "--json",
                         cwd=workspace, env=cli_env(server))
    assert run.returncode == 0, run.stderr
    result = SearchResult.model_validate_json(run.stdout)
    adds = {c.id for c in result.candidates if "x + 2" in c.code}
    muls = {c.id for c in result.candidates if "x * 2" in c.code}
    assert adds and muls, "the script writes both programs"
    assert result.ranking is not None and result.ranking.candidates[0].candidate_id in adds
    return adds, muls


def tables(stdout: str) -> list[list[str]]:
    """Candidate ids in rank order, per printed table."""
    found: list[list[str]] = []
    for line in stdout.splitlines():
        if TITLE.match(line):
            found.append([])
        elif (row := ROW.match(line)) and found:
            assert int(row.group(1)) == len(found[-1]) + 1
            found[-1].append(row.group(2))
    return found


def flip_tests(workspace: Path) -> None:
    (workspace / "tests" / "test_calc.py").write_text(TESTS.format(expected=6))


@pytest.mark.slow
def test_solve_stores_the_run_and_watch_once_reranks(
    workspace: Path, solved: tuple[set[str], set[str]]
) -> None:
    adds, muls = solved
    with RunStore(default_store_path(workspace)) as store:
        stored = store.latest_run(workspace / "calc.py", "scale")
        assert stored is not None and stored.module_source == MODULE
        assert store.runs_using_test_file(workspace / "tests" / "test_calc.py") == [
            stored.run_id]

    same = plansearch("watch", "calc.py::scale", "--once", cwd=workspace, env=cli_env())
    assert same.returncode == 0, same.stderr
    [before] = tables(same.stdout)
    assert set(before[: len(adds)]) == adds and sorted(before) == sorted(adds | muls)

    flip_tests(workspace)
    flipped = plansearch("watch", "calc.py::scale", "--once", cwd=workspace, env=cli_env())
    assert flipped.returncode == 0, flipped.stderr
    [after] = tables(flipped.stdout)
    assert set(after[: len(muls)]) == muls
    reranked = f"re-ranked: {len(muls)} of {len(adds | muls)} candidates pass the trusted test"
    assert reranked in flipped.stderr
    with RunStore(default_store_path(workspace)) as store:
        stored = store.latest_run(workspace / "calc.py", "scale")
        assert stored is not None and stored.result.ranking is not None
        assert stored.result.ranking.candidates[0].candidate_id in muls


def test_watch_without_a_stored_run_says_to_solve_first(workspace: Path) -> None:
    run = plansearch("watch", "calc.py::scale", "--once", cwd=workspace, env=cli_env())
    assert run.returncode == 2
    assert "run `plansearch solve calc.py::scale` first" in run.stderr
    assert not (workspace / ".plansearch").exists()
    missing = plansearch("watch", "nowhere.py::scale", cwd=workspace, env=cli_env())
    assert missing.returncode == 2 and "no such file: nowhere.py" in missing.stderr


@pytest.mark.slow
def test_watch_for_another_function_says_to_solve_first(
    workspace: Path, solved: tuple[set[str], set[str]]
) -> None:
    run = plansearch("watch", "calc.py::other", "--once", cwd=workspace, env=cli_env())
    assert run.returncode == 2
    assert "no stored run for other" in run.stderr


class Output:
    """Collects a process's stdout and stderr while it runs."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        assert process.stdout is not None and process.stderr is not None
        self.threads = [
            threading.Thread(target=self._read, args=(process.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._read, args=(process.stderr, self.stderr), daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    @staticmethod
    def _read(stream: IO[str], into: list[str]) -> None:
        for line in stream:
            into.append(line)

    def wait_for(
        self, done: Callable[[], bool], timeout: float, *, nudge: Callable[[], None] | None = None
    ) -> None:
        """Wait until `done()` is true, calling `nudge()` every 2 s meanwhile."""
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError("timed out:\n" + "".join(self.stderr))
            if nudge is not None and time.monotonic() - last > 2:
                nudge()
                last = time.monotonic()
            time.sleep(0.05)


@contextlib.contextmanager
def live_watcher(
    workspace: Path, sigint: Callable[[], None]
) -> Iterator[tuple[subprocess.Popen[str], Output]]:
    """`plansearch watch calc.py::scale` running, with SIGINT set up by `sigint` (run in its
    process before it starts); killed at the end if it still runs."""
    process = subprocess.Popen(
        [sys.executable, "-m", "plansearch", "watch", "calc.py::scale"], cwd=workspace,
        env=cli_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, preexec_fn=sigint,
    )
    try:
        yield process, Output(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def watcher(workspace: Path, solved: tuple[set[str], set[str]]) -> Iterator[
    tuple[subprocess.Popen[str], Output]
]:
    with live_watcher(workspace, default_sigint) as running:
        yield running


def ignore_sigint() -> None:
    """For `preexec_fn`: SIGINT ignored, as a shell starts a background job."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def caught_signals(pid: int) -> set[int]:
    """The signals process `pid` has a handler for (SigCgt in /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            mask = int(line.split()[1], 16)
            return {number for number in range(1, 65) if mask >> (number - 1) & 1}
    raise AssertionError(f"no SigCgt line for process {pid}")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_live_watcher_reranks_when_a_test_file_changes(
    workspace: Path,
    solved: tuple[set[str], set[str]],
    watcher: tuple[subprocess.Popen[str], Output],
) -> None:
    adds, muls = solved
    process, output = watcher
    # stdout and stderr are read by two threads: the table printed before the message may
    # be read after it
    output.wait_for(lambda: any("watching the test files" in line for line in output.stderr)
                    and len(tables("".join(output.stdout))) >= 1, timeout=60)
    assert len(tables("".join(output.stdout))) == 1

    (workspace / "notes.txt").write_text("not a test file")
    flip_tests(workspace)
    # the nudges: the watcher prints its message before its watch is in place, so a change
    # made right after the message can go unseen
    output.wait_for(lambda: len(tables("".join(output.stdout))) >= 2, timeout=60,
                    nudge=lambda: flip_tests(workspace))
    first, second = tables("".join(output.stdout))[:2]
    assert set(first[: len(adds)]) == adds
    assert set(second[: len(muls)]) == muls
    assert any("tests/test_calc.py changed: re-ranked" in line for line in output.stderr)
    assert not any("notes.txt" in line for line in output.stderr)

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0  # a bounded wait: it exits within seconds
    for thread in output.threads:
        thread.join(timeout=5)
    assert "stopped watching" in "".join(output.stderr)
    assert "Traceback" not in "".join(output.stderr)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_the_watcher_stops_on_sigint_also_in_a_background_job(
    workspace: Path, solved: tuple[set[str], set[str]]
) -> None:
    """Started with SIGINT ignored (a script's `pytest &`, a CI step in the background), the
    watcher still stops on SIGINT, as `plansearch solve` does: it handles SIGINT itself."""
    with live_watcher(workspace, ignore_sigint) as (process, output):
        output.wait_for(lambda: any("watching the test files" in line for line in output.stderr),
                        timeout=60)
        assert signal.SIGINT in caught_signals(process.pid), "SIGINT is left ignored"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        for thread in output.threads:
            thread.join(timeout=5)
        assert "stopped watching" in "".join(output.stderr)
