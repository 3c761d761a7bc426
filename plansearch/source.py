"""Reading Python source: its lines, its definitions, their headers, brackets and strings.

Lines are numbered from 1 and end at ``\\r\\n``, ``\\r`` or ``\\n``, as Python and LSP count
them. Columns are 0-based indices into a line's text (`ast`'s own column offsets count UTF-8
bytes; these do not). Nothing here imports or runs the code it reads.
"""

from __future__ import annotations

import ast
import itertools
import re
import tokenize
from collections.abc import Iterator, Sequence

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef

LINE_BREAK = re.compile(r"\r\n|\r|\n")
"""What ends a line, for LSP and for Python alike (not `str.splitlines`, which also breaks
at form feeds, U+2028 and other characters that may be in a line of Python source)."""

DEF_HEADER = re.compile(r"^(?:async\s+)?def\s+(?P<name>\w+)\s*\(", re.MULTILINE)
"""A ``def`` or ``async def`` header at the very start of a line; the group ``name``."""

_LINE_WITH_BREAK = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_OPEN, _CLOSE = "([{", ")]}"


def lsp_lines(text: str) -> list[str]:
    """The lines of `text` without their breaks: one more than the number of line breaks,
    so a text ending in a break has an empty last line, as an editor shows it."""
    return LINE_BREAK.split(text)


def lsp_lines_with_breaks(text: str) -> list[str]:
    """The lines of `text`, each with its line break (the last may have none); they join
    back to `text`, and a text ending in a break has no empty last line."""
    return _LINE_WITH_BREAK.findall(text)


def definition_start(node: ast.stmt) -> int:
    """The first line of a statement, the decorators of a function or class included."""
    if isinstance(node, FunctionNode | ast.ClassDef):
        return min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return node.lineno


def last_line(node: ast.stmt | ast.expr) -> int:
    """The last line of a statement or expression."""
    return node.end_lineno or node.lineno


def walk_functions(tree: ast.Module, *, nested: bool = False) -> Iterator[tuple[str, FunctionNode]]:
    """``(qualname, node)`` for module-level functions and methods of (nested) classes, in
    source order, outer before inner; redefinitions are all listed. With `nested`, also the
    functions defined inside functions, named ``outer.<locals>.inner`` as Python names them.
    Definitions under ``if``, ``try`` and other blocks are not visited."""

    def walk(body: list[ast.stmt], prefix: str) -> Iterator[tuple[str, FunctionNode]]:
        for statement in body:
            if isinstance(statement, FunctionNode):
                yield prefix + statement.name, statement
                if nested:
                    yield from walk(statement.body, f"{prefix}{statement.name}.<locals>.")
            elif isinstance(statement, ast.ClassDef):
                yield from walk(statement.body, f"{prefix}{statement.name}.")

    return walk(tree.body, "")


def find_function(tree: ast.Module, qualname: str) -> FunctionNode | None:
    """Function `qualname` (``name`` or ``Class.method``, classes nested to any depth) of a
    module: the definition Python binds, i.e. the last one, in the last class of each name."""
    *classes, name = qualname.split(".")
    body: list[ast.stmt] = tree.body
    for class_name in classes:
        found = [s for s in body if isinstance(s, ast.ClassDef) and s.name == class_name]
        if not found:
            return None
        body = found[-1].body
    functions = [s for s in body if isinstance(s, FunctionNode) and s.name == name]
    return functions[-1] if functions else None


def dotted_name(node: ast.expr) -> str:
    """``a.b.c`` for a chain of attribute accesses on a name, else ""."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted_name(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def is_main_guard(node: ast.AST) -> bool:
    """Whether `node` is ``if __name__ == "__main__":`` (either way round)."""
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    sides = [node.test.left, *node.test.comparators]
    names = {side.id for side in sides if isinstance(side, ast.Name)}
    texts = {side.value for side in sides if isinstance(side, ast.Constant)}
    return len(sides) == 2 and names == {"__name__"} and texts == {"__main__"}


def relocate_function(source: str, qualname: str) -> tuple[int, int] | None:
    """The first (decorators included) and last line of function `qualname` in `source`, a
    module that may have been edited since the function was found; None when it no longer
    parses or no longer defines the function (see `find_function`). A byte-order mark at
    the start is ignored."""
    try:
        tree = ast.parse(source.removeprefix("\ufeff"))
    except (SyntaxError, ValueError):
        return None
    node = find_function(tree, qualname)
    return None if node is None else (definition_start(node), last_line(node))


def header_colon(lines: Sequence[str], node: FunctionNode) -> tuple[int, int]:
    """The line and column of the colon that ends the ``def`` header of `node`, a function
    parsed from `lines` (the source's lines without their breaks, see `lsp_lines`).

    Colons inside the parameters, in strings and comments, and those of lambdas in the
    return annotation are skipped. ValueError when the lines after the ``def`` hold no
    such colon (they are not the source `node` was parsed from).
    """
    rows = (line + "\n" for line in itertools.islice(lines, node.lineno - 1, None))
    depth = 0
    lambdas = 0
    try:
        for token in tokenize.generate_tokens(lambda: next(rows, "")):
            if token.type == tokenize.NAME and token.string == "lambda" and depth == 0:
                lambdas += 1
            elif token.type != tokenize.OP:
                continue
            elif token.string in _OPEN:
                depth += 1
            elif token.string in _CLOSE:
                depth -= 1
            elif token.string == ":" and depth == 0:
                if not lambdas:
                    return node.lineno + token.start[0] - 1, token.start[1]
                lambdas -= 1
    except (tokenize.TokenError, SyntaxError):
        pass
    raise ValueError(f"no colon ends the header of {node.name} at line {node.lineno}")


def matching_bracket(text: str, start: int, *, tolerant: bool = False) -> int | None:
    """Index just past the bracket group that opens at `text[start]`, skipping string
    literals and ``#`` comments; None when it never closes, a string in it never ends, or
    a bracket closes with the wrong kind.

    `tolerant` is for text that is only nearly Python (a list in a model's prose): any
    closing bracket closes any opening one, and ``#`` is an ordinary character.
    """
    expected: list[str] = []
    i = start
    while i < len(text):
        char = text[i]
        if char in "\"'":
            close = string_literal_end(text, i)
            if close is None:
                return None
            i = close
            continue
        if char == "#" and not tolerant:
            newline = text.find("\n", i)
            i = len(text) if newline < 0 else newline
            continue
        if char in _OPEN:
            expected.append(_CLOSE[_OPEN.index(char)])
        elif char in _CLOSE:
            if not expected or (expected.pop() != char and not tolerant):
                return None
            if not expected:
                return i + 1
        i += 1
    return None


def string_literal_end(text: str, start: int) -> int | None:
    """Index just past the string literal whose quote is at `text[start]` (``'``, ``"``,
    or three of either); None when it does not end (a one-quote string at its line's end)."""
    quote = text[start]
    if text.startswith(quote * 3, start):
        close = text.find(quote * 3, start + 3)
        return None if close < 0 else close + 3
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == quote:
            return i + 1
        elif text[i] == "\n":
            return None
        else:
            i += 1
    return None

