"""Tests in the user's files: pytest-style test functions in the workspace that use the
function, an explicit tests file, and plain ``assert`` blocks. Test files are read and parsed
with `ast` only, never imported or run.

Workspace test functions are taken when they need no arguments: pytest fixtures and
``parametrize`` need pytest's own runner, so such tests are left out, as are tests marked
``skip``/``skipif``/``xfail``. A test inside a class is named ``Class.test`` in
`TestCase.function`; the runner instantiates the class (``unittest.TestCase`` subclasses
with the test's name) and calls the method.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from plansearch.problem import Problem
from plansearch.source import FunctionNode, dotted_name, last_line, lsp_lines
from plansearch.types import TestCase

MAX_TEST_FILES = 400
"""Most test files read during one workspace discovery."""
MAX_TEST_FILE_BYTES = 1_000_000
"""Larger test files are skipped."""
MAX_DIRECTORIES = 5_000
"""Most directories visited during one workspace discovery."""

_SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", "site-packages", "build", "dist"})
_SKIP_MARKS = frozenset({"skip", "skipif", "xfail", "skipIf", "skipUnless", "expectedFailure"})


def tests_from_asserts(
    code: str, source: str, *, kind: Literal["assert", "file"] = "assert"
) -> list[TestCase]:
    """One test per top-level ``assert`` in `code`.

    Each test's code is the text up to its assert, with the other asserts blanked out, so
    the setup it needs runs and tracebacks keep the file's line numbers. Text that is not
    Python as a whole (a statement with asserts in it) gives one test per line that is an
    ``assert`` statement on its own.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return _asserts_in_text(code, source, kind)
    lines = lsp_lines(code)
    asserts = [node for node in tree.body if isinstance(node, ast.Assert)]
    tests = []
    for position, node in enumerate(asserts):
        end = last_line(node)
        kept = list(lines[:end])
        for other in asserts[:position]:
            for n in range(other.lineno, last_line(other) + 1):
                kept[n - 1] = ""
        tests.append(
            TestCase(
                trusted=True,
                id=f"{source}:{node.lineno}",
                kind=kind,
                source=source,
                code="\n".join(kept) + "\n",
                line=node.lineno,
            )
        )
    return tests


def tests_from_file(path: Path, *, source: str | None = None) -> list[TestCase]:
    """The tests of an explicit tests file: its test functions, or else its asserts.

    Every test function counts (the person chose the file). Raises OSError when the file
    cannot be read.
    """
    label = source or path.as_posix()
    code = path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return tests_from_asserts(code, label, kind="file")
    tests = [_pytest_case(label, code, test) for test in _test_functions(tree) if test.runnable]
    return tests or tests_from_asserts(code, label, kind="file")


def discover_workspace_tests(
    root: Path,
    problem: Problem,
    module_name: str,
    *,
    max_files: int = MAX_TEST_FILES,
    max_bytes: int = MAX_TEST_FILE_BYTES,
) -> list[TestCase]:
    """Test functions in ``test_*.py`` / ``*_test.py`` under `root` that use the function.

    A test uses it when its body (or a helper of the same file it calls) refers to the
    function imported from `module_name` (``from mod import fn``, ``mod.fn``, a star
    import), or, for a method, accesses ``.method`` in a file that imports the class.
    Virtual environments, ``node_modules``, build output and hidden directories are skipped.
    """
    if problem.entry_point is None:
        return []
    target = _Target.of(problem, module_name)
    own = Path(problem.source_path).resolve() if problem.source_path else None
    tests: list[TestCase] = []
    for path in _test_files(root, max_files, max_bytes):
        if path.resolve() == own:
            continue
        try:
            code = path.read_text(encoding="utf-8")
            tree = ast.parse(code)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            continue
        label = path.relative_to(root).as_posix()
        users = _Uses.scan(tree, target)
        tests += [
            _pytest_case(label, code, test)
            for test in _test_functions(tree)
            if test.runnable and users.covers(test)
        ]
    return tests


@dataclass(frozen=True)
class _Target:
    """The function under test as test files may name it."""

    module: str
    function: str
    class_name: str | None

    @classmethod
    def of(cls, problem: Problem, module_name: str) -> _Target:
        assert problem.entry_point is not None
        qualname = problem.qualname or problem.entry_point
        owner = qualname.rsplit(".", 1)[0] if "." in qualname else None
        return cls(module_name, problem.entry_point, owner.split(".")[0] if owner else None)

    def is_module(self, imported: str) -> bool:
        """Whether an imported dotted name may be our module (allowing a package prefix)."""
        if not imported:
            return False
        return (
            imported == self.module
            or self.module.endswith("." + imported)
            or imported.endswith("." + self.module)
        )

    @property
    def imported_name(self) -> str:
        """What a test imports from the module: the function, or the method's class."""
        return self.class_name or self.function


