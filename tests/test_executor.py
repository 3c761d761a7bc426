"""The executor: statuses, test kinds, tolerant comparison, limits, concurrency, cancellation
and clean shutdown, with real sandboxed fork servers."""

from __future__ import annotations

import asyncio
import gc
import linecache
import logging
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from pydantic import ValidationError

from plansearch.execution import executor as executor_module
from plansearch.execution import harness, sandbox, testcode
from plansearch.execution.compare import doctest_matches, stdout_matches, values_equal
from plansearch.execution.errors import ExecutorError
from plansearch.execution.executor import Executor
from plansearch.execution.harness import CANDIDATE_NICENESS
from plansearch.execution.limits import Limits
from plansearch.execution.sandbox import (
    LEVELS,
    SandboxUnavailable,
    detect_isolation,
    level_available,
)
from plansearch.types import CandidateRun, Program, TestCase, TestStatus
from tests.support.isolation import require_level

module_loop = pytest.mark.asyncio(loop_scope="module")

LIMITS = Limits(test_timeout=1.0, candidate_timeout=6.0)
S = TestStatus


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def executor() -> AsyncIterator[Executor]:
    async with Executor(workers=2, limits=LIMITS) as started:
        yield started


def program(source: str, entry_point: str | None = "f", module_name: str = "candidate") -> Program:
    return Program(source=source, entry_point=entry_point, module_name=module_name)


def value_test(call: str, expected: str | None, test_id: str = "t", **extra: object) -> TestCase:
    return TestCase(
        id=test_id, kind="docstring", source="docstring", call=call, expected=expected, **extra
    )


def code_test(code: str, kind: str = "assert", test_id: str = "t", **extra: object) -> TestCase:
    return TestCase(id=test_id, kind=kind, source="tests/test_f.py", code=code, **extra)  # type: ignore[arg-type]


def stdio_test(stdin: str, expected: str, test_id: str = "t") -> TestCase:
    return TestCase(
        id=test_id, kind="stdio", source="statement", stdin=stdin, expected_stdout=expected
    )


def statuses(result: CandidateRun) -> list[TestStatus]:
    return [outcome.status for outcome in result.outcomes]


ADD = program("def f(a, b):\n    return a + b\n")


# statuses, at every level


@pytest.mark.parametrize("level", LEVELS)
@module_loop
async def test_each_status_at_each_level(level: str) -> None:
    require_level(level)  # type: ignore[arg-type]
    source = "import time\ndef f(a, b):\n    if a < 0:\n        time.sleep(30)\n    return a + b\n"
    tests = [
        value_test("f(1, 2)", "3", "pass"),
        value_test("f(1, 2)", "4", "fail"),
        value_test("f(1, 'x')", "0", "error"),
        value_test("f(-1, 2)", "1", "timeout"),
    ]
    async with Executor(workers=1, limits=LIMITS, isolation=level) as started:  # type: ignore[arg-type]
        assert started.isolation.level == level
        result = await started.run(program(source), tests)
    assert [o.test_id for o in result.outcomes] == ["pass", "fail", "error", "timeout"]
    assert statuses(result) == [S.PASS, S.FAIL, S.ERROR, S.TIMEOUT]
    passed, failed, errored, timed_out = result.outcomes
    assert passed.actual == "3" and passed.duration_ms > 0
    assert failed.message == "f(1, 2): expected 4, got 3"
    assert errored.message.startswith("TypeError: unsupported operand")
    assert errored.traceback is not None and "return a + b" in errored.traceback
    assert "plansearch/execution" not in errored.traceback
    assert "1 s" in timed_out.message


# docstring and generated tests


@module_loop
async def test_float_tolerance_recurses_into_containers(executor: Executor) -> None:
    source = "def f():\n    return [0.1 + 0.2, {'a': 1.00001, 'b': (2.0, 3)}]\n"
    result = await executor.run(
        program(source),
        [
            value_test("f()", "[0.3, {'a': 1.0, 'b': (2.0, 3)}]", "close"),
            value_test("f()", "[0.3, {'a': 1.1, 'b': (2.0, 3)}]", "far"),
            value_test("f()", "[0.3, {'a': 1.0, 'b': [2.0, 3]}]", "tuple-vs-list"),
        ],
    )
    assert statuses(result) == [S.PASS, S.FAIL, S.FAIL]


