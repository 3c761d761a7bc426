"""Prompts for every stage, written for this project.

The problem statement goes into the system prompt so that every call of one search shares
it as a cacheable prefix; each stage's instruction is a user message.
"""

from __future__ import annotations

from plansearch.models.base import Message, ModelRequest
from plansearch.problem import Problem

SYSTEM_TEMPLATE = """\
You are an expert Python programmer and competitive programmer. You think carefully about \
problems before writing code, and you are honest when an idea may be wrong.

The problem you are working on:

<problem>
{problem}
</problem>"""

OBSERVATIONS_FIRST = """\
Before anyone writes code for this problem, brainstorm up to {count} observations about it: \
short, non-obvious, correct facts or hints that could lead to a solution (structure of the \
input, invariants, useful reformulations, edge cases, algorithms that fit the constraints). \
Do not write any code and do not solve the problem yet."""

OBSERVATIONS_DERIVED = """\
Here are observations about this problem that are known to be correct:

{observations}

Think about what these observations imply together. Then brainstorm up to {count} NEW \
observations (not restatements of the ones above): short, non-obvious, correct facts or hints \
that could lead to a solution. Do not write any code and do not solve the problem yet."""

LIST_ONLY = """\
Now list only the observations themselves, one per line, without explanations or commentary."""

FILTER_USEFUL = """\
Keep only the observations that are correct and most useful for solving the problem; drop \
the rest. List the ones you keep, one per line."""

AS_PYTHON_LIST = """\
Return the observations you kept as a Python list of strings, in a single ```python fenced \
code block, and nothing else."""

SKETCH = """\
Here are observations about this problem:

{observations}

Write a natural-language solution to the problem, like an editorial, that uses these \
observations. Before each step that relies on an observation, quote that observation. Be \
precise about the algorithm and its complexity. Do not write any code."""

SKETCH_NO_OBSERVATIONS = """\
Write a natural-language solution to the problem, like an editorial. Be precise about the \
algorithm and its complexity. Do not write any code."""

CRITIQUE = """\
A student proposed the following solution to the problem. It may well be wrong.

<proposed_solution>
{sketch}
</proposed_solution>

As their coach, criticise this solution: find the flaws, and give a concrete counter-example \
input on which it fails if there is one. Do not write code."""

FIX = """\
Now explain how to fix the idea, and write the complete corrected solution in natural \
language, like an editorial. If the original solution was already correct, restate it \
completely. Do not write code."""

PSEUDOCODE = """\
Here is a solution to the problem in natural language:

<solution>
{sketch}
</solution>

Turn this solution into high-level pseudocode that follows it exactly. Do not write Python."""

CODE_FROM_PLAN = """\
Here is a solution to the problem:

<solution>
{sketch}
</solution>
{pseudocode_part}
Write Python code that follows this solution exactly.{target}
Return the code in a single ```python fenced block."""

PSEUDOCODE_PART = """
And its pseudocode:

<pseudocode>
{pseudocode}
</pseudocode>
"""

CODE_DIRECT = """\
Solve the problem in Python.{target}
Return the code in a single ```python fenced block."""

CODE_AT_ONCE = """\
Solve the problem in Python.{target}
First say in one sentence the idea your solution follows, then give the code in a single \
```python fenced block."""

TARGET_FUNCTION = """
Complete this function (keep its name and signature; you may add imports and helper \
functions):

```python
{starter}
```"""

TARGET_PROGRAM = """
Write a complete program that reads from standard input and writes to standard output."""

FEW_SHOT: tuple[Message, ...] = (
    Message(
        role="user",
        content="Example task: return the number of distinct values in a list of integers.\n"
        "Complete this function:\n```python\ndef count_distinct(values: list[int]) -> int:\n"
        "    ...\n```",
    ),
    Message(
        role="assistant",
        content="```python\ndef count_distinct(values: list[int]) -> int:\n"
        "    return len(set(values))\n```",
    ),
    Message(
        role="user",
        content="Example task: given a string, return the length of its longest run of one "
        "repeated character (0 for the empty string).\nComplete this function:\n```python\n"
        "def longest_run(text: str) -> int:\n    ...\n```",
    ),
    Message(
        role="assistant",
        content="```python\ndef longest_run(text: str) -> int:\n    best = 0\n    run = 0\n"
        "    previous = None\n    for char in text:\n"
        "        run = run + 1 if char == previous else 1\n"
        "        previous = char\n        best = max(best, run)\n    return best\n```",
    ),
)


def system_prompt(problem: Problem) -> str:
    """The shared system prompt holding the problem statement."""
    return SYSTEM_TEMPLATE.format(problem=problem.prompt_text())


def bullet_list(observations: tuple[str, ...] | list[str]) -> str:
    """Observations as a numbered list for a prompt."""
    return "\n".join(f"{i}. {text}" for i, text in enumerate(observations, 1))


def code_target(problem: Problem) -> str:
    """What the code must define: the function stub, or a stdin/stdout program."""
    if problem.signature:
        return TARGET_FUNCTION.format(starter=problem.starter_code())
    return TARGET_PROGRAM


def request(
    system: str,
    messages: list[Message],
    *,
    temperature: float,
    top_p: float,
    max_tokens: int,
) -> ModelRequest:
    """A request whose earlier turns are marked as a cacheable shared prefix."""
    marked = [
        m.model_copy(update={"cache_prefix": True}) if i == len(messages) - 2 else m
        for i, m in enumerate(messages)
    ]
    return ModelRequest(
        system=system,
        messages=tuple(marked),
        temperature=temperature,
        top_p=top_p,
        max_tokens=max_tokens,
    )
