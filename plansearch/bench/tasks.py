"""What every dataset gives the bench: tasks to search, their tests, and how a test is graded.

A `BenchTask` is plain data (it can be pickled and sent to another process): it builds the
problem the search sees, the program a candidate becomes, and its `TaskTests` (which may need
the executor, to run a canonical solution). A `Dataset` is a selection of tasks with what
the report records about where they came from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar

from plansearch.problem import Problem
from plansearch.types import Program, TestCase, TestOutcome, TestStatus

if TYPE_CHECKING:
    from plansearch.execution.executor import Executor

_SLICE = re.compile(r"(-?\d*):(-?\d*)")
_INDEX = re.compile(r"-?\d+")


class BenchError(Exception):
    """The bench cannot run as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Verdict:
    """Whether a candidate passed one test, as the dataset grades it."""

    passed: bool
    message: str | None = None
    """Why it failed (None when it passed)."""
    tolerant: bool = False
    """Passed by the executor's tolerant comparison because the dataset's own could not be
    applied (the output was too long to have been recorded whole)."""


Grade = Callable[[TestCase, TestOutcome], Verdict]


def by_status(case: TestCase, outcome: TestOutcome) -> Verdict:
    """The executor's own verdict."""
    if outcome.status is TestStatus.PASS:
        return Verdict(True)
    return Verdict(False, f"{outcome.status}: {outcome.message}")


@dataclass(frozen=True)
class TaskTests:
    """A task's tests and how they are graded."""

    public: list[TestCase]
    """What a user could see (the statement's examples): the public filter."""
    hidden: list[TestCase]
    """What grades a candidate."""
    grade: Grade = by_status
    correct_needs_public: bool = False
    """A candidate is correct only if it passes the public tests too (LiveCodeBench grades
    with all of a problem's tests)."""
    test_timeout: float | None = None
    """Seconds one test may run (None: the executor's limit)."""
    candidate_timeout: float | None = None
    """Seconds all of a candidate's tests may run (None: the executor's limit)."""


class BenchTask(Protocol):
    """One problem of a dataset."""

    @property
    def task_id(self) -> str: ...

    def problem(self) -> Problem:
        """What the search sees; raises `ProblemError` when the task cannot become one."""
        ...

    def program(self, problem: Problem, code: str) -> Program:
        """The program a candidate's code becomes; raises `SpliceError` when it cannot."""
        ...

    async def tests(self, problem: Problem, executor: Executor) -> TaskTests:
        """The task's tests; raises `BenchError` when the dataset's own data fail."""
        ...


@dataclass(frozen=True)
class Dataset:
    """A selection of a dataset's tasks, and what the report says about it."""

    name: str
    version: str
    """The release or version of the data, as precisely as it is known."""
    source: str
    """Where the data were read from (a file, a folder, a package, a hub revision)."""
    tasks: Sequence[BenchTask]
    selection: dict[str, str] = field(default_factory=dict)
    """The filters that chose the tasks (release, dates, platform, ...)."""


T = TypeVar("T", bound=BenchTask)


def select_tasks(tasks: Sequence[T], spec: str | None, dataset: str) -> list[T]:
    """The tasks `spec` names; all of them when it is empty.

    `spec` is a comma-separated list of task ids, slices of the dataset order (``0:20``,
    ``150:``) and single positions (``7``); an item that is a task id names that task. Each
    task comes once, in the order first named.
    """
    if spec is None or not spec.strip():
        return list(tasks)
    by_id = {task.task_id: task for task in tasks}
    chosen: dict[str, T] = {}
    for item in filter(None, (raw.strip() for raw in spec.split(","))):
        for task in _select_one(tasks, by_id, item, dataset):
            chosen.setdefault(task.task_id, task)
    if not chosen:
        raise BenchError(f"--problems {spec!r} selects no problem")
    return list(chosen.values())


def _select_one(tasks: Sequence[T], by_id: dict[str, T], item: str, dataset: str) -> list[T]:
    if item in by_id:
        return [by_id[item]]
    if match := _SLICE.fullmatch(item):
        start, stop = (int(part) if part else None for part in match.groups())
        return list(tasks[start:stop])
    if _INDEX.fullmatch(item):
        position = int(item)
        if not -len(tasks) <= position < len(tasks):
            raise BenchError(f"problem {position} is out of range: {dataset} has {len(tasks)}")
        return [tasks[position]]
    example = f" ({tasks[0].task_id})" if tasks else ""
    raise BenchError(
        f"no problem {item!r} in {dataset}: use its ids{example}, slices (0:20) or positions "
        "(7), separated by commas"
    )
