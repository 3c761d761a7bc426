"""Informative assertions: `assert f(x) == y` fails with both sides shown, as pytest does.

Each `assert` holding one comparison becomes a call to `check_compare`, which evaluates both
sides in the same order and raises AssertionError with their values. Other asserts without a
message get their source text as message. The rewrite is done on the source text where a
quick scan can do it safely (the common case; it costs a plain compile and keeps every operand
at its line and column), otherwise through the syntax tree; both give the same code. Runs on
both sides of the sandbox; standard library only.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
from types import CodeType
from typing import Any, NamedTuple, TypeVar

from plansearch.execution.compare import describe_mismatch, short_repr

# as long as "assert", so that the text path keeps every operand at its column
HELPER = "__ac__"
_Node = TypeVar("_Node", bound=ast.expr | ast.stmt)
_SOURCE_LIMIT = 200

_OPERATORS: dict[type[ast.cmpop], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Eq: ("==", operator.eq),
    ast.NotEq: ("!=", operator.ne),
    ast.Lt: ("<", operator.lt),
    ast.LtE: ("<=", operator.le),
    ast.Gt: (">", operator.gt),
    ast.GtE: (">=", operator.ge),
    ast.Is: ("is", operator.is_),
    ast.IsNot: ("is not", operator.is_not),
    ast.In: ("in", lambda a, b: a in b),
    ast.NotIn: ("not in", lambda a, b: a not in b),
}
_BY_SYMBOL = {symbol: function for symbol, function in _OPERATORS.values()}


def check_compare(
    left: Any, right: Any, symbol: str, source: str, message: Callable[[], object] | None
) -> None:
    """Evaluate `left <symbol> right`; raise AssertionError describing both sides if false."""
    if _BY_SYMBOL[symbol](left, right):
        return
    lines = [] if message is None else [str(message())]
    lines.append(f"assert {source}")
    if symbol == "==":
        lines.append(describe_mismatch(left, right))
    else:
        lines.append(f"left: {short_repr(left)}")
        lines.append(f"right: {short_repr(right)}")
    raise AssertionError("\n".join(lines))


def compile_test(source: str, filename: str) -> CodeType:
    """Compile test code with its asserts made informative."""
    spliced = _splice(source)
    if spliced is not None:
        try:
            code: CodeType = compile(spliced, filename, "exec", dont_inherit=True)
            return code
        except SyntaxError:  # the tree reports the error in the source as written
            pass
    tree = ast.parse(source, filename)
    _Rewriter(source).block(tree.body)
    code = compile(tree, filename, "exec", dont_inherit=True)
    return code


_BLOCKS = ("body", "orelse", "finalbody")


class _Rewriter:
    """Rewrites the asserts of a module in place, walking statements only (asserts are
    statements; test files are long, and visiting every expression in Python is slow)."""

    def __init__(self, source: str) -> None:
        self._lines = [line.encode() for line in source.split("\n")]

    def block(self, statements: list[ast.stmt]) -> None:
        for index, statement in enumerate(statements):
            if isinstance(statement, ast.Assert):
                statements[index] = self._assert(statement)
                continue
            for name in _BLOCKS:
                inner = getattr(statement, name, None)
                if isinstance(inner, list):
                    self.block(inner)
            for part in (*getattr(statement, "handlers", ()), *getattr(statement, "cases", ())):
                self.block(part.body)

    def _assert(self, node: ast.Assert) -> ast.stmt:
        text = self._source_of(node.test)
        test = node.test
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            symbol = _OPERATORS[type(test.ops[0])][0]
            message: ast.expr = _at(ast.Constant(None), node)
            if node.msg is not None:
                message = _at(ast.Lambda(_no_arguments(), node.msg), node)
            call = ast.Call(
                _at(ast.Name(HELPER, ast.Load()), node),
                [
                    test.left,
                    test.comparators[0],
                    _at(ast.Constant(symbol), node),
                    _at(ast.Constant(text), node),
                    message,
                ],
                [],
            )
            return _at(ast.Expr(_at(call, node)), node)
        if node.msg is None:
            node.msg = _at(ast.Constant(f"assert {text}"), node)
        return node

    def _source_of(self, node: ast.expr) -> str:
        """The source text of an expression (offsets are in UTF-8 bytes), on one line."""
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        end = node.end_col_offset or 0
        if first == last:
            raw = self._lines[first][node.col_offset : end]
        else:
            middle = self._lines[first + 1 : last]
            raw = b" ".join(
                [self._lines[first][node.col_offset :], *middle, self._lines[last][:end]]
            )
        return _shown(raw.decode(errors="replace"))


def _shown(source: str) -> str:
    """An expression's source as messages show it: on one line, at most _SOURCE_LIMIT long."""
    text = " ".join(source.split())
    return text if len(text) <= _SOURCE_LIMIT else text[:_SOURCE_LIMIT] + "..."