def test_the_fork_servers_warm_up_leaves_nothing_for_candidates(tmp_path: Path) -> None:
    output = sys.stdout, sys.stderr
    harness.warm_up(str(tmp_path), rounds=2)
    assert (sys.stdout, sys.stderr) == output
    assert not any(name.startswith("plansearch_warm_up") for name in sys.modules)
    warm_up_files = {testcode.test_filename(test) for test in harness._WARM_UP_TESTS}
    assert not warm_up_files & set(linecache.cache)  # its tests' lines are not left behind
    assert list(tmp_path.iterdir()) == []


def test_comparisons_without_the_sandbox() -> None:
    assert values_equal(0.1 + 0.2, 0.3)
    assert not values_equal(1, 1.1)
    assert values_equal(float("nan"), float("nan"))
    assert stdout_matches("YES \n", "yes")
    assert stdout_matches("1.00001 2\n3", "1.0 2\n3.0")
    assert not stdout_matches("1 2", "1 3")
    assert not stdout_matches("1\n2", "1 2")
    assert doctest_matches("[1,  2]\n", "[1, 2]")
    assert doctest_matches("0.30000000000000004", "0.3")


@module_loop
async def test_doctest_printed_output_and_exceptions(executor: Executor) -> None:
    source = (
        "def f(n):\n"
        "    if n < 0:\n"
        "        raise ValueError('negative')\n"
        "    for i in range(n):\n"
        "        print(i)\n"
        "    return 'done'\n"
    )
    raised = "Traceback (most recent call last):\n    ...\nValueError: negative"
    result = await executor.run(
        program(source),
        [
            value_test("f(2)", "0\n1\n'done'", "printed", doctest_output=True),
            value_test("f(2)", "0\n2\n'done'", "wrong", doctest_output=True),
            value_test("f(-1)", raised, "raises", doctest_output=True),
            value_test("f(-1)", raised.replace("negative", "other"), "other", doctest_output=True),
        ],
    )
    assert statuses(result) == [S.PASS, S.FAIL, S.PASS, S.FAIL]
    assert "-2" in result.outcomes[1].message and "+1" in result.outcomes[1].message


@module_loop
async def test_doctest_statements_share_a_namespace(executor: Executor) -> None:
    result = await executor.run(
        ADD,
        [
            value_test("x = f(2, 3)", "", "assign", doctest_output=True),
            value_test("x * 2", "10", "use", doctest_output=True),
        ],
    )
    assert statuses(result) == [S.PASS, S.PASS]


@module_loop
async def test_generated_test_without_expected_value_records_the_output(
    executor: Executor,
) -> None:
    result = await executor.run(
        ADD, [TestCase(id="g", kind="generated", source="model", trusted=False, call="f(4, 5)")]
    )
    assert statuses(result) == [S.PASS]
    assert result.outcomes[0].actual == "9"


# assert, file and pytest tests


@module_loop
async def test_assert_failures_show_both_sides(executor: Executor) -> None:
    code = (
        "def check(candidate):\n"
        "    assert candidate(1, 1) == 2\n"
        "    assert candidate(2, 2) == 5, 'two and two'\n"
        "check(f)\n"
    )
    result = await executor.run(ADD, [code_test(code)])
    outcome = result.outcomes[0]
    assert outcome.status is S.FAIL
    assert outcome.message.splitlines() == [
        "two and two",
        "assert candidate(2, 2) == 5",
        "expected 5, got 4",
    ]
    # judged outside the candidate's process, from the value it sent back
    assert (outcome.judged, outcome.expected, outcome.actual) == ("outside", "5", "4")


@module_loop
async def test_in_process_failures_quote_the_failing_line(executor: Executor) -> None:
    code = (
        "def check(candidate):\n"
        "    for n in (1, 2):\n"
        "        assert candidate(n, n) == 2 * n + (n == 2), 'two and two'\n"
        "check(f)\n"
    )
    outcome = (await executor.run(ADD, [code_test(code)])).outcomes[0]
    assert (outcome.status, outcome.judged) == (S.FAIL, "in_process")
    assert outcome.message.splitlines()[0] == "two and two"
    assert outcome.traceback is not None and "line 3, in check" in outcome.traceback
    # the line itself is quoted, though the test code has no file
    assert "assert candidate(n, n) == 2 * n + (n == 2), 'two and two'\n" in outcome.traceback


