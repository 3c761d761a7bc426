"""Test discovery on real-looking workspaces, docstrings, asserts and statements."""

from __future__ import annotations

import textwrap
from pathlib import Path

from plansearch.problem import Example, Problem
from plansearch.testsources import examples, workspace
from plansearch.testsources.statements import stdio_cases
from plansearch.testsources.workspace import discover_workspace_tests


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


PRICING_TESTS = """\
    import unittest

    import pytest

    import shop.pricing as sp
    from shop.pricing import total as compute_total


    def check(prices, expected):
        assert compute_total(prices) == expected


    def make_prices():
        return [1.0, 2.0]


    def test_empty():
        assert compute_total([]) == 0


    def test_via_module_alias():
        assert sp.total([1.0]) == 1.2


    def test_via_helper():
        check(make_prices(), 3.6)


    def test_unrelated():
        assert make_prices() == [1.0, 2.0]


    def test_needs_fixture(tmp_path):
        assert compute_total([]) == 0


    @pytest.mark.parametrize("n", [1, 2])
    def test_parametrized(n):
        assert compute_total([n]) > 0


    @pytest.mark.skip(reason="slow")
    def test_skipped():
        assert compute_total([1]) == 1.2


    async def test_async_total():
        assert compute_total([10.0]) == 12.0


    def test_yields():
        yield compute_total([1.0]) == 99


    def test_with_a_generator_inside():
        def doubled():
            yield compute_total([1.0]) * 2
        assert list(doubled()) == [2.4]


    class TestTotal:
        def test_in_class(self):
            assert compute_total([5.0]) == 6.0

        def helper(self):
            return compute_total([1.0])


    class TotalCase(unittest.TestCase):
        def test_unittest_style(self):
            self.assertEqual(compute_total([0.0]), 0.0)
    """


def make_workspace(root: Path) -> Problem:
    write(root, "pyproject.toml", "[project]\nname = 'shop'\n")
    write(root, "src/shop/__init__.py", "")
    module = write(
        root,
        "src/shop/pricing.py",
        """\
        def total(prices):
            ...


        class Cart:
            def add(self, item):
                ...
        """,
    )
    write(root, "tests/test_pricing.py", PRICING_TESTS)
    write(
        root,
        "tests/pricing_test.py",
        """\
        from shop import pricing


        def test_star_free_module_import():
            assert pricing.total([2.0]) == 2.4
        """,
    )
    write(
        root,
        "tests/test_star.py",
        "from shop.pricing import *\n\n\ndef test_star():\n    assert total([]) == 0\n",
    )
    write(
        root,
        "tests/test_other_module.py",
        "from shop.other import total\n\n\ndef test_other():\n    assert total([]) == 0\n",
    )
    write(root, "tests/test_broken.py", "def test_broken(:\n    pass\n")
    write(root, "tests/conftest.py", "from shop.pricing import total\n\ndef test_x(): total([])\n")
    hidden_test = "from shop.pricing import total\n\n\ndef test_hidden():\n    total([])\n"
    for ignored in [
        ".venv/lib/python3.11/site-packages/shop/test_pkg.py",
        "venv/tests/test_copy.py",
        "node_modules/thing/test_js.py",
        ".git/test_git.py",
        "build/lib/tests/test_pricing.py",
    ]:
        write(root, ignored, hidden_test)
    write(root, "venv/pyvenv.cfg", "home = /usr/bin\n")
    return Problem(
        statement="Sum with VAT.",
        entry_point="total",
        qualname="total",
        signature="def total(prices):",
        source_path=str(module),
        stub_start_line=1,
        stub_end_line=2,
    )


def test_workspace_discovery_finds_the_tests_that_use_the_function(tmp_path: Path) -> None:
    problem = make_workspace(tmp_path)
    tests = discover_workspace_tests(tmp_path, problem, "shop.pricing")
    assert [t.id for t in tests] == [
        "tests/pricing_test.py::test_star_free_module_import",
        "tests/test_pricing.py::test_empty",
        "tests/test_pricing.py::test_via_module_alias",
        "tests/test_pricing.py::test_via_helper",
        "tests/test_pricing.py::test_async_total",
        "tests/test_pricing.py::test_with_a_generator_inside",
        "tests/test_pricing.py::TestTotal::test_in_class",
        "tests/test_pricing.py::TotalCase::test_unittest_style",
        "tests/test_star.py::test_star",
    ]
    by_id = {t.id: t for t in tests}
    in_class = by_id["tests/test_pricing.py::TestTotal::test_in_class"]
    assert in_class.function == "TestTotal.test_in_class"
    assert in_class.kind == "pytest"
    assert in_class.source == "tests/test_pricing.py"
    assert in_class.trusted
    assert in_class.code == (tmp_path / "tests/test_pricing.py").read_text()
    assert in_class.line == PRICING_TESTS.splitlines().index("        def test_in_class(self):") + 1


