"""Verdicts, decided on the trusted side from what a candidate's process reported.

`Planner.plan` turns each test into what the sandbox is sent (never an expected value of a
test judged here) and what stays behind to judge it; `judge` turns the report into a
`TestOutcome`. A child reports values, outputs and exceptions, never statuses, so a candidate
that forges, patches or reads anything in its own process cannot make a test judged here
pass without returning what the test expects. Test code that cannot be split into calls and
expected values still runs whole in the candidate's process: its verdicts are labelled
`in_process`.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import CodeType
from typing import Any

from plansearch.execution import compare, split, values
from plansearch.execution.asserts import compile_test
from plansearch.execution.messages import (
    Mode,
    Outcome,
    RaisedProbe,
    Report,
    WireLimits,
    WireTest,
)
from plansearch.execution.testcode import test_filename
from plansearch.types import (
    Judged,
    SideEffect,
    TestCase,
    TestOutcome,
    TestStatus,
)

_CACHED = 512
_NOT_LITERAL = object()
_INTERFERED = "interfered with the test channel"


@dataclass(frozen=True)
class PlannedTest:
    """One test as the sandbox gets it, and what stays outside to judge it."""

    wire: WireTest
    mode: Mode
    judged: Judged
    expected: Any = None
    """The literal expected value of a call test (None for doctest text, `_NOT_LITERAL` or
    absent when the test has none)."""
    expectations: tuple[split.Expectation, ...] = field(default=())
    required: tuple[int, ...] = ()
    """Probes a split test records whenever it runs to its end (see `split.SplitTest`)."""


class Planner:
    """Plans tests, remembering the last ones planned (every candidate runs the same tests;
    one per executor, so nothing compiled for one executor is reused by another)."""

    def __init__(self, limit: int = _CACHED) -> None:
        self._plans: dict[TestCase, PlannedTest] = {}
        self._limit = limit

    def plan(self, case: TestCase) -> PlannedTest:
        planned = self._plans.get(case)
        if planned is None:
            if len(self._plans) >= self._limit:
                self._plans.clear()
            planned = self._plans[case] = _plan(case)
        return planned


def wire_test(planned: PlannedTest, case: TestCase, output_bytes: int) -> WireTest:
    """What the fork server is sent for `case` under a run's limits."""
    if planned.mode != "stdio":
        return planned.wire
    return {**planned.wire, "output_cap": output_cap(case, output_bytes)}


def output_cap(case: TestCase, output_bytes: int) -> int:
    """How much a stdio test's program may print: enough for twice the expected output."""
    return max(output_bytes, 2 * len((case.expected_stdout or "").encode()) + 1024)


def _plan(case: TestCase) -> PlannedTest:
    if case.kind in ("docstring", "generated"):
        call = case.call or ""
        if case.doctest_output:
            return PlannedTest(
                {**_wire(case, "call"), "call": call, "doctest": True}, "call", "outside"
            )
        expected = _NOT_LITERAL if case.expected is None else literal(case.expected)
        if expected is _NOT_LITERAL and case.expected is not None:
            wire: WireTest = {**_wire(case, "compare"), "call": call, "expected": case.expected}
            return PlannedTest(wire, "compare", "in_process")
        return PlannedTest({**_wire(case, "call"), "call": call}, "call", "outside", expected)
    if case.kind == "stdio":
        return PlannedTest({**_wire(case, "stdio"), "stdin": case.stdin or ""}, "stdio", "outside")
    code = case.code or ""
    if case.trusted:
        parts = split.split_test(code, case.function if case.kind == "pytest" else None)
        if parts is not None:
            wire = {**_wire(case, "probe"), "code": parts.display_source, "function": case.function}
            compiled = _compiled(parts.code, test_filename(wire), plain=True)
            if compiled is not None:
                wire["compiled"] = compiled
                return PlannedTest(
                    wire,
                    "probe",
                    "outside",
                    expectations=parts.expectations,
                    required=parts.required,
                )
    wire = {**_wire(case, "code"), "code": code, "function": case.function}
    if case.trusted:  # model-written test code is compiled inside the sandbox only
        compiled = _compiled(code, test_filename(wire))
        if compiled is not None:
            wire["compiled"] = compiled
    return PlannedTest(wire, "code", "in_process")


def _wire(case: TestCase, mode: Mode) -> WireTest:
    """What the sandbox is sent for every test (the rest depends on `mode`)."""
    return {"id": case.id, "kind": case.kind, "source": case.source, "mode": mode}