@module_loop
async def test_model_written_assert_code_is_compiled_in_the_sandbox_alike(
    executor: Executor,
) -> None:
    # trusted test code arrives compiled from the executor; model-written code is compiled by
    # the child: both fail the same way
    code = "assert f(2, 2) == 5, 'two and two'\n"
    result = await executor.run(
        ADD, [code_test(code, test_id="trusted"), code_test(code, test_id="model", trusted=False)]
    )
    assert statuses(result) == [S.FAIL, S.FAIL]
    trusted, model = (outcome.message.splitlines() for outcome in result.outcomes)
    assert trusted == model == ["two and two", "assert f(2, 2) == 5", "expected 5, got 4"]


@module_loop
async def test_test_code_that_does_not_compile_is_an_error_naming_why(
    executor: Executor,
) -> None:
    tests = [code_test("def broken(:\n", test_id="broken"), code_test("assert f(1, 1) == 2")]
    result = await executor.run(ADD, tests)
    assert statuses(result) == [S.ERROR, S.PASS]
    assert result.outcomes[0].message.startswith("SyntaxError")


@module_loop
async def test_plain_assert_names_its_source(executor: Executor) -> None:
    result = await executor.run(ADD, [code_test("assert f(1, 1) > 3 and f(0, 0) == 0")])
    assert statuses(result) == [S.FAIL]
    assert result.outcomes[0].message == "assert f(1, 1) > 3 and f(0, 0) == 0"


@module_loop
async def test_file_test_imports_the_program_by_module_name(executor: Executor) -> None:
    code = (
        "from mylib.util import f\n"
        "assert f(2, 3) == 5\n"
        "import mylib.util\n"
        "assert mylib.util.f is f\n"
    )
    result = await executor.run(
        program(ADD.source, module_name="mylib.util"), [code_test(code, kind="file")]
    )
    assert statuses(result) == [S.PASS], result.outcomes[0].message


@module_loop
async def test_pytest_functions_by_name(executor: Executor) -> None:
    code = (
        "import pytest\n"
        "from candidate import f\n"
        "def test_adds():\n"
        "    assert f(1, 2) == 3\n"
        "def test_raises():\n"
        "    with pytest.raises(TypeError):\n"
        "        f(1, 'a')\n"
        "@pytest.mark.parametrize('a, b, total', [(1, 1, 2), pytest.param(2, 2, 5), (0, 0, 0)])\n"
        "def test_table(a, b, total):\n"
        "    assert f(a, b) == total\n"
        "class TestClass:\n"
        "    def test_method(self, tmp_path):\n"
        "        (tmp_path / 'x').write_text('1')\n"
        "        assert f(int((tmp_path / 'x').read_text()), 1) == 2\n"
        "def test_fixture(capsys):\n"
        "    pass\n"
        "def test_fails_explicitly():\n"
        "    pytest.fail('not yet')\n"
    )
    names = [
        "test_adds",
        "test_raises",
        "test_table",
        "TestClass::test_method",
        "test_fixture",
        "test_fails_explicitly",
    ]
    tests = [code_test(code, kind="pytest", test_id=name, function=name) for name in names]
    result = await executor.run(ADD, tests)
    assert statuses(result) == [S.PASS, S.PASS, S.FAIL, S.PASS, S.ERROR, S.FAIL]
    assert result.outcomes[2].message.startswith("[a=2, b=2, total=5]")
    assert "capsys" in result.outcomes[4].message
    assert "not yet" in result.outcomes[5].message


@module_loop
async def test_async_tests_are_awaited_and_yield_tests_refused(executor: Executor) -> None:
    code = (
        "import asyncio\n"
        "from candidate import f\n"
        "async def test_right():\n"
        "    await asyncio.sleep(0)\n"
        "    assert f(1, 2) == 3\n"
        "async def test_wrong():\n"
        "    assert f(1, 2) == 4\n"
        "class TestAsync:\n"
        "    async def test_method(self):\n"
        "        assert f(2, 2) == 5\n"
        "def test_yields():\n"
        "    yield f(1, 2) == 4\n"
    )
    names = ["test_right", "test_wrong", "TestAsync::test_method", "test_yields"]
    tests = [code_test(code, kind="pytest", test_id=name, function=name) for name in names]
    result = await executor.run(ADD, tests)
    assert statuses(result) == [S.PASS, S.FAIL, S.FAIL, S.ERROR]
    assert "yield tests" in result.outcomes[3].message


