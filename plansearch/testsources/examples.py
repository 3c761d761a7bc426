"""Input/output examples found in a docstring or problem statement.

Recognised, one example per line (a call or value may run over several lines while its
brackets are open):

* doctest: ``>>> f(1, 2)`` with ``...`` continuation lines, then the printed output up to a
  blank line or the next ``>>>``. Kind ``doctest``; the output is kept as printed text.
  Skipped: no output, a traceback, and ``>>>`` lines that do not call the function
  (setup such as ``>>> x = [1, 2]``); an example that then uses ``x`` fails the name check
  below, since every example must run on its own. ``>>> assert f(x) == y`` counts as an
  equality.
* ``f(args) == value`` or ``f(args) = value``, also after ``assert`` (kind ``equality``);
* ``f(args) -> value`` / ``=>`` / ``==>`` / ``➞`` / ``→``, ``returns value``,
  ``should return value``, ``# => value`` (kind ``arrow``).

Text around the call (bullets, ``Example:``, ``assert``) and trailing comments are ignored.
Expected values must parse as Python expressions: a final period or trailing prose is cut
off, a worked chain such as ``f(x) == 1 + 2 = 3`` keeps its last value, and a whole value of
``true``/``false``/``null`` reads as ``True``/``False``/``None``. Every name an example uses
must be a builtin, the function itself, or one of `known_names` (what the module defines or
imports), so prose like ``f(n) = n + 1`` is not taken for an example, and an expected value
may not call the function. Not recognised: ``Input: ... Output: ...`` blocks, "for x = 1 the
output should be 2", calls on a receiver (``obj.f(1)``) outside doctests.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Collection, Iterator
from typing import Literal

from plansearch.problem import Example, Problem
from plansearch.source import lsp_lines, matching_bracket, string_literal_end
from plansearch.types import TestCase

_BUILTINS = frozenset(dir(builtins))
_MAX_SPAN = 40
"""Most lines one example may cover."""

_OPEN = "([{"
_PROMPT = re.compile(r"^(\s*)>>>[ \t]?(.*)$")
_CONTINUATION = re.compile(r"^\s*\.\.\.(?:\s(.*))?$")
_TRACEBACK = re.compile(r"^Traceback \((most recent call|innermost) last\)")
_SEPARATOR = re.compile(
    r"""\s*(?:\#\s*)?
    (?:(?P<equality>==(?![=>])|=(?![=>]))
      |(?P<arrow>==+>|=>|-+>|➞|→|⇒|⟹|⟶)
      |(?P<word>(?:should\s+)?returns?|should\s+be|gives|evaluates\s+to|outputs)\b:?
    )\s*(?P<value>.*)$""",
    re.VERBOSE | re.IGNORECASE,
)
_ATTRIBUTE = re.compile(r"\.[A-Za-z_]\w*")
_LOWERCASE_CONSTANTS = {"true": "True", "false": "False", "null": "None", "none": "None"}


def parse_examples(
    docstring: str,
    entry_point: str,
    *,
    first_line: int = 1,
    known_names: Collection[str] = (),
) -> list[Example]:
    """Examples in `docstring` that call `entry_point`, in order, without duplicates.

    `first_line` is the file line of the docstring's first line, so that `Example.line` is
    absolute in the file. `known_names` are names an example may use besides builtins.
    """
    allowed = _BUILTINS | frozenset(known_names) | {entry_point}
    lines = lsp_lines(docstring.expandtabs())
    call_pattern = re.compile(rf"(?<![\w.]){re.escape(entry_point)}\(")
    found: list[Example] = []
    seen: set[tuple[str, str]] = set()
    i = 0
    while i < len(lines):
        line = first_line + i
        if _PROMPT.match(lines[i]):
            example, consumed = _doctest_example(lines, i, line, entry_point, allowed)
        else:
            example, consumed = _informal_example(
                lines, i, line, call_pattern, entry_point, allowed
            )
        if example is not None and (example.call, example.expected) not in seen:
            seen.add((example.call, example.expected))
            found.append(example)
        i += consumed
    return found


def _doctest_example(
    lines: list[str], start: int, line: int, entry_point: str, allowed: frozenset[str]
) -> tuple[Example | None, int]:
    """The doctest example opening at `lines[start]`, and how many lines it covers."""
    prompt = _PROMPT.match(lines[start])
    assert prompt is not None
    indent = len(prompt.group(1))
    source = [prompt.group(2) or ""]
    end = start + 1
    while end < len(lines) and (more := _CONTINUATION.match(lines[end])):
        source.append(more.group(1) or "")
        end += 1
    output: list[str] = []
    while end < len(lines) and lines[end].strip() and not _PROMPT.match(lines[end]):
        text = lines[end]
        output.append(text[min(indent, len(text) - len(text.lstrip())) :])
        end += 1
    source_text = "\n".join(source).strip()
    return _doctest_to_example(source_text, output, line, entry_point, allowed), end - start


def _doctest_to_example(
    source: str, output: list[str], line: int, entry_point: str, allowed: frozenset[str]
) -> Example | None:
    try:
        module = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    if len(module.body) != 1:
        return None
    statement = module.body[0]
    if not output and isinstance(statement, ast.Assert | ast.Expr):
        test = statement.test if isinstance(statement, ast.Assert) else statement.value
        return _equality_example(source, test, line, entry_point, allowed)
    if not isinstance(statement, ast.Expr) or not output or _TRACEBACK.match(output[0]):
        return None
    if not _uses_names_from(statement.value, allowed) or not _calls(statement.value, entry_point):
        return None
    return Example(call=source, expected="\n".join(output).rstrip(), kind="doctest", line=line)


def _equality_example(
    source: str, test: ast.expr, line: int, entry_point: str, allowed: frozenset[str]
) -> Example | None:
    """``>>> assert f(x) == y``, or ``>>> f(x) == y`` with no output, as an equality."""
    if not (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Eq)
        and _calls(test.left, entry_point)
        and not _calls(test.comparators[0], entry_point)
        and _uses_names_from(test, allowed)
    ):
        return None
    call = ast.get_source_segment(source, test.left)
    expected = ast.get_source_segment(source, test.comparators[0])
    if call is None or expected is None:
        return None
    return Example(call=call, expected=expected, kind="equality", line=line)


def _informal_example(
    lines: list[str],
    start: int,
    line: int,
    call_pattern: re.Pattern[str],
    entry_point: str,
    allowed: frozenset[str],
) -> tuple[Example | None, int]:
    """An ``f(x) <separator> value`` example starting on `lines[start]`, and lines covered."""
    window = "\n".join(lines[start : start + _MAX_SPAN])
    first_line_end = len(lines[start])
    for match in call_pattern.finditer(window, 0, first_line_end):
        call_end = matching_bracket(window, match.end() - 1)
        if call_end is None:
            continue
        call_end = _trailers_end(window, call_end)
        call = window[match.start() : call_end]
        if not _is_usable(call, entry_point, allowed, must_call=True):
            continue
        separator = _SEPARATOR.match(window, call_end, _line_end(window, call_end))
        if separator is None:
            continue
        value_start = separator.start("value")
        value_end = _line_end(window, value_start)
        if value_start < len(window) and window[value_start] in _OPEN:
            group_end = matching_bracket(window, value_start)
            if group_end is not None:
                value_end = _line_end(window, group_end)
        expected = _expected_value(window[value_start:value_end], entry_point, allowed)
        if expected is None:
            continue
        kind: Literal["equality", "arrow"] = (
            "equality" if separator.group("equality") else "arrow"
        )
        covered = window.count("\n", 0, value_end) + 1
        return Example(call=call, expected=expected, kind=kind, line=line), covered
    return None, 1


def _expected_value(raw: str, entry_point: str, allowed: frozenset[str]) -> str | None:
    """The first reading of `raw` that is a usable Python expression."""
    for candidate in _value_readings(_strip_comment(raw).strip()):
        candidate = _LOWERCASE_CONSTANTS.get(candidate, candidate)
        if candidate and _is_usable(candidate, entry_point, allowed, must_call=False):
            return candidate
    return None


def _value_readings(text: str) -> Iterator[str]:
    """Ways to read a value written in prose, most faithful first."""
    if text.endswith("."):
        yield text[:-1].rstrip()
    yield text
    if " = " in text:
        yield text.rsplit(" = ", 1)[1].strip()
    for cut in reversed([m.start() for m in re.finditer(r"\s", text)]):
        yield text[:cut].rstrip().rstrip(".,;:")


def _is_usable(
    text: str, entry_point: str, allowed: frozenset[str], *, must_call: bool
) -> bool:
    """`text` is an expression using only allowed names; it calls `entry_point` iff must_call."""
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError):
        return False
    if isinstance(tree.body, ast.Name) and tree.body.id in _BUILTINS:
        return False  # "returns list of ..." cut down to `list`
    return _uses_names_from(tree, allowed) and _calls(tree, entry_point) == must_call


def _uses_names_from(tree: ast.AST, allowed: frozenset[str]) -> bool:
    """Every name `tree` reads is allowed or bound inside it (comprehensions, lambdas)."""
    bound = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Lambda):
            bound.update(a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg))
    return all(
        node.id in allowed or node.id in bound
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    )


def _calls(tree: ast.AST, entry_point: str) -> bool:
    """`tree` calls `entry_point`, by name or as an attribute (``obj.f(...)``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Name) and func.id == entry_point) or (
                isinstance(func, ast.Attribute) and func.attr == entry_point
            ):
                return True
    return False


