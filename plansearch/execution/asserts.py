"""Informative assertions: `assert f(x) == y` fails with both sides shown, as pytest does.

Test code is parsed and each `assert` holding one comparison becomes a call to `check_compare`,
which evaluates both sides in the same order and raises AssertionError with their values. Other
asserts without a message get their source text as message. Runs inside the sandbox's children;
standard library only.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from types import CodeType
from typing import Any

from plansearch.execution.compare import describe_mismatch, short_repr

HELPER = "__plansearch_compare__"
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
    symbol: str, left: Any, right: Any, source: str, message: Callable[[], object] | None
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
    tree = _Rewriter(source).visit(tree)
    ast.fix_missing_locations(tree)
    code: CodeType = compile(tree, filename, "exec", dont_inherit=True)
    return code


class _Rewriter(ast.NodeTransformer):
    def __init__(self, source: str) -> None:
        self._source = source

    def visit_Assert(self, node: ast.Assert) -> ast.stmt:
        text = (ast.get_source_segment(self._source, node.test) or "...").replace("\n", " ")
        if len(text) > _SOURCE_LIMIT:
            text = text[:_SOURCE_LIMIT] + "..."
        test = node.test
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            symbol = _OPERATORS[type(test.ops[0])][0]
            message: ast.expr = (
                ast.Constant(None) if node.msg is None else ast.Lambda(_no_arguments(), node.msg)
            )
            call = ast.Call(
                ast.Name(HELPER, ast.Load()),
                [ast.Constant(symbol), test.left, test.comparators[0], ast.Constant(text), message],
                [],
            )
            return ast.copy_location(ast.Expr(call), node)
        if node.msg is None:
            node.msg = ast.Constant(f"assert {text}")
        return node


def _no_arguments() -> ast.arguments:
    return ast.arguments(
        posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]
    )