def _at(new: _Node, old: ast.stmt) -> _Node:
    """Give a new node the location of the statement it replaces."""
    new.lineno, new.col_offset = old.lineno, old.col_offset
    new.end_lineno, new.end_col_offset = old.end_lineno, old.end_col_offset
    return new


def _no_arguments() -> ast.arguments:
    return ast.arguments(
        posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]
    )


# The text path: each assert found by a scan of its statement's tokens (strings, comments,
# brackets, commas, comparison operators, keywords) and rewritten in place, text of the same
# length standing for "assert" and for the operator. Whatever the scan cannot be sure of (a
# triple-quoted string that could hold a line beginning with "assert", a backslash line
# continuation, an assert after a colon or a semicolon, a keyword it does not follow, a test
# in parentheses, a starred operand) leaves the source to the tree.

_ASSERT_STATEMENT = re.compile(r"^[ \t]*(assert)[ \t]+", re.MULTILINE)
_ASSERT_WORD = re.compile(r"\bassert\b")
_COMMENT_LINE = re.compile(r"^[ \t]*#.*$", re.MULTILINE)
# what the scan does not follow: triple-quoted strings, backslash continuations, a lone "\r"
# (a line end to Python, not to the scan), a keyword right after a number ("1if", "0x1for")
_UNSURE = re.compile(r"\"\"\"|'''|\\\r?\n|\r(?!\n)|\d(?:and|or|not|in|is|if|else|for|lambda)\b")
_STRING_BODY = r""""[^"\\\n]*(?:\\.[^"\\\n]*)*"|'[^'\\\n]*(?:\\.[^'\\\n]*)*'"""
_STRING = f"(?P<string>{_STRING_BODY})"
_BRACKETS = r"(?P<comment>#[^\n]*)|(?P<open>[(\[{])|(?P<close>[)\]}])"


def _nested(inner: str) -> str:
    """A bracketed group whose content is made of `inner`, other text and strings."""
    content = f"(?:[^()\\[\\]{{}}\"'#]++|{_STRING_BODY}|{inner})*+"
    return f"\\({content}\\)|\\[{content}\\]|\\{{{content}\\}}"


# a whole group, brackets nested three deep, without comments: one token for the common case
_GROUP = f"(?P<group>{_nested(_nested(_nested('(?!)')))})"
# Each pattern is matched where the last token ended: it skips what cannot begin a token, then
# takes one. Inside brackets only strings, comments and brackets matter.
_SKIP_OUTSIDE = r"[^\"'#()\[\]{}<>=!,;\n\-A-Za-z_]*"
_INSIDE = re.compile(rf"[^\"'#()\[\]{{}}]*(?:{_STRING}|{_BRACKETS})")
_OUTSIDE = re.compile(
    f"{_SKIP_OUTSIDE}(?:{_STRING}|{_GROUP}|{_BRACKETS}"
    r"|(?P<shift><<=?|>>=?|->)|(?P<compare>==|!=|<=|>=|<|>)|(?P<comma>,)|(?P<end>\n|;)"
    r"|(?P<equals>=)|(?P<word>[^\W\d]\w*)|(?P<other>[-!]))"
)
_REST = re.compile(rf"{_SKIP_OUTSIDE}\Z")
_AFTER_NOT = re.compile(r"[ \t]+in\b")
_AFTER_IS = re.compile(r"[ \t]+not\b")
# keywords binding looser than a comparison: the test is then no comparison
_LOOSE = frozenset(("and", "or", "not", "if", "else"))
# keywords the scan does not follow ("lambda x, y: ..." has a comma of its own), or that
# cannot be in an assert's test
_UNSURE_WORDS = frozenset(
    {
        "as", "assert", "async", "break", "class", "continue", "def", "del", "elif", "except",
        "finally", "for", "from", "global", "import", "lambda", "nonlocal", "pass", "raise",
        "return", "try", "while", "with", "yield",
    }
)  # fmt: skip


class _Statement(NamedTuple):
    """Where the parts of one assert statement are, as offsets into the source."""

    compares: list[tuple[int, int, str]]
    """The comparison operators outside brackets and before the message: start, end, symbol."""
    loose: bool
    """Whether a keyword binding looser than a comparison is outside brackets in the test."""
    comma: int | None
    """The comma before the message."""
    end: int
    """The end of the last token (trailing blanks and comment excluded)."""
    first_group_end: int
    """The end of the bracketed group the test begins with (-1 if it begins otherwise)."""


