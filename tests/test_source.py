"""The Python-source utilities: lines, definitions, headers, brackets and string literals."""

from __future__ import annotations

import ast
import textwrap

import pytest

from plansearch.source import (
    DEF_HEADER,
    FunctionNode,
    definition_start,
    find_function,
    header_colon,
    last_line,
    lsp_lines,
    lsp_lines_with_breaks,
    matching_bracket,
    relocate_function,
    string_literal_end,
    walk_functions,
)

MODULE = textwrap.dedent('''\
    import functools


    @functools.lru_cache(
        maxsize=None,
    )
    @staticmethod
    def cached(x):
        return x


    async def fetch(url: str) -> bytes: ...


    square = lambda x: x * x


    class Outer:
        @property
        def value(self):
            def helper():
                def deeper(): pass
                return 1
            return helper()

        class Inner:
            async def run(self): pass

        def value(self):  # redefined: Python binds this one
            return 2


    if True:
        def hidden(): pass


    @dataclass
    class Point:
        x: int
    ''')


_NOT_BREAKS = "\u2028\u2029\x0c\x0b\x1c\x1d\x1e\x85"
"""Characters `str.splitlines` breaks at, and neither Python nor LSP does."""


def _function(source: str, qualname: str) -> FunctionNode:
    node = find_function(ast.parse(source), qualname)
    assert node is not None
    return node


# --------------------------------------------------------------------------- lines


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("", [""]),
        ("one", ["one"]),
        ("a\nb\r\nc\rd", ["a", "b", "c", "d"]),
        ("a\n", ["a", ""]),
        ("\r\r\n\n", ["", "", "", ""]),
        (f"x = '{_NOT_BREAKS}'  # one line", [f"x = '{_NOT_BREAKS}'  # one line"]),
    ],
)
def test_lsp_lines_break_only_at_cr_lf_and_crlf(text: str, lines: list[str]) -> None:
    assert lsp_lines(text) == lines


def test_lsp_lines_differ_from_str_splitlines_where_python_source_does() -> None:
    text = "a = 1\x0cb = '\u2028'\nc = 3\n"
    assert text.splitlines() == ["a = 1", "b = '", "'", "c = 3"]
    assert lsp_lines(text) == ["a = 1\x0cb = '\u2028'", "c = 3", ""]
    for char in _NOT_BREAKS:
        assert f"a{char}b".splitlines() == ["a", "b"]
        assert lsp_lines(f"a{char}b") == [f"a{char}b"]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_lsp_lines_number_lines_as_ast_does(newline: str) -> None:
    source = newline.join(["x = '\u2028'", "", "def f():", "    return 1", ""])
    node = ast.parse(source).body[1]
    assert isinstance(node, ast.FunctionDef)
    lines = lsp_lines(source)
    assert lines[node.lineno - 1] == "def f():"
    assert lines[last_line(node) - 1] == "    return 1"


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("", []),
        ("one", ["one"]),
        ("a\n", ["a\n"]),
        ("a\r\nb\rc\nd", ["a\r\n", "b\r", "c\n", "d"]),
        ("\r\r\n\n", ["\r", "\r\n", "\n"]),
        ("a\u2028b\x0cc\n", ["a\u2028b\x0cc\n"]),
    ],
)
def test_lsp_lines_with_breaks_keep_each_break_and_join_back(text: str, lines: list[str]) -> None:
    assert lsp_lines_with_breaks(text) == lines
    assert "".join(lines) == text
    assert [line.rstrip("\r\n") for line in lines] == lsp_lines(text)[: len(lines)]


# --------------------------------------------------------------------------- definitions


def test_definition_start_includes_decorators_spanning_lines() -> None:
    tree = ast.parse(MODULE)
    lines = lsp_lines(MODULE)
    starts = {getattr(node, "name", type(node).__name__): definition_start(node)
              for node in tree.body}
    assert lines[starts["cached"] - 1] == "@functools.lru_cache("
    assert lines[starts["Point"] - 1] == "@dataclass"
    assert lines[starts["fetch"] - 1].startswith("async def fetch")
    assert lines[starts["Assign"] - 1] == "square = lambda x: x * x"
    assert lines[starts["Import"] - 1] == "import functools"
    method = _function(MODULE, "Outer.Inner.run")
    assert lines[definition_start(method) - 1] == "        async def run(self): pass"
    first_value = next(node for name, node in walk_functions(tree) if name == "Outer.value")
    assert lines[definition_start(first_value) - 1] == "    @property"