def _compiled(source: str, filename: str, plain: bool = False) -> CodeType | None:
    try:
        return (
            compile(source, filename, "exec", dont_inherit=True)
            if plain
            else compile_test(source, filename)
        )
    except Exception:  # a syntax error, or code too deep to compile: the child says why
        return None


def literal(text: str) -> Any:
    """The value of a literal expression (also `float("inf")` and the like), or `_NOT_LITERAL`."""
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    special = text.replace(" ", "").replace("'", '"')
    for sign in ("", "-"):
        for name in ("inf", "infinity", "nan"):
            if special.lower() == f'{sign}float("{name}")':
                return float(f"{sign}{name}")
    return _NOT_LITERAL


# judging -----------------------------------------------------------------------------------


def judge(case: TestCase, planned: PlannedTest, raw: Outcome, limits: WireLimits) -> TestOutcome:
    """The outcome of `case` from what the fork server replied for it."""
    if "status" in raw:  # decided by the fork server, outside the candidate's process
        return TestOutcome(
            test_id=case.id,
            status=_status(raw.get("status")),
            message=str(raw.get("message") or "")[:4000],
            duration_ms=_number(raw.get("duration_ms")),
        )
    report = raw.get("r")
    if not isinstance(report, dict):
        return _outcome(case, TestStatus.ERROR, f"{_INTERFERED} (no report)", planned.judged)
    try:
        outcome = _judged(case, planned, report, limits, bool(raw.get("import")))
    except values.MalformedValue as exc:
        outcome = _outcome(case, TestStatus.ERROR, f"{_INTERFERED} ({exc})", planned.judged)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        message = f"{_INTERFERED} (a malformed report: {type(exc).__name__})"
        outcome = _outcome(case, TestStatus.ERROR, message, planned.judged)
    return outcome.model_copy(update={"duration_ms": _number(report.get("d"))})


def side_effects(raw: Any) -> list[SideEffect]:
    """The effects the fork server observed and the child reported."""
    effects: list[SideEffect] = []
    if not isinstance(raw, list):
        return effects
    for item in raw:
        if isinstance(item, list) and len(item) == 3:
            kind, detail, seen = item
            if kind in (
                "file",
                "process",
                "network",
                "secret",
                "environment",
                "signal",
            ) and seen in ("outside", "reported"):
                effects.append(SideEffect(kind=kind, detail=str(detail)[:200], seen=seen))
    return effects


def _judged(
    case: TestCase, planned: PlannedTest, report: Report, limits: WireLimits, on_import: bool
) -> TestOutcome:
    kind = report.get("k")
    if kind == "limit":
        return _limit(case, report, limits, on_import)
    if on_import:
        return _import_failure(case, report)
    if planned.mode == "call":
        return _call(case, planned, report)
    if planned.mode == "compare":
        return _compared(case, report)
    if planned.mode == "probe":
        return _probed(case, planned, report)
    if planned.mode == "code":
        return _code(case, report)
    return _stdio(case, report, limits)


def _limit(case: TestCase, report: Report, limits: WireLimits, on_import: bool) -> TestOutcome:
    where = "while importing the program: " if on_import else ""
    if report.get("what") == "memory":
        return _outcome(
            case, TestStatus.MEMORY, f"{where}MemoryError (limit {limits['memory_mb']} MB)"
        )
    return _outcome(
        case, TestStatus.TIMEOUT, f"{where}did not finish within {limits['test_timeout']:g} s"
    )


def _import_failure(case: TestCase, report: Report) -> TestOutcome:
    if report.get("k") == "exit":
        message = (
            f"the program called sys.exit({str(report.get('code'))[:100]}) on import; no test ran"
        )
        return _outcome(case, TestStatus.ERROR, message)
    error = _exception(report)
    return _outcome(
        case, TestStatus.ERROR, f"import failed: {error.line}", traceback=error.traceback
    )


