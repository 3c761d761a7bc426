"""Hostile candidates, at every isolation level this machine supports.

Each attack is bounded in time and gets the right status; afterwards no candidate process is
alive (checked in /proc) and the executor still runs a normal candidate. Attacks that only a
sandbox contains are skipped, with the reason, at the limits-only level.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from plansearch.execution.executor import Executor
from plansearch.execution.limits import Limits
from plansearch.execution.sandbox import LEVELS
from plansearch.types import CandidateRun, Program, TestCase, TestStatus
from tests.support.isolation import require_level

pytestmark = pytest.mark.asyncio(loop_scope="module")

LIMITS = Limits(
    test_timeout=1.0,
    candidate_timeout=8.0,
    memory_mb=256,
    processes=16,
    file_size_mb=8,
    tmpfs_mb=32,
)
NORMAL = Program(source="def f():\n    return 1\n", entry_point="f")


def returns(value: str = "1", test_id: str = "t") -> TestCase:
    return TestCase(id=test_id, kind="docstring", source="docstring", call="f()", expected=value)


AFTER = TestCase(id="after", kind="docstring", source="docstring", call="1 + 1", expected="2")


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=LEVELS)
async def executor(request: pytest.FixtureRequest) -> AsyncIterator[Executor]:
    require_level(request.param)
    async with Executor(workers=2, limits=LIMITS, isolation=request.param) as started:
        yield started


async def run(executor: Executor, source: str, *tests: TestCase) -> CandidateRun:
    return await executor.run(Program(source=source, entry_point="f"), list(tests))


def statuses(result: CandidateRun) -> list[TestStatus]:
    return [outcome.status for outcome in result.outcomes]


def live_processes(name: bytes, marker: bytes | None = None) -> list[int]:
    """Processes (not zombies) called `name`, or with `marker` in their command line."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat", "rb") as file:
                comm, _, rest = file.read().partition(b") ")
            with open(f"/proc/{pid}/cmdline", "rb") as file:
                cmdline = file.read()
        except OSError:
            continue
        named = comm.endswith(b"(" + name)
        if rest[:1] != b"Z" and (named or (marker is not None and marker in cmdline)):
            found.append(int(pid))
    return found


async def assert_contained(executor: Executor, marker: bytes | None = None) -> None:
    """No candidate process is left (they may take a moment to die: a bounded wait), and
    the executor still serves."""
    name = executor.process_name.encode()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(30):
            while live_processes(name, marker):
                await asyncio.sleep(0.05)
    left = live_processes(name, marker)
    assert not left, f"processes left behind: {left}"
    result = await executor.run(NORMAL, [returns()])
    assert statuses(result) == [TestStatus.PASS]


def require_sandbox(executor: Executor, protection: str) -> None:
    report = executor.isolation
    if not getattr(report, protection):
        pytest.skip(f"level {report.level} does not provide this protection ({protection})")


async def test_infinite_loop_times_out_and_the_next_test_still_runs(executor: Executor) -> None:
    result = await run(executor, "def f():\n    while True:\n        pass\n", returns(), AFTER)
    # ended by the test's 1 s, not the candidate's 8 s (that would leave AFTER not run)
    assert statuses(result) == [TestStatus.TIMEOUT, TestStatus.PASS]
    assert "1 s" in result.outcomes[0].message, result.outcomes[0].message
    await assert_contained(executor)


@pytest.mark.slow
async def test_loop_that_ignores_the_alarm_is_killed_from_outside(executor: Executor) -> None:
    source = (
        "import signal\n"
        "def f():\n"
        "    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
        "    while True:\n"
        "        pass\n"
    )
    result = await run(executor, source, returns(), AFTER)
    assert statuses(result) == [TestStatus.TIMEOUT, TestStatus.PASS]
    assert "killed" in result.outcomes[0].message
    await assert_contained(executor)


async def test_fork_bomb_is_stopped(executor: Executor) -> None:
    bomb = "import os\ndef f():\n    while True:\n        os.fork()\n"
    result = await run(executor, bomb, returns(), AFTER)
    # the process limit stops it (an error), not a time limit; and the next test runs
    assert statuses(result) == [TestStatus.ERROR, TestStatus.PASS]
    message = result.outcomes[0].message
    assert "processes" in message or "BlockingIOError" in message, message
    await assert_contained(executor)


async def test_memory_hog_gets_memory_status(executor: Executor) -> None:
    gradual = "def f():\n    hoard = []\n    while True:\n        hoard.append(bytearray(10**7))\n"
    at_once = "def f():\n    return len(bytearray(10**11))\n"
    patient = LIMITS.model_copy(update={"test_timeout": 10.0, "candidate_timeout": 20.0})
    for source in (gradual, at_once):
        program = Program(source=source, entry_point="f")
        result = await executor.run(program, [returns(), AFTER], limits=patient)
        assert statuses(result) == [TestStatus.MEMORY, TestStatus.PASS]
    await assert_contained(executor)