def test_last_line_of_statements_and_expressions() -> None:
    tree = ast.parse(MODULE)
    cached = tree.body[1]
    assert isinstance(cached, ast.FunctionDef)
    assert lsp_lines(MODULE)[last_line(cached) - 1] == "    return x"
    decorator = cached.decorator_list[0]
    assert lsp_lines(MODULE)[last_line(decorator) - 1] == ")"
    assert last_line(ast.Pass(lineno=3, col_offset=0)) == 3  # built, not parsed


def test_walk_functions_names_methods_and_nested_functions_in_source_order() -> None:
    tree = ast.parse(MODULE)
    assert [name for name, _node in walk_functions(tree)] == [
        "cached", "fetch", "Outer.value", "Outer.Inner.run", "Outer.value",
    ]
    assert [name for name, _node in walk_functions(tree, nested=True)] == [
        "cached",
        "fetch",
        "Outer.value",
        "Outer.value.<locals>.helper",
        "Outer.value.<locals>.helper.<locals>.deeper",
        "Outer.Inner.run",
        "Outer.value",
    ]
    kinds = {name: type(node) for name, node in walk_functions(tree)}
    assert kinds["fetch"] is ast.AsyncFunctionDef and kinds["cached"] is ast.FunctionDef
    assert list(walk_functions(ast.parse("x = lambda: 1\n"))) == []


def test_find_function_returns_the_definition_python_binds() -> None:
    tree = ast.parse(MODULE)
    later = _function(MODULE, "Outer.value")
    assert later.decorator_list == [] and later.body[0].lineno == later.lineno + 1
    assert [n.name for n in ast.walk(later) if isinstance(n, ast.FunctionDef)] == ["value"]
    assert isinstance(find_function(tree, "Outer.Inner.run"), ast.AsyncFunctionDef)
    assert find_function(tree, "fetch") is tree.body[2]
    shadowed = "class A:\n    def f(self): pass\nclass A:\n    pass\n"
    assert find_function(ast.parse(shadowed), "A.f") is None


@pytest.mark.parametrize(
    "qualname",
    ["missing", "square", "hidden", "Outer", "Outer.missing", "cached.inner",
     "Outer.value.helper", "Outer.value.<locals>.helper", "Nope.value", ""],
)
def test_find_function_does_not_find(qualname: str) -> None:
    assert find_function(ast.parse(MODULE), qualname) is None


def test_relocate_function_finds_a_function_moved_by_edits_above_it() -> None:
    before = relocate_function(MODULE, "Outer.Inner.run")
    edited = "# a new comment\n\n\ndef added(\n    a,\n):\n    pass\n" + MODULE
    assert before is not None
    assert relocate_function(edited, "Outer.Inner.run") == (before[0] + 7, before[1] + 7)
    start, end = relocate_function(edited, "cached") or (0, 0)
    assert lsp_lines(edited)[start - 1 : end] == [
        "@functools.lru_cache(", "    maxsize=None,", ")", "@staticmethod",
        "def cached(x):", "    return x",
    ]


def test_relocate_function_reads_crlf_and_a_byte_order_mark() -> None:
    source = "\ufeff" + MODULE.replace("\n", "\r\n")
    assert relocate_function(source, "fetch") == relocate_function(MODULE, "fetch")


@pytest.mark.parametrize(
    ("source", "qualname"),
    [
        (MODULE, "gone"),
        (MODULE.replace("def cached", "def cached("), "cached"),  # no longer parses
        ("def f():\n    pass\0\n", "f"),  # a null byte
        (MODULE.replace("class Outer", "class Renamed"), "Outer.value"),
    ],
)
def test_relocate_function_says_when_the_function_is_gone(source: str, qualname: str) -> None:
    assert relocate_function(source, qualname) is None


# --------------------------------------------------------------------------- headers


def _colon(source: str, qualname: str) -> tuple[int, int]:
    return header_colon(lsp_lines(source), _function(source, qualname))


def _colon_text(source: str, qualname: str) -> str:
    """The source up to and including the header's colon, from the `def` line."""
    line, column = _colon(source, qualname)
    node = _function(source, qualname)
    lines = lsp_lines(source)
    return "\n".join([*lines[node.lineno - 1 : line - 1], lines[line - 1][: column + 1]])


def test_header_colon_of_plain_and_one_line_defs() -> None:
    assert _colon("def f(x):\n    return x\n", "f") == (1, 8)
    assert _colon("def f(x): return {x: x[1:]}\n", "f") == (1, 8)
    assert _colon_text(MODULE, "fetch") == "async def fetch(url: str) -> bytes:"
    assert _colon_text(MODULE, "Outer.Inner.run") == "        async def run(self):"