def _splice(source: str) -> str | None:
    """`source` with its asserts made informative, every operand kept at its line and column;
    None if the scan cannot be sure of the result."""
    if _UNSURE.search(source):
        return None
    pieces: list[str] = []
    done = 0
    found = 0
    for match in _ASSERT_STATEMENT.finditer(source):
        start = match.end()
        statement = _scan(source, start)
        if statement is None:
            return None
        replacement = _rewritten(source, match.start(1), start, statement)
        if replacement is None:
            return None
        pieces += (source[done : match.start(1)], replacement)
        done = statement.end
        found += source.count("assert", match.start(1), statement.end)
    # every other "assert" must be in a comment line: else it may be a statement not seen
    if found != source.count("assert") and not _only_comments_left(source, found):
        return None
    pieces.append(source[done:])
    return "".join(pieces)


def _only_comments_left(source: str, found: int) -> bool:
    """Whether the "assert" words besides the `found` ones are all in comment lines or in
    longer names."""
    return len(_ASSERT_WORD.findall(_COMMENT_LINE.sub("", source))) == found


def _scan(source: str, start: int) -> _Statement | None:
    """The parts of the assert statement whose test begins at `start`."""
    compares: list[tuple[int, int, str]] = []
    loose = False
    comma: int | None = None
    comment: int | None = None  # where a comment ending the statement begins
    depth = 0
    first_group_end = -1
    position = start
    while True:
        match = (_OUTSIDE if depth == 0 else _INSIDE).match(source, position)
        kind = match.lastgroup if match is not None else None
        if match is None or kind is None:  # the end of the source, or a token not followed
            if depth or not _REST.match(source, position):
                return None
            stop = len(source) if comment is None else comment
            return _Statement(compares, loose, comma, _before_blanks(source, stop), first_group_end)
        token_start, position = match.span(kind)
        if kind == "end":
            if match.group(kind) == ";":
                return None
            stop = token_start if comment is None else comment
            return _Statement(compares, loose, comma, _before_blanks(source, stop), first_group_end)
        if kind == "group":
            if token_start == start:
                first_group_end = position
        elif kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
            if depth < 0:
                return None
            if depth == 0 and first_group_end < 0 and source[start] in "([{":
                first_group_end = position
        elif kind == "comment" and depth == 0:
            comment = token_start
        elif kind == "comma" and comma is None:
            comma = token_start
        elif kind == "comma":
            return None  # a second comma: not an assert
        elif comma is not None or kind in ("string", "comment", "shift", "other"):
            continue
        elif kind == "compare":
            compares.append((token_start, position, match.group(kind)))
        elif kind == "equals":
            return None
        elif kind == "word":
            word = match.group(kind)
            follower = _AFTER_NOT if word == "not" else _AFTER_IS if word == "is" else None
            joined = follower.match(source, position) if follower is not None else None
            if joined is not None:  # "not in", "is not"
                position = joined.end()
                compares.append((token_start, position, f"{word} {joined.group().strip()}"))
            elif word in ("in", "is"):
                compares.append((token_start, position, word))
            elif word in _LOOSE:
                loose = True
            elif word in _UNSURE_WORDS:
                return None


def _before_blanks(source: str, position: int) -> int:
    """`position` moved back over the blanks before it."""
    while position > 0 and source[position - 1] in " \t\r\f":
        position -= 1
    return position


def _rewritten(source: str, keyword: int, start: int, statement: _Statement) -> str | None:
    """The text standing for source[keyword : statement.end], None if unsure."""
    test_end = statement.end if statement.comma is None else _before_blanks(source, statement.comma)
    if test_end <= start or source[start] == "*":
        return None
    if source[start] == "(" and statement.first_group_end == test_end:
        return None  # the test in parentheses: the tree would see what is inside
    text = _shown(source[start:test_end])
    if len(statement.compares) != 1 or statement.loose:
        if statement.comma is not None:
            return source[keyword : statement.end]
        return f"{source[keyword:test_end]}, {f'assert {text}'!r}"
    operator_start, operator_end, symbol = statement.compares[0]
    right = source[operator_end:test_end]
    if right.lstrip().startswith("*"):
        return None
    call = [
        HELPER,
        "(",
        " " * (start - keyword - len(HELPER) - 1),
        source[start:operator_start],
        ",",
        " " * (operator_end - operator_start - 1),
        right,
        f", {symbol!r}, {text!r}, ",
    ]
    if statement.comma is None:
        call.append("None)")
    else:
        message = source[statement.comma + 1 : statement.end].lstrip(" \t")
        call += ["lambda: ", message, ")"]
    return "".join(call)
