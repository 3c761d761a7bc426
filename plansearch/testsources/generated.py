"""Model-written tests: inputs (and guessed outputs) that group candidates by behaviour.

A model-written expected value may be wrong, so these tests are never trusted: the ranking
uses only what each candidate returns on them, to see which candidates agree.
"""

from __future__ import annotations

import ast

from plansearch.context import BranchFailed, BudgetExhausted, SearchContext, Stage
from plansearch.models.base import Message, ModelRequest
from plansearch.parsing import extract_text_block
from plansearch.problem import Problem
from plansearch.strategies import prompts
from plansearch.types import TestCase

GENERATE_TESTS = """\
Write {count} test cases for this function that together probe its behaviour: typical \
inputs, edge cases and tricky cases. Write each as one line `assert {name}(...) == expected` \
with literal arguments. Return only the asserts, in a single ```python fenced block."""


async def generate_tests(
    ctx: SearchContext, problem: Problem, count: int, *, max_tokens: int
) -> list[TestCase]:
    """Ask for `count` tests; an unusable reply gives none (counted as a parse failure)."""
    if problem.entry_point is None or count <= 0:
        return []
    instruction = GENERATE_TESTS.format(count=count, name=problem.entry_point)
    request = ModelRequest(
        system=prompts.system_prompt(problem),
        messages=(Message(role="user", content=instruction),),
        temperature=0.0,
        max_tokens=max_tokens,
    )
    try:
        answer = await ctx.ask(Stage.TESTS, request)
    except (BranchFailed, BudgetExhausted):
        return []
    tests = parse_generated_tests(answer.text, problem.entry_point)[:count]
    if not tests:
        ctx.drop_branch(Stage.TESTS, "no usable test cases in the reply", parse_failure=True)
    return tests


def parse_generated_tests(text: str, entry_point: str) -> list[TestCase]:
    """`assert f(...) == y` lines (or bare `f(...)` calls) as untrusted test cases."""
    tests: list[TestCase] = []
    for line in extract_text_block(text).splitlines():
        parsed = _parse_line(line.strip(), entry_point)
        if parsed is None:
            continue
        call, expected = parsed
        tests.append(TestCase(
            id=f"generated#{len(tests) + 1}", kind="generated", source="model-written",
            trusted=False, call=call, expected=expected,
        ))
    return tests


def _parse_line(line: str, entry_point: str) -> tuple[str, str | None] | None:
    if line.startswith("assert "):
        line = line[len("assert "):]
    try:
        node = ast.parse(line, mode="eval").body
    except SyntaxError:
        return None
    expected: str | None = None
    if (isinstance(node, ast.Compare) and len(node.ops) == 1
            and isinstance(node.ops[0], ast.Eq)):
        expected = ast.unparse(node.comparators[0])
        node = node.left
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == entry_point):
        return None
    return ast.unparse(node), expected