def test_workspace_discovery_is_bounded(tmp_path: Path) -> None:
    problem = make_workspace(tmp_path)
    first = discover_workspace_tests(tmp_path, problem, "shop.pricing", max_files=1)
    assert {t.source for t in first} == {"tests/pricing_test.py"}
    small = discover_workspace_tests(tmp_path, problem, "shop.pricing", max_bytes=200)
    assert {t.source for t in small} == {"tests/pricing_test.py", "tests/test_star.py"}


def test_module_name_may_be_imported_without_its_package(tmp_path: Path) -> None:
    write(tmp_path, "calc.py", "def mean(xs):\n    ...\n")
    write(
        tmp_path,
        "test_calc.py",
        "from calc import mean\nimport calc\n\n\ndef test_mean():\n    assert mean([2]) == 2\n\n\n"
        "def test_module():\n    assert calc.mean([1, 3]) == 2\n\n\n"
        "def test_other():\n    assert calc.median([1]) == 1\n",
    )
    problem = Problem(statement="Mean.", entry_point="mean", source_path=str(tmp_path / "calc.py"))
    tests = discover_workspace_tests(tmp_path, problem, "calc")
    assert [t.function for t in tests] == ["test_mean", "test_module"]


def test_method_tests_need_the_class_and_the_method(tmp_path: Path) -> None:
    problem = make_workspace(tmp_path)
    method = problem.model_copy(update={"entry_point": "add", "qualname": "Cart.add"})
    write(
        tmp_path,
        "tests/test_cart.py",
        """\
        from shop.pricing import Cart


        def test_add():
            cart = Cart()
            cart.add("pen")


        def test_no_add():
            assert Cart() is not None
        """,
    )
    write(
        tmp_path,
        "tests/test_sets.py",
        "def test_set_add():\n    s = set()\n    s.add(1)\n",
    )
    tests = discover_workspace_tests(tmp_path, method, "shop.pricing")
    assert [t.id for t in tests] == ["tests/test_cart.py::test_add"]


def test_examples_become_docstring_tests() -> None:
    problem = Problem(
        statement="Add.",
        entry_point="add",
        signature="def add(a, b):",
        examples=(
            Example(call="add(1, 2)", expected="3", kind="doctest", line=4),
            Example(call="add('a', 'b')", expected="'ab'", kind="equality", line=6),
        ),
    )
    tests = examples.tests_from_examples(problem)
    assert [
        (t.id, t.kind, t.source, t.call, t.expected, t.doctest_output, t.line) for t in tests
    ] == [
        ("docstring#1", "docstring", "docstring", "add(1, 2)", "3", True, 4),
        ("docstring#2", "docstring", "docstring", "add('a', 'b')", "'ab'", False, 6),
    ]
    statement = problem.model_copy(update={"signature": None})
    assert {t.source for t in examples.tests_from_examples(statement)} == {"statement"}


def test_asserts_keep_their_setup_and_line_numbers() -> None:
    code = (
        "from mymod import mean\n"
        "data = [1, 2, 3]\n"
        "assert mean(data) == 2\n"
        "data.append(6)\n"
        "assert mean(data) == 3, (\n"
        "    'after append')\n"
        "def helper():\n"
        "    assert False\n"
    )
    tests = workspace.tests_from_asserts(code, "checks.py")
    assert [(t.id, t.kind, t.line) for t in tests] == [
        ("checks.py:3", "assert", 3),
        ("checks.py:5", "assert", 5),
    ]
    assert tests[0].code == "from mymod import mean\ndata = [1, 2, 3]\nassert mean(data) == 2\n"
    assert tests[1].code == (
        "from mymod import mean\ndata = [1, 2, 3]\n\ndata.append(6)\n"
        "assert mean(data) == 3, (\n    'after append')\n"
    )