@dataclass
class _Uses:
    """Which names of a test file lead to the function under test."""

    target: _Target
    reachable: bool = True
    names: set[str] = field(default_factory=set)
    modules: set[str] = field(default_factory=set)
    helpers: set[str] = field(default_factory=set)

    @classmethod
    def scan(cls, tree: ast.Module, target: _Target) -> _Uses:
        uses = cls(target)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                uses._from_import(node)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if target.is_module(alias.name):
                        uses.modules.add(alias.asname or alias.name)
        if target.class_name is not None:
            # a method is reached through its class, which the file must name somewhere
            uses.reachable = any(uses._refers(node) for node in ast.walk(tree))
        functions = [n for n in tree.body if isinstance(n, FunctionNode)]
        changed = True
        while changed:
            changed = False
            for function in functions:
                if function.name not in uses.helpers and uses._calls(function):
                    uses.helpers.add(function.name)
                    changed = True
        return uses

    def covers(self, test: _TestFunction) -> bool:
        """Whether the test uses the function under test."""
        return self.reachable and self._calls(test.node)

    def _from_import(self, node: ast.ImportFrom) -> None:
        origin = node.module or ""
        for alias in node.names:
            bound = alias.asname or alias.name
            if self.target.is_module(origin):
                if alias.name in ("*", self.target.imported_name):
                    self.names.add(self.target.imported_name if alias.name == "*" else bound)
            elif self.target.is_module(f"{origin}.{alias.name}" if origin else alias.name):
                self.modules.add(bound)

    def _calls(self, function: ast.AST) -> bool:
        """Whether a function's body reaches the function under test (or a helper that does)."""
        for node in ast.walk(function):
            if isinstance(node, ast.Name) and node.id in self.helpers:
                return True
            if self.target.class_name is None:
                if self._refers(node):
                    return True
            elif isinstance(node, ast.Attribute) and node.attr == self.target.function:
                return True
        return False

    def _refers(self, node: ast.AST) -> bool:
        """Whether `node` names the imported function (or class) directly or via the module."""
        wanted = self.target.imported_name
        if isinstance(node, ast.Name):
            return node.id in self.names
        if isinstance(node, ast.Attribute) and node.attr == wanted:
            return dotted_name(node.value) in self.modules
        return False


@dataclass(frozen=True)
class _TestFunction:
    node: FunctionNode
    owner: ast.ClassDef | None
    runnable: bool

    @property
    def qualname(self) -> str:
        return f"{self.owner.name}.{self.node.name}" if self.owner else self.node.name


def _test_functions(tree: ast.Module) -> Iterator[_TestFunction]:
    """Test functions as pytest collects them: ``test*`` functions, ``Test*`` classes'
    ``test*`` methods, and the tests of ``unittest.TestCase`` subclasses."""
    for node in tree.body:
        if isinstance(node, FunctionNode) and node.name.startswith("test"):
            yield _TestFunction(node, None, _runnable(node, method=False))
        elif isinstance(node, ast.ClassDef) and _is_test_class(node):
            skipped = _marked_skip(node)
            for member in node.body:
                if isinstance(member, FunctionNode) and member.name.startswith("test"):
                    runnable = not skipped and _runnable(member, method=True)
                    yield _TestFunction(member, node, runnable)


def _is_test_class(node: ast.ClassDef) -> bool:
    if any(dotted_name(base).split(".")[-1] == "TestCase" for base in node.bases):
        return True
    has_init = any(isinstance(m, ast.FunctionDef) and m.name == "__init__" for m in node.body)
    return node.name.startswith("Test") and not has_init


def _runnable(node: FunctionNode, *, method: bool) -> bool:
    """Callable without pytest: no required arguments (fixtures), no skip marks, and not a
    generator (pytest ignores yield tests)."""
    args = node.args
    positional = [*args.posonlyargs, *args.args][1 if method else 0 :]
    required = len(positional) - len(args.defaults)
    required += sum(default is None for default in args.kw_defaults)
    return required <= 0 and not _marked_skip(node) and not _yields(node)


def _yields(function: FunctionNode) -> bool:
    """Whether `function` itself (not a function nested in it) yields."""
    todo: list[ast.AST] = list(function.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Yield | ast.YieldFrom):
            return True
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            todo.extend(ast.iter_child_nodes(node))
    return False


def _marked_skip(node: FunctionNode | ast.ClassDef) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if dotted_name(target).split(".")[-1] in _SKIP_MARKS:
            return True
    return False


def _pytest_case(source: str, code: str, test: _TestFunction) -> TestCase:
    return TestCase(
        trusted=True,
        id=f"{source}::{test.qualname.replace('.', '::')}",
        kind="pytest",
        source=source,
        code=code,
        function=test.qualname,
        line=test.node.lineno,
    )


def _test_files(root: Path, max_files: int, max_bytes: int) -> list[Path]:
    """Test files under `root`, in a stable order, within the bounds."""
    found: list[Path] = []
    for visited, (folder, dirs, files) in enumerate(os.walk(root)):
        if visited >= MAX_DIRECTORIES:
            break
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not _skipped_dir(here / d))
        for name in sorted(files):
            if not name.endswith(".py") or not (
                name.startswith("test_") or name.endswith("_test.py")
            ):
                continue
            path = here / name
            try:
                if path.stat().st_size > max_bytes:
                    continue
            except OSError:
                continue
            found.append(path)
            if len(found) >= max_files:
                return found
    return found


def _skipped_dir(path: Path) -> bool:
    name = path.name
    return (
        name.startswith(".")
        or name in _SKIPPED_DIRS
        or name.endswith(".egg-info")
        or (path / "pyvenv.cfg").exists()
    )


def _asserts_in_text(text: str, source: str, kind: Literal["assert", "file"]) -> list[TestCase]:
    tests = []
    for number, line in enumerate(lsp_lines(text), start=1):
        statement = line.strip().rstrip("`")
        if not statement.startswith("assert "):
            continue
        try:
            ast.parse(statement)
        except SyntaxError:
            continue
        tests.append(
            TestCase(
                trusted=True,
                id=f"{source}:{number}",
                kind=kind,
                source=source,
                code=statement + "\n",
                line=number,
            )
        )
    return tests
