"""LiveCodeBench's grading rules, applied on the trusted side to what the executor recorded.

The executor judges a stdin test with its own tolerant comparison (`stdout_matches`: also
case-insensitive, floats within 1e-4) and a call test with `values_equal` (floats within
1e-4). LiveCodeBench is stricter, and in one case more lenient:

- standard output: both texts stripped and split at newlines, the same number of lines, each
  line equal once stripped, or else both lines read as whitespace-separated decimals
  (`decimal.Decimal`) and the lists equal. No case folding, no float tolerance:
  ``0.50`` equals ``0.5`` and ``1e3`` equals ``1000``, ``0.3333`` does not equal
  ``0.33333``.
- a call: the result, a tuple turned into a list, ``==`` the expected value decoded from
  JSON. No float tolerance.

Every verdict here is re-decided from the recorded output, so a test the executor passed may
fail and a call returning a tuple where a list is expected passes. A standard output longer
than the executor records whole keeps the executor's tolerant verdict, flagged `tolerant`.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from plansearch.bench.literals import parse_value
from plansearch.bench.tasks import Verdict
from plansearch.execution.compare import REPR_LIMIT
from plansearch.types import TestCase, TestOutcome, TestStatus

_CLIPPED = re.compile(r"\.\.\. \[\d+ more characters\]\Z")
_JUDGED_VALUES = (TestStatus.PASS, TestStatus.FAIL)


def stdout_matches(actual: str, expected: str) -> bool:
    """LiveCodeBench's comparison of a program's standard output with the expected one."""
    got, want = _stripped_lines(actual), _stripped_lines(expected)
    if len(got) != len(want):
        return False
    for got_line, want_line in zip(got, want, strict=True):
        if got_line == want_line:
            continue
        got_numbers, want_numbers = _decimals(got_line), _decimals(want_line)
        if got_numbers is None or want_numbers is None:
            return False
        try:
            if got_numbers != want_numbers:
                return False
        except InvalidOperation:  # a signalling NaN
            return False
    return True


def result_matches(actual: Any, expected: Any) -> bool:
    """LiveCodeBench's comparison of a call's result with the expected value."""
    if isinstance(actual, tuple):
        actual = list(actual)
    try:
        return bool(actual == expected)
    except Exception:
        return False


def grade_stdin(case: TestCase, outcome: TestOutcome) -> Verdict:
    """A stdin test's verdict as LiveCodeBench gives it."""
    if outcome.status is not TestStatus.PASS:
        return Verdict(False, f"{outcome.status}: {outcome.message}")
    actual = outcome.actual or ""
    if len(actual) > REPR_LIMIT and _CLIPPED.search(actual):
        return Verdict(True, tolerant=True)
    if stdout_matches(actual, case.expected_stdout or ""):
        return Verdict(True)
    return Verdict(False, "output differs (compared as LiveCodeBench does: line by line, "
                          f"numbers as decimals): got {actual[:200]!r}")


def grade_functional(case: TestCase, outcome: TestOutcome) -> Verdict:
    """A functional test's verdict as LiveCodeBench gives it."""
    if outcome.status not in _JUDGED_VALUES:
        return Verdict(False, f"{outcome.status}: {outcome.message}")
    try:
        actual, expected = parse_value(outcome.actual or ""), parse_value(case.expected or "")
    except ValueError:  # not plain data: the executor's comparison stands
        if outcome.status is TestStatus.PASS:
            return Verdict(True)
        return Verdict(False, f"fail: {outcome.message}")
    if result_matches(actual, expected):
        return Verdict(True)
    call, want, got = (_short(text) for text in (case.call, case.expected, outcome.actual))
    return Verdict(False, f"{call}: expected {want}, got {got}")


def _short(text: str | None, limit: int = 200) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _stripped_lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().split("\n")]


def _decimals(line: str) -> list[Decimal] | None:
    try:
        return [Decimal(token) for token in line.split()]
    except InvalidOperation:
        return None