def test_asserts_are_cut_at_the_lines_python_counts() -> None:
    code = "data = [1]\r\nassert data == [1]\rdata.append(2)\rassert data == [1, 2]\r"
    tests = workspace.tests_from_asserts(code, "checks.py")
    assert [(t.line, t.code) for t in tests] == [
        (2, "data = [1]\nassert data == [1]\n"),
        (4, "data = [1]\n\ndata.append(2)\nassert data == [1, 2]\n"),
    ]


def test_asserts_inside_prose_are_found_line_by_line() -> None:
    statement = (
        "Write `mean(xs)` returning the average.\n\n"
        "```python\nassert mean([1, 2]) == 1.5\nassert mean([4]) == 4\n```\n"
        "  assert mean([]) is broken(\n"
    )
    tests = workspace.tests_from_asserts(statement, "statement", kind="file")
    assert [(t.id, t.code, t.kind) for t in tests] == [
        ("statement:4", "assert mean([1, 2]) == 1.5\n", "file"),
        ("statement:5", "assert mean([4]) == 4\n", "file"),
    ]


def test_explicit_tests_file_takes_all_its_tests_or_its_asserts(tmp_path: Path) -> None:
    functions = write(
        tmp_path,
        "my_checks.py",
        """\
        def test_a():
            assert f(1) == 2


        def test_b(capsys):
            pass


        def test_c():
            assert True
        """,
    )
    tests = workspace.tests_from_file(functions, source="my_checks.py")
    assert [(t.id, t.function, t.kind) for t in tests] == [
        ("my_checks.py::test_a", "test_a", "pytest"),
        ("my_checks.py::test_c", "test_c", "pytest"),
    ]
    asserts = write(tmp_path, "cases.py", "assert f(1) == 2\nassert f(2) == 4\n")
    tests = workspace.tests_from_file(asserts)
    assert [(t.source, t.kind, t.line) for t in tests] == [
        (asserts.as_posix(), "file", 1),
        (asserts.as_posix(), "file", 2),
    ]


ATCODER = """\
Problem Statement
You are given N integers. Print their sum.

Constraints
- 1 <= N <= 100

Input
Input is given from Standard Input in the following format:
N
A_1 ... A_N

Output
Print the sum of the integers.

Sample Input 1

3
1 2 3

Sample Output 1

6

We have 1 + 2 + 3 = 6, so the answer is 6.

Sample Input 2

1
-5

Sample Output 2

-5
"""


def test_atcoder_statement_samples_without_explanations() -> None:
    cases = stdio_cases(ATCODER)
    assert [(c.id, c.stdin, c.expected_stdout, c.kind, c.source) for c in cases] == [
        ("sample1", "3\n1 2 3\n", "6\n", "stdio", "statement"),
        ("sample2", "1\n-5\n", "-5\n", "stdio", "statement"),
    ]
    assert cases[0].line == ATCODER.splitlines().index("Sample Input 1") + 1


def test_codeforces_and_markdown_statements() -> None:
    codeforces = """\
A. Two Numbers
Input
The first line contains two integers a and b.
Output
Print one integer: the answer.
Examples
Input
2 3
Output
5
Input
10 -4
Output
6
Note
In the first example the sum is 5.
"""
    assert [(c.id, c.stdin, c.expected_stdout) for c in stdio_cases(codeforces)] == [
        ("sample1", "2 3\n", "5\n"),
        ("sample2", "10 -4\n", "6\n"),
    ]
    markdown = """\
## Problem
Reverse each line.

### Sample Input 1
```
ab
  cd

ef
```
### Sample Output 1
```text
ba
dc{trailing}

fe
```

**Example 2**

Input: hello
Output: olleh
""".format(trailing="  ")
    assert [(c.id, c.stdin, c.expected_stdout) for c in stdio_cases(markdown)] == [
        ("sample1", "ab\n  cd\n\nef\n", "ba\ndc\n\nfe\n"),
        ("sample2", "hello\n", "olleh\n"),
    ]


def test_statement_without_samples_gives_no_cases() -> None:
    assert stdio_cases("Input\nThe input is a single integer n.\nOutput\nPrint n squared.\n") == []