def _line_end(text: str, position: int) -> int:
    newline = text.find("\n", position)
    return len(text) if newline < 0 else newline


def _trailers_end(text: str, end: int) -> int:
    """Extend a call over subscripts, attributes and further calls: ``f(x)[0].real``."""
    while end < len(text):
        if text[end] in "[(":
            group_end = matching_bracket(text, end)
            if group_end is None:
                break
            end = group_end
        elif attribute := _ATTRIBUTE.match(text, end):
            end = attribute.end()
        else:
            break
    return end


def _strip_comment(text: str) -> str:
    """`text` without a ``#`` comment outside string literals."""
    i = 0
    while i < len(text):
        if text[i] in "\"'":
            end = string_literal_end(text, i)
            if end is None:
                return text
            i = end
        elif text[i] == "#":
            return text[:i]
        else:
            i += 1
    return text


def tests_from_examples(problem: Problem) -> list[TestCase]:
    """One test per docstring example; doctest examples compare printed output."""
    source = "docstring" if problem.signature else "statement"
    return [
        TestCase(
            trusted=True,
            id=f"{source}#{number}",
            kind="docstring",
            source=source,
            call=example.call,
            expected=example.expected,
            doctest_output=example.kind == "doctest",
            line=example.line,
        )
        for number, example in enumerate(problem.examples, start=1)
    ]