def _call(case: TestCase, planned: PlannedTest, report: Report) -> TestOutcome:
    call = case.call or ""
    if report.get("k") == "raised":
        error = _exception(report)
        expected = case.expected or ""
        if case.doctest_output and expected.lstrip().startswith(
            "Traceback (most recent call last):"
        ):
            wanted = expected.strip().splitlines()[-1].strip()
            if _exception_lines_match(error.line, wanted):
                return _outcome(case, TestStatus.PASS, actual=error.line)
            message = f"{call}\nexpected: {wanted}\nraised:   {error.line}"
            return _outcome(case, TestStatus.FAIL, message, actual=error.line, expected=wanted)
        return _error(case, error)
    value = values.decode(report["v"])
    if case.doctest_output:
        return _doctest(case, report, value)
    actual = values.canonical(value)
    if planned.expected is _NOT_LITERAL:  # a model-written test without an expected value
        return _outcome(case, TestStatus.PASS, actual=actual)
    if compare.values_equal(value, planned.expected):
        return _outcome(case, TestStatus.PASS, actual=actual)
    return _outcome(
        case,
        TestStatus.FAIL,
        f"{call}: {mismatch(value, planned.expected)}",
        actual=actual,
        expected=compare.short_repr(planned.expected),
    )


def _doctest(case: TestCase, report: Report, value: Any) -> TestOutcome:
    got = str(report.get("o") or "")
    if value is not None:
        shown = report.get("r")
        got += (
            shown if isinstance(shown, str) else values.show(value, 10 * compare.REPR_LIMIT)
        ) + "\n"
    expected = case.expected or ""
    actual = compare.clip(got, compare.REPR_LIMIT)
    if compare.doctest_matches(got, expected):
        return _outcome(case, TestStatus.PASS, actual=actual)
    message = f"{case.call}\n{compare.text_diff(got.rstrip(), expected.rstrip())}"
    return _outcome(
        case,
        TestStatus.FAIL,
        message,
        actual=actual,
        expected=compare.clip(expected.rstrip(), compare.REPR_LIMIT),
    )


def _compared(case: TestCase, report: Report) -> TestOutcome:
    if report.get("k") == "raised":
        return _error(case, _exception(report), "in_process")
    value, wanted = values.decode(report["v"]), values.decode(report["w"])
    actual = values.canonical(value)
    if report.get("ok") is True:
        return _outcome(case, TestStatus.PASS, actual=actual, judged="in_process")
    message = f"{case.call}: {mismatch(value, wanted)}"
    return _outcome(
        case,
        TestStatus.FAIL,
        message,
        actual=actual,
        expected=values.show(wanted),
        judged="in_process",
    )


def _probed(case: TestCase, planned: PlannedTest, report: Report) -> TestOutcome:
    entries = report.get("p") or []
    if not isinstance(entries, list):
        raise TypeError("probes")
    observed: list[str] = []
    recorded: set[int] = set()
    for entry in entries:
        index = entry[0]
        if index == -1:
            return _outcome(case, TestStatus.ERROR, "checked more values than can be judged")
        if type(index) is not int or not 0 <= index < len(planned.expectations):
            raise IndexError("probe")
        expectation = planned.expectations[index]
        recorded.add(index)
        if expectation.kind == "raises":
            value: Any = _raised_description(entry[1])
            truth = None
        else:
            value = values.decode(entry[1])
            truth = entry[2] if len(entry) > 2 else None
            observed.append(values.canonical(value))
        failure = expectation.check(value, truth if isinstance(truth, bool) else None)
        if failure is not None:
            shown = None if expectation.kind == "raises" else values.show(value)
            expected = compare.short_repr(expectation.expected)
            return _outcome(case, TestStatus.FAIL, failure, actual=shown, expected=expected)
    actual = compare.clip("; ".join(observed), compare.REPR_LIMIT) if observed else None
    if report.get("k") == "raised":
        error = _exception(report)
        if error.is_failure:
            return _outcome(
                case, TestStatus.FAIL, error.message or error.line, traceback=error.traceback
            )
        return _error(case, error)
    if not recorded.issuperset(planned.required):
        message = f"{_INTERFERED} (the test ended without reporting its checks)"
        return _outcome(case, TestStatus.ERROR, message)
    return _outcome(case, TestStatus.PASS, actual=actual)


def _code(case: TestCase, report: Report) -> TestOutcome:
    if report.get("k") == "done":
        return _outcome(case, TestStatus.PASS, judged="in_process")
    error = _exception(report)
    if error.is_failure:
        message = error.message or "assertion failed"
        return _outcome(
            case, TestStatus.FAIL, message, traceback=error.traceback, judged="in_process"
        )
    if error.pytest_outcome("Skipped"):
        return _outcome(case, TestStatus.ERROR, f"skipped: {error.message}", judged="in_process")
    return _error(case, error, "in_process")


