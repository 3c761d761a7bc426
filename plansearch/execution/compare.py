"""Tolerant comparison of results and outputs, and readable descriptions of a mismatch.

Runs inside the sandbox's children; standard library only.
"""

from __future__ import annotations

import ast
import difflib
import math
from typing import Any

TOLERANCE = 1e-4
REPR_LIMIT = 1000


def short_repr(value: object, limit: int = REPR_LIMIT) -> str:
    """repr of a value, cut to `limit` characters; never raises."""
    try:
        text = repr(value)
    except Exception as exc:  # a candidate's __repr__ may fail
        text = f"<unrepresentable {type(value).__name__}: {type(exc).__name__}>"
    return clip(text, limit)


def clip(text: str, limit: int) -> str:
    """`text`, cut to `limit` characters with a note of how much was dropped."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit} more characters]"


def values_equal(actual: Any, expected: Any, tolerance: float = TOLERANCE) -> bool:
    """Equality as `==`, except that floats may differ by `tolerance` (absolute or relative),
    also inside lists, tuples and dict values."""
    try:
        if bool(actual == expected):
            return True
    except Exception:  # e.g. an array whose truth value is ambiguous
        pass
    if _is_number(actual) and _is_number(expected):
        if isinstance(actual, float) or isinstance(expected, float):
            if math.isnan(actual) and math.isnan(expected):
                return True
            return math.isclose(actual, expected, rel_tol=tolerance, abs_tol=tolerance)
        return False
    if isinstance(actual, list | tuple) and type(actual) is type(expected):
        return len(actual) == len(expected) and all(
            values_equal(a, e, tolerance) for a, e in zip(actual, expected, strict=True)
        )
    if isinstance(actual, dict) and isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(
            values_equal(actual[key], expected[key], tolerance) for key in expected
        )
    return False


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def describe_mismatch(actual: object, expected: object) -> str:
    """'expected X, got Y', with a line diff when the values are long."""
    want, got = short_repr(expected), short_repr(actual)
    message = f"expected {want}, got {got}"
    if len(want) + len(got) > 120:
        message += "\n" + text_diff(got, want)
    return message


def text_diff(actual: str, expected: str, limit: int = 40) -> str:
    """A unified diff from expected to actual, at most `limit` lines."""
    lines = list(
        difflib.unified_diff(
            _diff_lines(expected), _diff_lines(actual), "expected", "actual", lineterm=""
        )
    )
    if len(lines) > limit:
        lines = [*lines[:limit], f"... [{len(lines) - limit} more diff lines]"]
    return "\n".join(lines)


def _diff_lines(text: str) -> list[str]:
    lines = text.splitlines()
    if len(lines) == 1 and len(text) > 80:
        # one long repr: break it at element boundaries so the diff points somewhere useful
        lines = text.replace(", ", ",\n").splitlines()
    return lines


def stdout_matches(actual: str, expected: str, tolerance: float = TOLERANCE) -> bool:
    """Exact, then stripped, then case-insensitive, then line by line with float tolerance."""
    if actual == expected:
        return True
    got, want = actual.strip(), expected.strip()
    if got == want or got.lower() == want.lower():
        return True
    got_lines = [line.strip() for line in got.splitlines()]
    want_lines = [line.strip() for line in want.splitlines()]
    if len(got_lines) != len(want_lines):
        return False
    return all(_line_matches(g, w, tolerance) for g, w in zip(got_lines, want_lines, strict=True))


def _line_matches(got: str, want: str, tolerance: float) -> bool:
    if got.lower() == want.lower():
        return True
    got_tokens, want_tokens = got.split(), want.split()
    if len(got_tokens) != len(want_tokens):
        return False
    return all(
        g == w or _floats_close(g, w, tolerance)
        for g, w in zip(got_tokens, want_tokens, strict=True)
    )


def _floats_close(got: str, want: str, tolerance: float) -> bool:
    try:
        a, b = float(got), float(want)
    except ValueError:
        return False
    return math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance)


def doctest_matches(got: str, want: str, tolerance: float = TOLERANCE) -> bool:
    """Doctest's comparison of printed text, ignoring trailing and repeated whitespace, and
    accepting Python literals that are equal within the float tolerance."""
    if got.rstrip() == want.rstrip() or " ".join(got.split()) == " ".join(want.split()):
        return True
    try:
        got_value, want_value = ast.literal_eval(got.strip()), ast.literal_eval(want.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return values_equal(got_value, want_value, tolerance)