async def test_a_gigabyte_of_stdout_is_capped(executor: Executor) -> None:
    source = (
        "import os, sys\n"
        "def f():\n"
        "    chunk = b'x' * 2**20\n"
        "    for _ in range(1024):\n"
        "        sys.stdout.buffer.write(chunk)\n"
        "        os.write(1, chunk)\n"
        "    print('y' * 2**20)\n"
        "    return 1\n"
    )
    result = await run(executor, source, returns())
    assert statuses(result) == [TestStatus.PASS]
    assert result.stdout_truncated
    stdio = TestCase(id="io", kind="stdio", source="statement", stdin="", expected_stdout="1\n")
    flood = "import sys\nwhile True:\n    sys.stdout.write('x' * 4096)\n"
    result = await executor.run(Program(source=flood), [stdio])
    assert statuses(result) == [TestStatus.FAIL]
    assert "more than" in result.outcomes[0].message
    assert len(result.outcomes[0].actual or "") <= LIMITS.output_bytes + 100
    await assert_contained(executor)


async def test_disk_filler_hits_the_file_size_limit(executor: Executor) -> None:
    source = (
        "def f():\n"
        "    with open('big', 'wb') as file:\n"
        "        for _ in range(4096):\n"
        "            file.write(b'z' * 2**20)\n"
    )
    result = await run(executor, source, returns(), AFTER)
    assert statuses(result) == [TestStatus.ERROR, TestStatus.PASS]
    assert "File too large" in result.outcomes[0].message
    await assert_contained(executor)


async def test_many_files_fill_only_the_capped_private_tmp(executor: Executor) -> None:
    require_sandbox(executor, "filesystem")
    source = (
        "def f():\n"
        "    for i in range(4096):\n"
        "        with open(f'part{i}', 'wb') as file:\n"
        "            file.write(b'z' * 2**20)\n"
    )
    result = await run(executor, source, returns(), AFTER)
    assert statuses(result) == [TestStatus.ERROR, TestStatus.PASS]
    assert "No space left on device" in result.outcomes[0].message
    await assert_contained(executor)


@pytest.fixture
def planted() -> Iterator[Path]:
    """A file in a temporary 'home' outside /tmp (which sandboxes replace)."""
    base = "/var/tmp" if os.access("/var/tmp", os.W_OK) else None
    home = Path(tempfile.mkdtemp(prefix="plansearch-home-", dir=base))
    secret = home / "notes.txt"
    secret.write_text("keep me")
    yield secret
    for path in home.iterdir():
        path.unlink()
    home.rmdir()


async def test_files_outside_the_scratch_directory_are_untouched(
    executor: Executor, planted: Path
) -> None:
    require_sandbox(executor, "filesystem")
    source = (
        "import os\n"
        f"TARGET = {str(planted)!r}\n"
        "def f():\n"
        "    blocked = 0\n"
        "    attempts = [\n"
        "        lambda: open(TARGET, 'w').write('changed'),\n"
        "        lambda: os.remove(TARGET),\n"
        "        lambda: open(TARGET + '.new', 'w').write('new'),\n"
        "        lambda: os.rename(TARGET, TARGET + '.moved'),\n"
        "    ]\n"
        "    for attempt in attempts:\n"
        "        try:\n"
        "            attempt()\n"
        "        except OSError:\n"
        "            blocked += 1\n"
        "    return blocked\n"
    )
    result = await run(executor, source, returns("4"))
    assert statuses(result) == [TestStatus.PASS], result.outcomes[0].message
    assert planted.read_text() == "keep me"
    assert sorted(path.name for path in planted.parent.iterdir()) == ["notes.txt"]
    await assert_contained(executor)