@module_loop
async def test_class_tests_are_set_up_and_torn_down_as_pytest_does(executor: Executor) -> None:
    code = (
        "import unittest\n"
        "from candidate import f\n"
        "class TestUnit(unittest.TestCase):\n"
        "    @classmethod\n"
        "    def setUpClass(cls):\n"
        "        cls.base = 1\n"
        "    def setUp(self):\n"
        "        self.a = self.base\n"
        "        self.addCleanup(print, 'cleaned up')\n"
        "    def test_right(self):\n"
        "        self.assertEqual(f(self.a, 2), 3)\n"
        "    def test_wrong(self):\n"
        "        self.assertEqual(f(self.a, 2), 4)\n"
        "class TestPlain:\n"
        "    @classmethod\n"
        "    def setup_class(cls):\n"
        "        cls.base = 2\n"
        "    def setup_method(self, method):\n"
        "        self.a = self.base\n"
        "    def teardown_method(self, method):\n"
        "        assert self.a == 2, 'torn down'\n"
        "    def test_right(self):\n"
        "        assert f(self.a, 1) == 3\n"
        "    def test_changes_what_teardown_checks(self):\n"
        "        self.a = 5\n"
    )
    names = ["TestUnit::test_right", "TestUnit::test_wrong", "TestPlain::test_right",
             "TestPlain::test_changes_what_teardown_checks"]
    tests = [code_test(code, kind="pytest", test_id=name, function=name) for name in names]
    result = await executor.run(ADD, tests)
    assert statuses(result) == [S.PASS, S.FAIL, S.PASS, S.FAIL]
    assert "torn down" in result.outcomes[3].message


# stdin/stdout programs


@module_loop
async def test_stdio_programs_are_compared_tolerantly(executor: Executor) -> None:
    source = (
        "import sys\n"
        "data = sys.stdin.read().split()\n"
        "n = int(data[0])\n"
        "print('YES' if n % 2 == 0 else 'NO ')\n"
        "print(n / 3)\n"
        "if n == 7:\n"
        "    sys.exit(0)\n"
        "if n == 9:\n"
        "    sys.exit(1)\n"
    )
    result = await executor.run(
        program(source, entry_point=None),
        [
            stdio_test("4\n", "yes\n1.3333", "tolerant"),
            stdio_test("5", "NO\n1.6666667\n", "exact-ish"),
            stdio_test("6", "NO\n2.0", "wrong"),
            stdio_test("7", "NO\n2.33333", "exit-zero"),
            stdio_test("9", "NO\n3.0", "exit-one"),
        ],
    )
    assert statuses(result) == [S.PASS, S.PASS, S.FAIL, S.PASS, S.ERROR]
    assert result.outcomes[2].actual == "YES\n2.0\n"
    assert result.outcomes[4].message == "the program exited with status 1"


@module_loop
async def test_stdio_reads_through_every_interface(executor: Executor) -> None:
    readers = [
        "print(input(), input())",
        "import sys\nprint(*sys.stdin.buffer.read().decode().split())",
        "print(*open(0).read().split())",
        "import sys\nprint(*(line.strip() for line in sys.stdin))",
    ]
    for source in readers:
        reader = program(source, entry_point=None)
        result = await executor.run(reader, [stdio_test("a\nb\n", "a b")])
        assert statuses(result) == [S.PASS], (source, result.outcomes[0].message)


# the process around the tests


@module_loop
async def test_a_crash_inside_a_test_costs_only_that_test(executor: Executor) -> None:
    source = "import os\ndef f(code):\n    os._exit(code)\n"
    result = await executor.run(
        program(source), [value_test("f(3)", "0", "a"), value_test("1 + 1", "2", "b")]
    )
    assert statuses(result) == [S.ERROR, S.PASS]
    assert result.outcomes[0].message == "the process exited with status 3 during this test"


@module_loop
async def test_syntax_error_fails_every_test_with_the_reason(executor: Executor) -> None:
    result = await executor.run(
        program("def f(:\n    pass\n"), [value_test("f()", "1", "a"), value_test("f()", "2", "b")]
    )
    assert statuses(result) == [S.ERROR, S.ERROR]
    assert result.outcomes[0].message.startswith("import failed: SyntaxError")