def test_header_colon_skips_decorators_parameters_strings_and_comments() -> None:
    source = textwrap.dedent('''\
        class A:
            @route("/a:b", methods={"GET": ":"})
            def f(
                self,
                a: dict[str, int] = {"k:": 1, "(": 2},
                b: str = "):",  # a comment: with ) and :
                *,
                c=lambda y: y[1:],
                d="""x:
        ]]:""",
            ) -> "Mapping[str, int]":  # trailing: comment
                pass
        ''')
    line, column = _colon(source, "A.f")
    assert (line, column) == (11, 28)
    assert lsp_lines(source)[line - 1][column:] == ":  # trailing: comment"


def test_header_colon_skips_the_colons_of_lambdas_in_the_return_annotation() -> None:
    source = "def f() -> lambda: lambda x: x: return 1\n"
    assert _colon_text(source, "f") == "def f() -> lambda: lambda x: x:"
    assert _colon_text("def g() -> (lambda: 1): pass\n", "g") == "def g() -> (lambda: 1):"


def test_header_colon_counts_columns_in_characters_on_any_line_ending() -> None:
    for newline in ("\n", "\r\n", "\r"):
        source = newline.join(["x = 1", "def f(s='é€😀', t=(", "  1)):  # ü", "  pass", ""])
        assert _colon(source, "f") == (3, 5)
    assert _colon_text("def f(s='é€😀'):\n pass\n", "f") == "def f(s='é€😀'):"


def test_header_colon_says_when_the_lines_are_not_the_nodes() -> None:
    node = _function("def f(x):\n    pass\n", "f")
    with pytest.raises(ValueError, match="no colon ends the header of f"):
        header_colon(["x = 1", "y = 2"], node)
    with pytest.raises(ValueError):
        header_colon(["def f(x,", "  y"], node)  # a bracket never closes
    with pytest.raises(ValueError):
        header_colon([], node)


def test_def_header_finds_defs_at_line_starts() -> None:
    text = "prose def no(\ndef f (a):\nasync  def g(\n    def indented(self):\ndef h\n"
    assert [m["name"] for m in DEF_HEADER.finditer(text)] == ["f", "g"]
    match = DEF_HEADER.match("async def run(x) -> int")
    assert match is not None and match["name"] == "run"
    assert DEF_HEADER.match("f(x)") is None


# --------------------------------------------------------------------------- brackets


@pytest.mark.parametrize(
    ("text", "group"),
    [
        ("(a, b) tail", "(a, b)"),
        ("f([1, (2, 3)], {'a': [4]}) + 1", "([1, (2, 3)], {'a': [4]})"),
        ("x = [')', \"]\", '''(\n]''', \"\\\"]\"] + y", "[')', \"]\", '''(\n]''', \"\\\"]\"]"),
        ("([a], (b,\n c))", "([a], (b,\n c))"),
        ("(a, # ) not the end\n b) + c", "(a, # ) not the end\n b)"),
        ("print(f(1)) ", "(f(1))"),
    ],
)
def test_matching_bracket(text: str, group: str) -> None:
    start = text.index(group)
    assert matching_bracket(text, start) == start + len(group)


@pytest.mark.parametrize(
    "text",
    ["(a, b", "(a]", "[(a])", "(')", "('''a)", "(a, # b)", ")"],
)
def test_matching_bracket_none_when_the_group_does_not_close_properly(text: str) -> None:
    assert matching_bracket(text, 0) is None


def test_matching_bracket_tolerant_for_nearly_python_text() -> None:
    assert matching_bracket("[a, (b], c) d", 0, tolerant=True) == 11  # `)` closes `[`
    assert matching_bracket("[a, (b], c) d", 0) is None
    assert matching_bracket("[step #1, step #2]", 0, tolerant=True) == 18
    assert matching_bracket("[step #1, step #2]", 0) is None
    assert matching_bracket("['a)', \"b]\"] x", 0, tolerant=True) == 12
    assert matching_bracket("['a", 0, tolerant=True) is None


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("'abc' + x", 0, 5),
        ('"a\\"b" tail', 0, 6),
        ("x = 'it\\'s'", 4, 11),
        ("''", 0, 2),
        ("'' + ''", 5, 7),
        ('"""a "quoted" \n line""" + 1', 0, 23),
        ("'''\n'''", 0, 7),
        ("'a\\\nb'", 0, 6),  # an escaped line break continues the string
        ('f"{x}" y', 1, 6),
    ],
)
def test_string_literal_end(text: str, start: int, end: int) -> None:
    assert string_literal_end(text, start) == end


@pytest.mark.parametrize("text", ["'abc", "'abc\n'", '"""abc""', "'''abc\n''"])
def test_string_literal_end_none_when_unterminated(text: str) -> None:
    assert string_literal_end(text, 0) is None
