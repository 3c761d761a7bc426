"""Which tests rank the candidates of a problem: every source the user has, combined."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from plansearch.config import Settings
from plansearch.problem import Problem, ProblemError
from plansearch.splice import module_name_for
from plansearch.testsources.examples import tests_from_examples
from plansearch.testsources.statements import stdio_cases
from plansearch.testsources.workspace import discover_workspace_tests, tests_from_file
from plansearch.types import TestCase

WORKSPACE_MARKERS = (".git", "pyproject.toml", "setup.cfg", "setup.py", ".plansearch")


def find_workspace(path: Path) -> Path:
    """The folder a file's tests live under: the nearest ancestor that looks like a project."""
    start = path.resolve().parent
    for folder in (start, *start.parents):
        if any((folder / marker).exists() for marker in WORKSPACE_MARKERS):
            return folder
    return start


def collect_tests(
    problem: Problem, settings: Settings, *, workspace: Path | None = None
) -> list[TestCase]:
    """Docstring examples, workspace tests that call the function, an explicit tests file,
    and stdin/stdout samples of a statement: the trusted tests, in that order."""
    tests = list(tests_from_examples(problem))
    if problem.entry_point is None:
        tests += stdio_cases(problem.statement)
    if settings.workspace_tests and workspace is not None and problem.source_path:
        module = module_name_for(problem.source_path)
        tests += discover_workspace_tests(workspace, problem, module)
    if settings.tests_file is not None:
        if not settings.tests_file.is_file():
            raise ProblemError(f"tests file {settings.tests_file} does not exist")
        tests += tests_from_file(settings.tests_file)
    return _unique_ids(tests)


def describe(tests: list[TestCase]) -> str:
    """How many tests come from each source, e.g. '3 from docstring, 12 from tests/t.py'."""
    counts = Counter(test.source for test in tests)
    if not counts:
        return "no tests"
    return ", ".join(f"{count} from {source}" for source, count in counts.items())


def _unique_ids(tests: list[TestCase]) -> list[TestCase]:
    seen: Counter[str] = Counter()
    unique: list[TestCase] = []
    for test in tests:
        seen[test.id] += 1
        if seen[test.id] > 1:
            test = test.model_copy(update={"id": f"{test.id}#{seen[test.id]}"})
        unique.append(test)
    return unique