@module_loop
async def test_candidates_run_scrubbed_in_a_scratch_directory(executor: Executor) -> None:
    source = (
        "import os\n"
        "def f():\n"
        "    here = os.getcwd()\n"
        "    open('x.txt', 'w').write('1')\n"
        "    os.makedirs('locked/inner', exist_ok=True)\n"
        "    open('locked/inner/y.txt', 'w').write('1')\n"
        "    os.chmod('locked/inner', 0)\n"
        "    os.chmod('locked', 0)\n"
        "    with open('/proc/self/comm') as comm:\n"
        "        name = comm.read().strip()\n"
        "    files = sorted(os.listdir(here))\n"
        "    home = os.environ['HOME']\n"
        "    private = home != here and os.listdir(home) == [] and os.access(home, os.W_OK)\n"
        "    return (private, files, name, sorted(os.environ))\n"
    )
    expected = (
        "(True, ['candidate.py', 'locked', 'x.txt'], NAME, ['HOME', 'LANG', 'LC_ALL', "
        "'MKL_NUM_THREADS', 'OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'PATH', "
        "'PYTHONDONTWRITEBYTECODE', 'PYTHONIOENCODING', 'TMPDIR'])"
    ).replace("NAME", repr(executor.process_name))
    for _ in range(2):  # the second run starts from an empty scratch directory again
        result = await executor.run(program(source), [value_test("f()", expected)])
        assert statuses(result) == [S.PASS], result.outcomes[0].message


@pytest.mark.parametrize(
    "replace",
    [
        "os.rename(here, here + '-old'); os.mkdir(here)",  # another directory in its place
        "os.rename(here, here + '-old'); os.symlink('/', here)",
        "os.chmod(here, 0o500)",
    ],
    ids=["directory", "link", "read-only"],
)
@module_loop
async def test_a_replaced_scratch_directory_is_made_anew(executor: Executor, replace: str) -> None:
    # the scratch directory is the fork server's working directory, which children inherit
    source = (
        "import os\n"
        "def f(damage):\n"
        "    here = os.getcwd()\n"
        "    open('mine.txt', 'w').write('1')\n"
        "    seen = (here == os.environ['TMPDIR'], sorted(os.listdir(here)))\n"
        f"    if damage:\n        {replace}\n"
        "    return seen\n"
    )
    for damage in (True, False):
        result = await executor.run(
            program(source), [value_test(f"f({damage})", "(True, ['candidate.py', 'mine.txt'])")]
        )
        assert statuses(result) == [S.PASS], result.outcomes[0].message


@module_loop
async def test_candidates_run_below_the_fork_servers_priority(executor: Executor) -> None:
    # the fork server (started from this process) keeps this process's niceness
    expected = min(19, os.nice(0) + CANDIDATE_NICENESS)
    source = "import os\ndef f():\n    return os.getpriority(os.PRIO_PROCESS, 0)\n"
    result = await executor.run(program(source), [value_test("f()", str(expected))])
    assert statuses(result) == [S.PASS], result.outcomes[0].message


@module_loop
async def test_output_is_capped(executor: Executor) -> None:
    source = "def f():\n    print('x' * 100000)\n    return 1\n"
    generated = TestCase(id="g", kind="generated", source="model", call="f()")
    result = await executor.run(program(source), [generated])
    assert result.stdout_truncated
    assert result.outcomes[0].status is S.PASS


@module_loop
async def test_per_run_limits_override_the_executors(executor: Executor) -> None:
    source = "import time\ndef f():\n    time.sleep(0.5)\n    return 1\n"
    quick = Limits(test_timeout=0.2, candidate_timeout=2.0)
    assert statuses(await executor.run(program(source), [value_test("f()", "1")])) == [S.PASS]
    result = await executor.run(program(source), [value_test("f()", "1")], limits=quick)
    assert statuses(result) == [S.TIMEOUT]


@pytest.mark.slow
@module_loop
async def test_candidate_wall_time_is_enforced_from_outside(executor: Executor) -> None:
    source = "import time\ndef f(seconds):\n    time.sleep(seconds)\n    return 1\n"
    # each test may take 30 s, far more than the whole candidate's 1.5 s: only a limit
    # enforced from outside the candidate ends the third test
    short = Limits(test_timeout=30.0, candidate_timeout=1.5)
    calls = ["f(0)", "f(0)", "f(60)", "f(0)", "f(0)"]
    tests = [value_test(call, "1", f"t{i}") for i, call in enumerate(calls)]
    result = await executor.run(program(source), tests, limits=short)
    assert statuses(result) == [S.PASS, S.PASS, S.TIMEOUT, S.TIMEOUT, S.TIMEOUT]
    assert result.outcomes[2].message == "the candidate's 1.5 s ran out; killed during this test"
    assert all(o.message == "not run: the candidate's time ran out" for o in result.outcomes[3:])


