"""Verdicts decided outside the candidate's process (plansearch.execution.judge): what the
sandbox is sent for each test, and how a child's report becomes an outcome."""

from __future__ import annotations

import marshal
import types
from typing import Any

import pytest

from plansearch.execution import judge, values
from plansearch.execution.protocol import Message
from plansearch.types import TestCase, TestStatus

LIMITS: Message = {"test_timeout": 2.0, "memory_mb": 256, "output_bytes": 1024}
CHECK = "def check(candidate):\n    assert candidate(2) == 4242, 'two'\ncheck(f)\n"


def doc(call: str, expected: str | None, **extra: Any) -> TestCase:
    return TestCase(
        id="d", kind="docstring", source="docstring", call=call, expected=expected, **extra
    )


def code(source: str = CHECK, **extra: Any) -> TestCase:
    return TestCase(id="c", kind="assert", source="humaneval", code=source, **extra)


def constants(compiled: types.CodeType) -> list[object]:
    found: list[object] = []
    for constant in compiled.co_consts:
        if isinstance(constant, types.CodeType):
            found += constants(constant)
        else:
            found.append(constant)
    return found


def value_report(value: object, **extra: Any) -> Message:
    return {"r": {"k": "value", "v": values.plain(value), "y": values.truth(value), **extra}}


def outcome(case: TestCase, raw: Message) -> Any:
    return judge.judge(case, judge.Planner().plan(case), raw, LIMITS)


@pytest.mark.parametrize(
    ("case", "mode", "judged"),
    [
        (doc("f(2)", "4242"), "call", "outside"),
        (doc("f(2)", "4242", doctest_output=True), "call", "outside"),
        (doc("f(2)", "Point(4242)"), "compare", "in_process"),
        (code(), "probe", "outside"),
        (code("for n in (1, 2):\n    assert f(n) == 4242\n"), "code", "in_process"),
        (code(trusted=False), "code", "in_process"),
        (
            TestCase(
                id="s", kind="stdio", source="statement", stdin="1\n", expected_stdout="4242\n"
            ),
            "stdio",
            "outside",
        ),
    ],
    ids=["value", "doctest", "not-literal", "split", "loop", "model-written", "stdio"],
)
def test_each_test_is_planned_in_its_mode(case: TestCase, mode: str, judged: str) -> None:
    planned = judge.Planner().plan(case)
    assert (planned.mode, planned.judged) == (mode, judged)
    wire = judge.wire_test(planned, case, 1024)
    # what the sandbox gets never holds the expected value of a test judged outside
    sent = marshal.dumps(wire)
    if judged == "outside":
        assert b"4242" not in sent
        assert "expected" not in wire and "expected_stdout" not in wire
    compiled = wire.get("compiled")
    if compiled is not None and judged == "outside":
        assert 4242 not in constants(compiled)


def test_trusted_code_is_shipped_compiled_and_model_written_code_is_not() -> None:
    trusted = judge.Planner().plan(code("assert f(1) == g(2)\n"))
    model = judge.Planner().plan(code("assert f(1) == g(2)\n", trusted=False))
    assert isinstance(trusted.wire["compiled"], types.CodeType)
    assert "compiled" not in model.wire


def test_plans_are_made_once_per_planner_and_the_cache_is_bounded() -> None:
    planner = judge.Planner(limit=2)
    first = planner.plan(code())
    assert planner.plan(code()) is first
    for number in range(3):
        planner.plan(code(f"assert f({number}) == {number}\n"))
    assert planner.plan(code()) is not first  # the cache was emptied when it filled


def test_a_value_is_compared_outside_with_float_tolerance() -> None:
    case = doc("f(2)", "[0.3, {'a': (1, 2)}]")
    passed = outcome(case, value_report([0.1 + 0.2, {"a": (1, 2)}]))
    assert (passed.status, passed.judged) == (TestStatus.PASS, "outside")
    failed = outcome(case, value_report([0.3, {"a": [1, 2]}]))
    assert failed.status is TestStatus.FAIL
    assert failed.message.startswith("f(2): expected [0.3, {'a': (1, 2)}], got")
    assert failed.expected == "[0.3, {'a': (1, 2)}]"