def _stdio(case: TestCase, report: Report, limits: WireLimits) -> TestOutcome:
    if report.get("k") == "raised":
        error = _exception(report)
        if "SystemExit" in error.types:
            return _outcome(
                case, TestStatus.ERROR, f"the program exited with status {error.message}"
            )
        return _error(case, error)
    got = str(report.get("o") or "")
    expected = case.expected_stdout or ""
    # a program's whole output, as far as the limit kept it: graders may compare it again
    actual = compare.clip(got, output_cap(case, limits["output_bytes"]))
    if report.get("over"):
        message = f"the program wrote more than {output_cap(case, limits['output_bytes'])} bytes"
        return _outcome(case, TestStatus.FAIL, message, actual=actual)
    if compare.stdout_matches(got, expected):
        return _outcome(case, TestStatus.PASS, actual=actual)
    message = "output differs\n" + compare.text_diff(got, expected)
    return _outcome(
        case,
        TestStatus.FAIL,
        message,
        actual=actual,
        expected=compare.clip(expected, compare.REPR_LIMIT),
    )


def mismatch(value: Any, expected: Any) -> str:
    """'expected X, got Y', or why a value that is not plain data cannot be compared."""
    if isinstance(value, values.Opaque):
        if value.too_large:
            return f"the {value.type_name} returned is too large to check"
        return (f"expected {compare.short_repr(expected)}, got a {value.type_name} object "
                f"({compare.clip(value.repr_text, 200)}), which is not plain data and cannot be "
                "compared outside the sandbox")  # fmt: skip
    return compare.describe_mismatch(value, expected)


@dataclass(frozen=True)
class _Exception:
    types: tuple[str, ...]
    message: str
    line: str
    traceback: str | None

    def pytest_outcome(self, name: str) -> bool:
        """Whether this is pytest's `name` outcome (pytest names its module "builtins")."""
        last = {full.rpartition(".")[2] for full in self.types}
        return name in last and "OutcomeException" in last

    @property
    def is_failure(self) -> bool:
        """An assertion that did not hold, or `pytest.fail`."""
        return "AssertionError" in self.types or self.pytest_outcome("Failed")


def _exception(report: Report) -> _Exception:
    raw = report.get("e")
    if not isinstance(raw, dict):
        raise TypeError("exception")
    types = raw.get("types")
    names = tuple(str(name)[:200] for name in types[:50]) if isinstance(types, list) else ()
    traceback = raw.get("traceback")
    return _Exception(
        types=names,
        message=str(raw.get("message") or "")[:4000],
        line=str(raw.get("line") or (names[0] if names else "exception"))[:4000],
        traceback=str(traceback)[:8000] if traceback is not None else None,
    )


def _raised_description(raw: Any) -> RaisedProbe:
    if not isinstance(raw, dict):
        raise TypeError("raises probe")
    types = raw.get("types")
    return {
        "raised": raw.get("raised") is True,
        "types": [str(name) for name in types[:50]] if isinstance(types, list) else [],
        "message": str(raw.get("message") or "")[:4000],
    }


def _error(case: TestCase, error: _Exception, judged: Judged = "outside") -> TestOutcome:
    return _outcome(case, TestStatus.ERROR, error.line, traceback=error.traceback, judged=judged)


def _exception_lines_match(got: str, wanted: str) -> bool:
    """Doctest's rule for an expected exception: same type (module prefix ignored), same text."""

    def split_line(line: str) -> tuple[str, str]:
        kind, _, detail = line.partition(":")
        return kind.rpartition(".")[2], detail.strip()

    return split_line(got) == split_line(wanted)


def _outcome(
    case: TestCase,
    status: TestStatus,
    message: str = "",
    judged: Judged = "outside",
    *,
    actual: str | None = None,
    expected: str | None = None,
    traceback: str | None = None,
) -> TestOutcome:
    return TestOutcome(
        test_id=case.id,
        status=status,
        message=compare.clip(message, 4000) if message else "",
        actual=actual,
        expected=expected if status is not TestStatus.PASS else None,
        traceback=traceback,
        judged=judged,
    )


def _status(value: object) -> TestStatus:
    try:
        return TestStatus(str(value))
    except ValueError:
        return TestStatus.EXECUTOR_ERROR


def _number(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return max(0.0, float(value))
    return 0.0


def plan_all(planner: Planner, cases: Sequence[TestCase]) -> list[PlannedTest]:
    """Every case planned, in order."""
    return [planner.plan(case) for case in cases]