@pytest.mark.slow
@module_loop
async def test_each_test_gets_its_own_time(executor: Executor) -> None:
    source = (
        "import signal, time\n"
        "def f(seconds, stubborn=False):\n"
        "    if stubborn:\n"
        "        signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
        "    time.sleep(seconds)\n"
        "    return 1\n"
    )
    # the four quick tests together take longer than one test may: each has its own time
    limits = Limits(test_timeout=1.0, candidate_timeout=20.0)
    tests = [value_test("f(0.3)", "1", f"quick{i}") for i in range(4)]
    tests.insert(2, value_test("f(60, stubborn=True)", "1", "stuck"))
    result = await executor.run(program(source), tests, limits=limits)
    assert statuses(result) == [S.PASS, S.PASS, S.TIMEOUT, S.PASS, S.PASS]
    assert "killed" in result.outcomes[2].message


def test_limits_are_validated() -> None:
    with pytest.raises(ValidationError):
        Limits(test_timeout=0)
    with pytest.raises(ValidationError):
        Limits(memory=5)  # type: ignore[call-arg]


# the pool


@module_loop
async def test_concurrent_runs_are_spread_over_the_workers(executor: Executor) -> None:
    source = (
        "import os, time\n"
        "def f():\n"
        "    time.sleep(0.05)\n"
        "    return (os.getppid(), os.stat('/proc/self/ns/pid').st_ino)\n"
    )
    runs = await asyncio.gather(
        *(executor.run(program(source), [value_test("f()", None)]) for _ in range(12))
    )
    assert {run.outcomes[0].status for run in runs} == {S.PASS}
    assert len({run.outcomes[0].actual for run in runs}) == 2


AFFINITY = (
    "import os, time\n"
    "def f():\n"
    "    time.sleep(0.05)\n"
    "    return sorted(os.sched_getaffinity(0))\n"
)


async def affinities(executor: Executor, runs: int) -> set[str | None]:
    """The CPUs candidates may run on, as each of `runs` concurrent candidates saw them."""
    results = await asyncio.gather(
        *(executor.run(program(AFFINITY), [value_test("f()", None)]) for _ in range(runs))
    )
    assert {result.outcomes[0].status for result in results} == {S.PASS}
    return {result.outcomes[0].actual for result in results}


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="no CPU affinity here")
@module_loop
async def test_one_worker_per_core_keeps_each_worker_to_its_own_core() -> None:
    cores = sorted(os.sched_getaffinity(0))
    async with Executor(limits=LIMITS) as pinned:  # the default: one worker per core
        assert await affinities(pinned, 4 * len(cores)) == {str([core]) for core in cores}
        dead = next(iter(pinned._workers))
        await dead.kill()  # its replacement takes its core
        assert await affinities(pinned, 4 * len(cores)) == {str([core]) for core in cores}
        assert dead not in pinned._workers


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="no CPU affinity here")
@module_loop
async def test_more_workers_than_cores_are_left_to_the_scheduler() -> None:
    cores = sorted(os.sched_getaffinity(0))
    async with Executor(workers=len(cores) + 1, limits=LIMITS) as crowded:
        assert await affinities(crowded, 2 * len(cores)) == {str(cores)}


@module_loop
async def test_cancelling_a_run_kills_its_candidate(executor: Executor) -> None:
    marker = "plansearch-cancel-test"
    source = f"import os, time\ndef f():\n    os.execv('/bin/sleep', ['{marker}', '30'])\n"
    task = asyncio.create_task(executor.run(program(source), [value_test("f()", "1")]))
    await eventually(lambda: _processes_with(marker), "the candidate to start")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not _processes_with(marker), "killed before the cancellation returned"
    assert statuses(await executor.run(ADD, [value_test("f(1, 1)", "2")])) == [S.PASS]


HOLDER = (
    "import os, time\n"
    "def f(hold):\n"
    "    while os.path.exists(hold):\n"
    "        time.sleep(0.01)\n"
    "    return 1\n"
)
"""A candidate that runs until the test removes the file `hold`."""
PATIENT = Limits(test_timeout=60.0, candidate_timeout=60.0)