def test_an_object_that_is_not_plain_data_never_equals_a_literal() -> None:
    # what an always-equal object looks like once the child has described it
    report = {"r": {"k": "value", "v": ["o", "candidate.Equal", "Equal()"], "y": True}}
    failed = outcome(doc("f(2)", "4242"), report)
    assert failed.status is TestStatus.FAIL
    assert "candidate.Equal object" in failed.message and "not plain data" in failed.message


def test_doctest_output_is_matched_outside() -> None:
    case = doc("f(2)", "hello\n4242", doctest_output=True)
    assert outcome(case, value_report(4242, o="hello\n")).status is TestStatus.PASS
    assert outcome(case, value_report(4243, o="hello\n")).status is TestStatus.FAIL
    raised = {
        "r": {
            "k": "raised",
            "e": {"types": ["ValueError", "Exception"], "message": "no", "line": "ValueError: no"},
        }
    }
    expects_error = doc(
        "f(2)", "Traceback (most recent call last):\n...\nValueError: no", doctest_output=True
    )
    assert outcome(expects_error, raised).status is TestStatus.PASS
    assert outcome(case, raised).status is TestStatus.ERROR


def test_split_probes_are_checked_in_order() -> None:
    case = code()
    planned = judge.Planner().plan(case)
    ok = {"r": {"k": "done", "p": [[0, 4242, True]]}}
    assert judge.judge(case, planned, ok, LIMITS).status is TestStatus.PASS
    wrong = {"r": {"k": "done", "p": [[0, 4, True]]}}
    failed = judge.judge(case, planned, wrong, LIMITS)
    assert failed.status is TestStatus.FAIL
    assert failed.message.splitlines() == [
        "two",
        "assert candidate(2) == 4242",
        "expected 4242, got 4",
    ]


@pytest.mark.parametrize(
    "report",
    [
        {"k": "done", "p": []},  # the probe was replaced: the checks never reached the judge
        {"k": "done", "p": [[5, 4242, True]]},  # a probe that does not exist
        {"k": "done", "p": [[0, ["x", "?"], True]]},  # a malformed value
        {"k": "done", "p": "all good"},
        {"k": "value", "v": 4242},  # not what a split test reports
    ],
    ids=["no-probes", "unknown-probe", "malformed-value", "not-a-list", "wrong-kind"],
)
def test_a_report_the_child_could_not_honestly_send_is_an_error(report: Message) -> None:
    result = outcome(code(), {"r": report})
    assert result.status is TestStatus.ERROR
    assert "interfered with the test channel" in result.message


def test_in_process_verdicts_are_labelled() -> None:
    case = code("for n in (1, 2):\n    assert f(n) == 4242\n")
    done = outcome(case, {"r": {"k": "done", "p": []}})
    assert (done.status, done.judged) == (TestStatus.PASS, "in_process")
    failed = outcome(
        case, {"r": {"k": "raised", "e": {"types": ["AssertionError"], "message": "no"}}}
    )
    assert (failed.status, failed.judged) == (TestStatus.FAIL, "in_process")


def test_statuses_the_fork_server_decided_are_kept() -> None:
    result = outcome(doc("f(2)", "4242"), {"status": "timeout", "message": "killed"})
    assert (result.status, result.message) == (TestStatus.TIMEOUT, "killed")
    assert outcome(doc("f(2)", "1"), {"status": "pass"}).status is TestStatus.PASS


def test_an_import_failure_is_the_candidates_error() -> None:
    raised = {
        "k": "raised",
        "e": {"types": ["NameError"], "line": "NameError: x", "traceback": "Traceback..."},
    }
    result = outcome(doc("f(2)", "4242"), {"r": raised, "import": True})
    assert (result.status, result.message) == (TestStatus.ERROR, "import failed: NameError: x")


def test_literals_include_infinities() -> None:
    assert judge.literal("float('inf')") == float("inf")
    assert judge.literal("-float('inf')") == float("-inf")
    assert judge.literal("(1, [2])") == (1, [2])
    assert judge.literal("Point(1)") is judge._NOT_LITERAL