async def test_api_keys_never_reach_candidates(
    executor: Executor, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = f"sk-test-{secrets.token_hex(8)}"
    for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GITHUB_TOKEN", "SERVICE_SECRET"):
        monkeypatch.setenv(name, marker)
    search_proc = executor.isolation.processes  # without a PID namespace /proc shows the user's
    source = (
        "import os\n"
        f"MARKER = {marker!r}\n"
        "def f():\n"
        "    seen = [k for k, v in os.environ.items() if MARKER in v or k.endswith('_KEY')]\n"
        f"    if {search_proc!r}:\n"
        "        for pid in os.listdir('/proc'):\n"
        "            try:\n"
        "                if MARKER.encode() in open(f'/proc/{pid}/environ', 'rb').read():\n"
        "                    seen.append(pid)\n"
        "            except OSError:\n"
        "                pass\n"
        "    return seen\n"
    )
    # a new executor, started while the keys are in this process's environment
    async with Executor(workers=1, limits=LIMITS, isolation=executor.isolation.level) as fresh:
        result = await run(fresh, source, returns("[]"))
    assert statuses(result) == [TestStatus.PASS], result.outcomes[0].message
    await assert_contained(executor)


async def test_candidates_cannot_reach_a_local_listener(executor: Executor) -> None:
    require_sandbox(executor, "network")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        source = (
            "import socket\n"
            "def f():\n"
            "    try:\n"
            f"        socket.create_connection(('127.0.0.1', {port}), timeout=0.5).close()\n"
            "    except OSError:\n"
            "        return 'blocked'\n"
            "    return 'connected'\n"
        )
        result = await run(executor, source, returns("'blocked'"))
        assert statuses(result) == [TestStatus.PASS], result.outcomes[0].message
        with pytest.raises(BlockingIOError):
            listener.accept()
    await assert_contained(executor)


async def test_killing_the_parent_does_not_stop_the_executor(executor: Executor) -> None:
    source = "import os\ndef f():\n    os.kill(os.getppid(), 9)\n    return 1\n"
    result = await run(executor, source, returns())
    if executor.isolation.processes:
        # the fork server is PID 1 of the sandbox: a signal from inside cannot kill it
        assert statuses(result) == [TestStatus.PASS]
    else:
        # the candidate's own error, not the executor's
        assert statuses(result) == [TestStatus.ERROR]
        assert "killed the test worker" in result.outcomes[0].message
        # a candidate queued behind it on the same worker is run again on the new worker
        async with Executor(workers=1, limits=LIMITS, isolation="rlimits") as single:
            killer = run(single, source, returns())
            innocent = single.run(NORMAL, [returns()])
            killed, survived = await asyncio.gather(killer, innocent)
        assert statuses(killed) == [TestStatus.ERROR]
        assert statuses(survived) == [TestStatus.PASS]
    await assert_contained(executor)


async def test_killing_every_process_stays_inside_the_sandbox(executor: Executor) -> None:
    if not executor.isolation.processes:
        pytest.skip(
            f"level {executor.isolation.level}: kill(-1, 9) would reach every process of this "
            "user; only a PID namespace contains it"
        )
    source = (
        "import os, time\n"
        "def f():\n"
        "    child = os.fork()\n"
        "    if child == 0:\n"
        "        time.sleep(60)\n"
        "    os.kill(-1, 9)  # every process it may signal, but PID 1 and itself\n"
        "    return os.waitpid(child, 0)[1]\n"
    )
    result = await run(executor, source, returns("9"))  # the sleeping child was killed
    assert statuses(result) == [TestStatus.PASS], result.outcomes[0].message
    await assert_contained(executor)


async def test_exiting_before_the_tests_is_never_a_pass(executor: Executor) -> None:
    for exit_call in ("sys.exit(0)", "os._exit(0)"):
        source = f"import os, sys\n{exit_call}\ndef f():\n    return 1\n"
        result = await run(executor, source, returns(), AFTER)
        assert statuses(result) == [TestStatus.ERROR, TestStatus.ERROR], exit_call
        assert all("exit" in outcome.message for outcome in result.outcomes)
    await assert_contained(executor)


async def test_forged_reports_are_rejected(executor: Executor) -> None:
    forger = (
        "import os\n"
        "def f(payload):\n"
        "    for fd in os.listdir('/proc/self/fd'):\n"
        "        if int(fd) > 2:\n"
        "            try:\n"
        "                os.write(int(fd), payload)\n"
        "            except OSError:\n"
        "                pass\n"
        "    return 1\n"
    )
    garbage = TestCase(
        id="garbage", kind="docstring", source="d", call="f(b'\\x00\\x00\\x00\\x05garbage')"
    )
    result = await run(executor, forger, garbage, AFTER)
    assert statuses(result) == [TestStatus.ERROR, TestStatus.PASS]
    assert "interfered with the test channel" in result.outcomes[0].message
    # half a frame left in the pipe must not reach the next candidate
    half = TestCase(id="half", kind="docstring", source="d", call="f(b'\\x00\\x00\\x10')")
    result = await run(executor, forger, half)
    assert statuses(result) != [TestStatus.PASS]
    await assert_contained(executor)


async def test_setsid_orphans_are_killed(executor: Executor) -> None:
    marker = f"{secrets.randbelow(10**6) + 10**6}.5"
    source = (
        "import os, time\n"
        "def f():\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(60)\n"
        "        if os.fork() == 0:\n"
        f"            os.execv('/bin/sleep', ['sleep', '{marker}'])\n"
        "        os._exit(0)\n"
        "    time.sleep(0.2)\n"
        "    return 1\n"
    )
    result = await run(executor, source, returns())
    assert statuses(result) == [TestStatus.PASS]
    await assert_contained(executor, marker.encode())