def held(hold: Path) -> TestCase:
    return value_test(f"f({str(hold)!r})", "1")


@module_loop
async def test_cancelling_a_queued_run_drops_it(tmp_path: Path) -> None:
    hold = tmp_path / "hold"
    hold.touch()
    marker = f"plansearch-queued-{os.getpid()}"
    never = f"import os\ndef f():\n    os.execv('/bin/sleep', ['{marker}', '60'])\n"
    async with Executor(workers=1, limits=LIMITS, paths=[tmp_path]) as single:
        running = asyncio.create_task(single.run(program(HOLDER), [held(hold)], PATIENT))
        await eventually(lambda: _candidates(single), "the first candidate to run")
        queued = asyncio.create_task(single.run(program(never), [value_test("f()", "1")],
                                                PATIENT))
        await eventually(lambda: _outstanding(single) == 2, "the second run to be queued")
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(queued, 30)  # not behind the running candidate:
        assert not running.done()  # that one runs until `hold` is removed
        hold.unlink()
        assert statuses(await running) == [S.PASS]
        # one worker, runs in order: had the cancelled run stayed queued, it would run now
        # (for 60 s) and this one after it
        add = await asyncio.wait_for(single.run(ADD, [value_test("f(1, 1)", "2")]), 30)
        assert statuses(add) == [S.PASS]
        assert not _processes_with(marker), "the cancelled candidate never ran"


@module_loop
async def test_a_run_does_not_wait_behind_a_slow_candidate_while_a_worker_is_free(
    tmp_path: Path,
) -> None:
    hold = tmp_path / "hold"
    hold.touch()
    async with Executor(workers=2, limits=LIMITS, paths=[tmp_path]) as pair:
        slow = asyncio.create_task(pair.run(program(HOLDER), [held(hold)], PATIENT))
        await eventually(lambda: _candidates(pair), "the slow candidate to run")
        try:
            for _ in range(3):  # one after another, each while the slow one still runs
                quick = await asyncio.wait_for(pair.run(ADD, [value_test("f(1, 1)", "2")]), 30)
                assert statuses(quick) == [S.PASS]
            assert not slow.done()  # it runs until `hold` is removed
        finally:
            hold.unlink()
        assert statuses(await slow) == [S.PASS]


@module_loop
async def test_a_worker_that_does_not_answer_is_replaced_without_stray_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the executor waits the candidate's time plus a margin; a negative margin makes it give up
    # on a healthy worker, the case of a worker that hangs
    monkeypatch.setattr(executor_module, "_REPLY_MARGIN", -0.8)
    loop = asyncio.get_running_loop()
    errors: list[dict[str, object]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: errors.append(context))
    sleeper = "import time\ndef f():\n    time.sleep(0.6)\n    return 1\n"
    try:
        async with Executor(workers=1, limits=Limits(candidate_timeout=1.0)) as single:
            result = await single.run(program(sleeper), [value_test("f()", "1")])
            assert statuses(result) == [S.EXECUTOR_ERROR]
            assert "did not answer" in result.outcomes[0].message
            # the old worker is killed, and a new one takes its place
            workers, restarts = single._workers, single._restarts
            await eventually(lambda: workers and not restarts, "the replacement worker")
        del single
        gc.collect()  # an error nobody retrieved is reported when its future is collected
    finally:
        loop.set_exception_handler(previous)
    assert errors == []


@module_loop
async def test_close_leaves_no_process_behind() -> None:
    before = _descendants()
    executor = Executor(workers=2, limits=LIMITS)
    await executor.start()
    assert len(_descendants()) > len(before)
    await executor.run(ADD, [value_test("f(1, 1)", "2")])
    await executor.aclose()
    assert _descendants() == before
    with pytest.raises(ExecutorError):
        await executor.run(ADD, [value_test("f(1, 1)", "2")])


KILLED_EXECUTOR = """
import asyncio, os, sys
from plansearch.execution.executor import Executor
from plansearch.types import Program, TestCase

async def main():
    executor = Executor(workers=2, isolation="rlimits")
    await executor.start()
    program = Program(source="def f():\\n    return 1\\n", entry_point="f")
    test = TestCase(id="t", kind="assert", source="x", code="assert f() == 1\\n")
    await executor.run(program, [test])
    roots = [worker._spec.scratch_root for worker in executor._workers]
    print(*roots, flush=True)
    os.kill(os.getpid(), 9)

asyncio.run(main())
"""


