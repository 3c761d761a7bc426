"""Informative assertions: `assert f(x) == y` fails with both sides shown, as pytest does.

Each `assert` holding one comparison becomes a call to `check_compare`, which evaluates both
sides in the same order and raises AssertionError with their values. Other asserts without a
message get their source text as message. The rewrite goes through the syntax tree, every
operand kept at its line and column. Runs on both sides of the sandbox; standard library only.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from types import CodeType
from typing import Any, TypeVar

from plansearch.execution.compare import describe_mismatch, short_repr

HELPER = "__ac__"
"""The name `check_compare` is bound to where rewritten test code runs."""
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
    tree = ast.parse(source, filename)
    _Rewriter(source).block(tree.body)
    code: CodeType = compile(tree, filename, "exec", dont_inherit=True)
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
