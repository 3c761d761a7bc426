"""Dataset values as Python source, and the executor's recorded values back as Python values.

`python_literal` writes a test's argument (decoded from a dataset's JSON) as an expression the
sandbox evaluates. `parse_value` reads a value the executor recorded (`TestOutcome.actual`,
the canonical text of plain data) back on the trusted side; it evaluates nothing but literals
and the few spellings that text uses for sets, non-finite floats and complex numbers.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from decimal import Decimal
from typing import Any

_SIGNS: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg, ast.UAdd: operator.pos,
}
_COMPLEX_PARTS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub,
}
_FLOAT_NAMES = {"nan": math.nan, "inf": math.inf}


def python_literal(value: Any) -> str:
    """Source text that evaluates to `value` (plain data: numbers, strings, containers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    if isinstance(value, list):
        return "[" + ", ".join(python_literal(item) for item in value) + "]"
    if isinstance(value, tuple):
        items = [python_literal(item) for item in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(value, dict):
        pairs = (f"{python_literal(k)}: {python_literal(v)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    if isinstance(value, set | frozenset):
        inner = "[" + ", ".join(python_literal(item) for item in value) + "]"
        return f"{type(value).__name__}({inner})"
    return repr(value)


def parse_value(text: str) -> Any:
    """The value `text` spells; ValueError when it is not plain data."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as error:
        raise ValueError(f"not a value: {error}") from None
    return _value(tree.body)


def _value(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        items = [_value(item) for item in node.elts]
        if isinstance(node, ast.List):
            return items
        return tuple(items) if isinstance(node, ast.Tuple) else set(items)
    if isinstance(node, ast.Dict):
        keys = [key for key in node.keys if key is not None]
        if len(keys) != len(node.keys):
            raise ValueError("a dict with ** is not a value")
        return {_value(key): _value(item) for key, item in zip(keys, node.values, strict=True)}
    if isinstance(node, ast.UnaryOp) and type(node.op) in _SIGNS:
        operand = _value(node.operand)
        if isinstance(operand, int | float | complex) and not isinstance(operand, bool):
            return _SIGNS[type(node.op)](operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _COMPLEX_PARTS:
        left, right = _value(node.left), _value(node.right)
        if isinstance(right, complex) and isinstance(left, int | float):
            return _COMPLEX_PARTS[type(node.op)](left, right)
    if isinstance(node, ast.Name) and node.id in _FLOAT_NAMES:
        return _FLOAT_NAMES[node.id]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        return _call(node.func.id, [_value(arg) for arg in node.args])
    raise ValueError(f"not a value: {ast.unparse(node)[:80]}")


def _call(name: str, args: list[Any]) -> Any:
    if name in ("set", "frozenset") and len(args) <= 1:
        return (set if name == "set" else frozenset)(*args)
    if name == "float" and len(args) == 1 and isinstance(args[0], str):
        return float(args[0])
    if name == "Decimal" and len(args) == 1 and isinstance(args[0], str):
        return Decimal(args[0])
    raise ValueError(f"not a value: {name}(...)")