def test_workers_of_a_killed_executor_remove_their_scratch_roots() -> None:
    """The fork servers see their input close and remove what they made on the host."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", KILLED_EXECUTOR], capture_output=True,
                          text=True, timeout=60, cwd=Path(__file__).resolve().parent.parent)
    roots = done.stdout.split()
    assert done.returncode == -9 and len(roots) == 2, done.stderr
    assert all(root.startswith(("/dev/shm/", "/tmp/")) for root in roots)
    waited = 0
    while any(os.path.exists(root) for root in roots) and waited < 1200:  # up to about 60 s
        time.sleep(0.05)
        waited += 1
    assert not [root for root in roots if os.path.exists(root)]


@module_loop
async def test_running_before_start_is_an_error() -> None:
    with pytest.raises(ExecutorError):
        await Executor().run(ADD, [value_test("f(1, 1)", "2")])


@module_loop
async def test_no_tests_means_no_outcomes(executor: Executor) -> None:
    assert (await executor.run(ADD, [])).outcomes == []


@module_loop
async def test_module_names_cannot_be_paths(executor: Executor) -> None:
    with pytest.raises(ValueError, match="dotted Python name"):
        await executor.run(program(ADD.source, module_name="../escape"), [value_test("1", "1")])


@module_loop
async def test_paths_are_importable_and_read_only(executor: Executor, tmp_path: Path) -> None:
    (tmp_path / "helper_mod.py").write_text("VALUE = 42\n")
    source = "import helper_mod\ndef f():\n    return helper_mod.VALUE\n"
    async with Executor(workers=1, limits=LIMITS, paths=[tmp_path]) as with_paths:
        result = await with_paths.run(program(source), [value_test("f()", "42")])
        assert statuses(result) == [S.PASS], result.outcomes[0].message
        write = code_test(f"open({str(tmp_path / 'new.txt')!r}, 'w').write('x')")
        result = await with_paths.run(program(source), [write])
    if with_paths.isolation.filesystem:
        assert "Read-only file system" in result.outcomes[0].message
        assert not (tmp_path / "new.txt").exists()


# isolation report


def test_isolation_report_describes_protections() -> None:
    report = detect_isolation()
    assert report.level in LEVELS
    text = report.describe()
    assert f"sandbox level: {report.level}" in text
    assert ("[OFF]" in text) == bool(report.protections_off)


def test_a_missing_bubblewrap_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SandboxUnavailable, match="not on PATH"):
        sandbox.probe("bwrap")


@module_loop
async def test_limits_only_level_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    available, _ = level_available("rlimits")
    assert available
    sandbox._warned.discard("rlimits")
    with caplog.at_level(logging.WARNING, logger="plansearch.execution"):
        for _ in range(2):
            async with Executor(workers=1, limits=LIMITS, isolation="rlimits") as weak:
                assert weak.isolation.protections_off
    warnings = [record for record in caplog.records if "without protection" in record.message]
    assert len(warnings) == 1
    assert "network" in warnings[0].message


async def eventually(condition: Callable[[], object], what: str, seconds: float = 30.0) -> None:
    """Wait until `condition()` holds: a bounded wait for an event, not a time limit."""
    try:
        async with asyncio.timeout(seconds):
            while not condition():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


def _candidates(executor: Executor) -> list[int]:
    """Live candidate processes of `executor` (they carry its process name)."""
    found = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/stat", "rb") as file:
                comm, _, rest = file.read().partition(b") ")
        except OSError:
            continue
        if comm.endswith(b"(" + executor.process_name.encode()) and rest[:1] != b"Z":
            found.append(int(pid))
    return found


def _outstanding(executor: Executor) -> int:
    """Requests sent to the executor's workers and not answered yet."""
    return sum(len(worker._replies) for worker in executor._workers)


def _processes_with(marker: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as file:
                if marker.encode() in file.read():
                    found.append(int(pid))
        except (OSError, ValueError):
            continue
    return found


def _descendants() -> set[int]:
    """Live processes below this one."""
    children: dict[int, list[int]] = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as file:
                fields = file.read().rpartition(")")[2].split()
        except OSError:
            continue
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(pid))
    found: set[int] = set()
    frontier = [os.getpid()]
    while frontier:
        for child in children.get(frontier.pop(), []):
            found.add(child)
            frontier.append(child)
    return found
