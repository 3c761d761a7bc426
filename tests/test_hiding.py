"""What a candidate must not see: the user's tests in the sandbox (at the ``bwrap`` and
``namespaces`` levels, checked in real sandboxes) and the docstrings of the module it is
spliced into."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from plansearch.execution import hiding
from plansearch.execution.hiding import hidden_paths, redact_docstrings
from plansearch.execution.launch import (
    BOOTSTRAP,
    FileLayout,
    IsolationLevel,
    config_of,
    hidden_in_sandbox,
    remove_scratch_root,
    worker_spec,
)
from plansearch.execution.limits import Limits
from tests.support.isolation import require_level

REPO = Path(__file__).resolve().parent.parent
SECRET = "SECRET-EXPECTED-VALUE"


def write(path: Path, text: str = SECRET) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def make_workspace(root: Path) -> Path:
    """A workspace with a normal module, its problem module, and tests in every usual place."""
    write(root / "geometry.py", "def area(w, h):\n    return w * h\n")
    write(root / "problem.py", f"def solve():\n    '''>>> solve()\n    {SECRET}\n    '''\n")
    write(root / "test_geometry.py")
    write(root / "geometry_test.py")
    write(root / "conftest.py")
    write(root / "tests" / "test_more.py")
    write(root / "tests" / "expected.json")
    write(root / "pkg" / "__init__.py", "")
    write(root / "pkg" / "util.py", "X = 1\n")
    write(root / "pkg" / "deep" / "test_deep.py")
    write(root / "docs" / "test" / "cases.txt")
    write(root / "__pycache__" / "test_geometry.cpython-311.pyc")
    write(root / "__pycache__" / "conftest.cpython-311.opt-1.pyc")
    write(root / "__pycache__" / "geometry.cpython-311.pyc", "compiled geometry")
    write(root / ".git" / "HEAD", "ref: refs/heads/main\n")
    write(root / ".git" / "objects" / "ab" / "cdef")
    write(root / "vendored" / ".git", "gitdir: ../.git/modules/vendored\n")
    # never walked
    write(root / ".venv" / "pyvenv.cfg", "home = /usr/bin\n")
    write(root / ".venv" / "lib" / "test_venv.py")
    write(root / "env2" / "pyvenv.cfg", "home = /usr/bin\n")
    write(root / "env2" / "test_env.py")
    write(root / "node_modules" / "x" / "test_node.py")
    write(root / "lib" / "site-packages" / "test_site.py")
    write(root / "build" / "test_build.py")
    write(root / "dist" / "test_dist.py")
    write(root / "geometry.egg-info" / "test_egg.py")
    write(root / ".cache" / "test_cached.py")
    return root


EXPECTED = [
    ".git",
    "__pycache__/conftest.cpython-311.opt-1.pyc",
    "__pycache__/test_geometry.cpython-311.pyc",
    "conftest.py",
    "docs/test",
    "geometry_test.py",
    "pkg/deep/test_deep.py",
    "test_geometry.py",
    "tests",
    "vendored/.git",
]


# hidden_paths


def test_hidden_paths_lists_tests_git_and_compiled_tests(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    assert hidden_paths(ws) == sorted(str(ws / name) for name in EXPECTED)


def test_hidden_paths_adds_existing_extras_once(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    extra = [ws / "problem.py", ws / "missing.py", ws / "tests" / "expected.json"]
    listed = hidden_paths(ws, [*extra, ws / "problem.py"])
    assert listed == sorted([*(str(ws / name) for name in EXPECTED), str(ws / "problem.py")])
    # the whole workspace given: everything is inside it
    assert hidden_paths(ws, [ws / "."]) == [str(ws)]


def test_hidden_paths_are_absolute_sorted_and_outermost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = make_workspace(tmp_path / "ws")
    monkeypatch.chdir(tmp_path)
    listed = hidden_paths(Path("ws"), [Path("ws/problem.py")])
    assert listed == sorted(set(listed))
    assert all(os.path.isabs(path) for path in listed)
    assert str(ws / "problem.py") in listed
    for path in listed:
        assert not any(path.startswith(other + os.sep) for other in listed)


def test_hidden_paths_of_a_missing_workspace_are_the_extras(tmp_path: Path) -> None:
    extra = write(tmp_path / "problem.py")
    assert hidden_paths(tmp_path / "missing", [extra]) == [str(extra)]


def test_hidden_paths_do_not_follow_linked_directories(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    write(ws / "real" / "test_a.py")
    (ws / "loop").symlink_to(ws)  # a loop: not walked
    (ws / "linked_tests").symlink_to(ws / "real")
    (ws / "test").symlink_to(ws / "real")  # a linked test directory is hidden
    assert hidden_paths(ws) == [str(ws / "real" / "test_a.py"), str(ws / "test")]


def test_hidden_paths_stop_at_the_path_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = tmp_path / "ws"
    for index in range(10):
        write(ws / f"test_{index}.py")
    write(ws / "a" / "test_deeper.py")
    monkeypatch.setattr(hiding, "MAX_PATHS", 5)
    assert hidden_paths(ws) == [str(ws / f"test_{index}.py") for index in range(5)]
    # the extras count against the bound too, and are kept
    listed = hidden_paths(ws, [ws / "a" / "test_deeper.py"])
    assert len(listed) == 5
    assert str(ws / "a" / "test_deeper.py") in listed


def test_hidden_paths_stop_at_the_directory_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = tmp_path / "ws"
    write(ws / "test_top.py")
    write(ws / "a" / "test_a.py")
    write(ws / "b" / "c" / "test_c.py")
    monkeypatch.setattr(hiding, "MAX_DIRECTORIES", 3)  # ws, a, b: breadth first
    assert hidden_paths(ws) == [str(ws / "a" / "test_a.py"), str(ws / "test_top.py")]


def test_hidden_paths_default_bounds(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    for index in range(hiding.MAX_PATHS + 50):
        (ws / f"test_{index:05}.py").write_text("")
    listed = hidden_paths(ws)
    assert len(listed) == hiding.MAX_PATHS == 2000
    assert listed[-1] == str(ws / "test_01999.py")
    assert hiding.MAX_DIRECTORIES == 5000


# hidden paths in a sandbox's layout


def test_hidden_paths_that_a_sandbox_shows(tmp_path: Path) -> None:
    real = make_workspace(tmp_path / "real")
    linked = tmp_path / "linked"
    linked.symlink_to(real)
    outside = write(tmp_path / "outside" / "test_outside.py")
    layout = FileLayout(home=None, binds={"/tmp": [str(linked), str(real)], "/dev/shm": []})
    hidden = [str(linked / "tests"), str(linked / "conftest.py"), str(outside)]
    # missing, or what the worker needs to start: never covered
    hidden += [str(tmp_path / "missing.py"), str(REPO), sys.prefix]
    hidden += [str(REPO / "plansearch" / "execution" / "forkserver.py")]
    assert hidden_in_sandbox(layout, hidden) == sorted(
        [
            str(linked / "tests"),
            str(linked / "conftest.py"),
            str(real / "tests"),
            str(real / "conftest.py"),
        ]
    )
    # under a private root but bound back by no path: hidden with the root already
    layout = FileLayout(home=None, binds={"/tmp": [], "/dev/shm": []})
    assert hidden_in_sandbox(layout, [str(real / "tests")]) == []
    # not under a private root: what the read-only root shows, by its real name only
    layout = FileLayout(home=None, binds={"/dev/shm": []})
    assert hidden_in_sandbox(layout, [str(linked / "tests")]) == [str(real / "tests")]
    # one inside another: the outer one only
    inner = [str(real / "tests"), str(real / "tests" / "test_more.py")]
    assert hidden_in_sandbox(layout, inner) == [str(real / "tests")]


def bwrap_spec_argv(ws: Path, hidden: list[str]) -> tuple[list[str], dict[str, object]]:
    spec = worker_spec("bwrap", Limits(), "psc-test", paths=[str(ws)], hidden=hidden)
    return spec.argv, config_of(spec)


def test_bwrap_arguments_cover_hidden_paths_after_binding_back(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    hidden = hidden_paths(ws, [ws / "problem.py"])
    argv, config = bwrap_spec_argv(ws, hidden)
    bwrap = argv[: argv.index("--")]
    bind_back = bwrap.index(str(ws)) - 1
    assert bwrap[bind_back : bind_back + 3] == ["--ro-bind", str(ws), str(ws)]
    filesystem = config["filesystem"]
    assert isinstance(filesystem, dict)
    assert filesystem["hidden"] == hidden
    for path in hidden:
        if os.path.isdir(path):
            at = bwrap.index("--tmpfs", bind_back)
            while bwrap[at + 1] != path:
                at = bwrap.index("--tmpfs", at + 1)
            assert bwrap[at + 2 : at + 4] == ["--remount-ro", path]
        else:
            at = bwrap.index(path) - 2
            assert bwrap[at : at + 3] == ["--ro-bind", os.devnull, path]
        assert at > bind_back


def test_nothing_is_hidden_without_a_sandbox(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    spec = worker_spec("rlimits", Limits(), "psc-test", paths=[str(ws)], hidden=hidden_paths(ws))
    try:
        assert spec.argv[0] == sys.executable
        assert str(ws / "tests") not in spec.argv[:-1]
    finally:
        remove_scratch_root(spec)


# in real sandboxes

PROBE = """
import json, os, sys
job = json.loads(sys.argv[-1])
seen = {}
for path in job["files"]:
    try:
        with open(path, "rb") as file:
            seen[path] = file.read().decode("latin-1")
    except OSError as exc:
        seen[path] = "cannot open: " + type(exc).__name__
for path in job["dirs"]:
    try:
        seen[path] = sorted(os.listdir(path))
    except OSError as exc:
        seen[path] = "cannot list: " + type(exc).__name__
    try:
        with open(os.path.join(path, "new.txt"), "w") as file:
            file.write("x")
        seen[path + " write"] = "written"
    except OSError as exc:
        seen[path + " write"] = type(exc).__name__
sys.path.insert(0, job["workspace"])
import geometry
seen["area"] = geometry.area(2, 3)
with open(os.path.join(job["workspace"], "geometry.py")) as file:
    seen["geometry.py"] = file.read()
with open(os.path.join(job["workspace"], "pkg", "util.py")) as file:
    seen["pkg/util.py"] = file.read()
print(json.dumps(seen))
"""

ENTER_NAMESPACES = """
import json, sys, types
config = json.loads("".join(sys.argv[1:-1]))
for name, path in config["packages"]:
    package = types.ModuleType(name)
    package.__path__ = [path]
    sys.modules[name] = package
from plansearch.execution import namespaces
namespaces.enter(config["filesystem"], ())
"""


@pytest.fixture(params=["tmp", "var-tmp", "linked"])
def workspace(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(the workspace as the user names it, its real directory): under /tmp (bound back into
    the sandbox's private /tmp), under /var/tmp (shown by the read-only root), or named
    through a symbolic link."""
    if request.param == "var-tmp":
        if not os.access("/var/tmp", os.W_OK):
            pytest.skip("/var/tmp is not writable here")
        with tempfile.TemporaryDirectory(dir="/var/tmp") as directory:
            ws = make_workspace(Path(directory) / "ws")
            yield ws, ws
        return
    real = make_workspace(tmp_path / "ws")
    if request.param == "linked":
        (tmp_path / "link").symlink_to(real)
        yield tmp_path / "link", real
    else:
        yield real, real


def run_in_sandbox(
    level: IsolationLevel,
    ws: Path,
    real: Path,
    files: list[str] | None = None,
    dirs: list[str] | None = None,
) -> dict[str, object]:
    """What a process sees in a sandbox at `level` with `ws` bound and its tests hidden: the
    `files` read, the `dirs` listed and written to (names relative to both `ws` and `real`)."""
    require_level(level)
    hidden = hidden_paths(ws, [ws / "problem.py"])
    spec = worker_spec(level, Limits(), "psc-test", paths=[str(ws)], hidden=hidden)
    if files is None:
        files = [name for name in EXPECTED if not (real / name).is_dir()]
        files += ["problem.py", "tests/test_more.py", "pkg/deep/test_deep.py"]
    if dirs is None:
        dirs = [name for name in EXPECTED if (real / name).is_dir()]
    job = {
        "workspace": str(ws),
        "files": [str(root / name) for root in {ws, real} for name in files],
        "dirs": [str(root / name) for root in {ws, real} for name in dirs],
    }
    if level == "bwrap":
        argv = [*spec.argv[: spec.argv.index("--") + 1], sys.executable, "-I", "-S", "-c", PROBE]
    else:
        config = spec.argv[spec.argv.index(BOOTSTRAP) + 1 :]
        argv = [sys.executable, "-I", "-S", "-c", ENTER_NAMESPACES + PROBE, *config]
    completed = subprocess.run(
        [*argv, json.dumps(job)],
        capture_output=True,
        text=True,
        env=spec.env,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    seen: dict[str, object] = json.loads(completed.stdout)
    return seen


@pytest.mark.parametrize("level", ["bwrap", "namespaces"])
def test_tests_are_unreadable_in_the_sandbox(
    level: IsolationLevel, workspace: tuple[Path, Path]
) -> None:
    ws, real = workspace
    seen = run_in_sandbox(level, ws, real)
    # a file is covered by /dev/null: bubblewrap binds it without device access (no opening)
    covered_file = "cannot open: PermissionError" if level == "bwrap" else ""
    assert SECRET not in json.dumps(seen)
    for root in {ws, real}:
        names = ["test_geometry.py", "__pycache__/test_geometry.cpython-311.pyc", "conftest.py"]
        names += ["problem.py", "vendored/.git", "pkg/deep/test_deep.py"]  # and the extra module
        for name in names:
            assert seen[str(root / name)] == covered_file, name
        assert str(seen[str(root / "tests/test_more.py")]).startswith("cannot open")
        for name in ["tests", ".git", "docs/test"]:
            assert seen[str(root / name)] == []
            assert seen[f"{root / name} write"] in ("OSError", "PermissionError")
    # the rest of the workspace is still there, and importable
    assert seen["area"] == 6
    assert seen["geometry.py"] == (real / "geometry.py").read_text()
    assert seen["pkg/util.py"] == "X = 1\n"
    assert (real / "tests" / "test_more.py").read_text() == SECRET  # untouched on the host
    assert not (real / "tests" / "new.txt").exists()


@pytest.mark.parametrize("level", [pytest.param("bwrap", marks=pytest.mark.slow), "namespaces"])
def test_as_many_hidden_paths_as_listed_fit_in_a_command_line(
    level: IsolationLevel, tmp_path: Path
) -> None:
    ws = make_workspace(tmp_path / "ws")
    long = ws / ("a_rather_long_directory_name_" * 3)
    long.mkdir()
    for index in range(hiding.MAX_PATHS):
        (long / f"test_{index:04}_{'with_a_long_name_' * 4}.py").write_text(SECRET)
    hidden = hidden_paths(ws)
    assert len(hidden) == hiding.MAX_PATHS
    spec = worker_spec(level, Limits(), "psc-test", paths=[str(ws)], hidden=hidden)
    assert len(json.dumps(hidden)) > 128 * 1024
    assert max(len(argument.encode()) for argument in spec.argv) < 128 * 1024
    filesystem = config_of(spec)["filesystem"]
    assert isinstance(filesystem, dict)
    assert filesystem["hidden"] == hidden
    names = [str(Path(path).relative_to(ws)) for path in hidden[-3:]]
    seen = run_in_sandbox(level, ws, ws, files=names, dirs=[])
    assert SECRET not in json.dumps(seen)
    assert seen["area"] == 6


# redact_docstrings


def docstring_nodes(tree: ast.AST) -> list[ast.Constant]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            docstring = node.body[0] if node.body else None
            if (
                isinstance(docstring, ast.Expr)
                and isinstance(docstring.value, ast.Constant)
                and isinstance(docstring.value.value, str)
            ):
                found.append(docstring.value)
    return found


def without_docstrings(tree: ast.AST) -> str:
    for node in docstring_nodes(tree):
        node.value = ""
    return ast.dump(tree)


def check_redacted(source: str) -> str:
    """Redact `source` and check what must hold for any source that parses."""
    redacted = redact_docstrings(source)
    original, after = ast.parse(source), ast.parse(redacted)
    lines, new_lines = source.splitlines(keepends=True), redacted.splitlines(keepends=True)
    assert len(new_lines) == len(lines)
    spanned = set()
    for node in docstring_nodes(original):
        spanned |= set(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    for number, (line, new_line) in enumerate(zip(lines, new_lines, strict=True), 1):
        if number not in spanned:
            assert new_line == line
        else:
            assert new_line[len(new_line.rstrip("\r\n")) :] == line[len(line.rstrip("\r\n")) :]
    # the same program, each docstring empty (but for the line breaks it spans)
    assert without_docstrings(after) == without_docstrings(original)
    for node in docstring_nodes(after):
        assert isinstance(node.value, str)
        assert node.value.strip() == ""
    # every statement is where it was (its line, and its column in characters)
    assert statement_positions(after, redacted) == statement_positions(original, source)
    return redacted


def statement_positions(tree: ast.AST, source: str) -> list[tuple[int, int]]:
    lines = source.encode().splitlines()
    return [
        (node.lineno, len(lines[node.lineno - 1][: node.col_offset].decode()))
        for node in ast.walk(tree)
        if isinstance(node, ast.stmt)
    ]


MODULE = '''\
"""Shapes.

>>> area(2, 3)
6
"""
import math

GREETING = "hello"  # not a docstring


class Shape:
    r\'\'\'A shape.

    >>> Shape().sides()
    0
    \'\'\'

    def sides(self):
        "No sides. >>> Shape().sides() 0"
        return 0

    async def later(self):
        """Later.

        >>> run(Shape().later())
        42
        """
        return 42


def area(w, h):
    """Area of a w by h rectangle.

    >>> area(2, 3)
    6
    """

    def inner():
        \'\'\'Inner. >>> inner() 1\'\'\'
        return 1

    if w:
        class Local:
            """Local. >>> Local() 7"""
        for _ in range(1):
            try:
                def deep():
                    """Deep. >>> deep() 9"""
            finally:
                pass
    return w * h + inner() - 1
'''


def test_docstrings_at_every_depth_are_emptied() -> None:
    redacted = check_redacted(MODULE)
    assert ">>>" not in redacted
    for word in ["Shapes", "A shape", "No sides", "Later", "Area of", "Inner", "Local.", "Deep"]:
        assert word not in redacted
    assert 'GREETING = "hello"  # not a docstring' in redacted
    assert "    r'''\n\n\n\n'''\n" in redacted  # the same prefix and quotes, five lines
    assert '    """\n\n\n\n"""\n' in redacted
    assert '        ""\n' in redacted  # one line stays one
    assert "        ''''''\n" in redacted


def test_doctest_examples_are_gone() -> None:
    source = 'def f(x):\n    """Double.\n\n    >>> f(2)\n    4\n    """\n    return 2 * x\n'
    redacted = check_redacted(source)
    assert redacted == 'def f(x):\n    """\n\n\n\n"""\n    return 2 * x\n'


def test_other_strings_and_f_strings_are_untouched() -> None:
    source = (
        'def f():\n    f"""not {1} a docstring"""\n    return "x"\n'
        'def g():\n    b"bytes are not docstrings"\n'
        'def h():\n    x = 1\n    "a string after the first statement"\n'
        'def k():\n    ("a" f"{2}")\n'
        'X = """module string, not the first statement"""\n'
    )
    assert check_redacted(source) == source


def test_concatenated_docstrings_are_emptied_whole() -> None:
    source = 'def f():\n    "a" \'b\'\n    return 1\ndef g():\n    ("one"\n     "two")\n'
    redacted = check_redacted(source)
    assert redacted == 'def f():\n    ""\n    return 1\ndef g():\n    ("""\n"""       )\n'
    backslash = 'def f():\n    "a" \\\n    "b"\n    return 1\n'
    assert check_redacted(backslash) == 'def f():\n    """\n"""\n    return 1\n'


def test_code_after_a_docstring_on_its_line_keeps_its_column() -> None:
    source = 'def f(): "doc"; return 1\ndef g():\n    """a\n    b"""; x = 2\n    return x\n'
    redacted = check_redacted(source)
    lines = redacted.splitlines()
    assert lines[0].index("; return") == source.splitlines()[0].index("; return")
    assert lines[3].index("; x") == source.splitlines()[3].index("; x")


def test_unicode_in_a_docstring_moves_nothing() -> None:
    source = (
        'def f():\n    """Résumé → naïve ünïcödé\n    >>> f()\n    \'é\'\n    """; y = "ü"\n'
        '    return "é" + y\n'
        'class C: """Ça va ✓"""; z = "ß"\n'
    )
    redacted = check_redacted(source)
    assert "Résumé" not in redacted
    assert ">>>" not in redacted
    assert "Ça va" not in redacted
    lines, old = redacted.splitlines(), source.splitlines()
    assert lines[4].index('; y = "ü"') == old[4].index('; y = "ü"')
    assert lines[5] == old[5]
    assert lines[6].index('; z = "ß"') == old[6].index('; z = "ß"')


def test_line_endings_are_kept() -> None:
    source = 'def f():\r\n    """Doc.\r\n\r\n    >>> f()\r\n    1\r\n    """\r\n    return 1\r\n'
    redacted = check_redacted(source)
    assert redacted == 'def f():\r\n    """\r\n\r\n\r\n\r\n"""\r\n    return 1\r\n'
    old_mac = 'def f():\r    """Doc.\r    >>> f()\r    1\r    """\r    return 1\r'
    assert check_redacted(old_mac).count("\r") == old_mac.count("\r")
    assert "Doc" not in check_redacted(old_mac)


def test_unparsable_source_is_unchanged() -> None:
    for source in ['def f(:\n    """Doc."""\n', '"""Doc."""\n\0', "", "x = 1\n"]:
        assert redact_docstrings(source) == source


def test_a_module_that_is_only_a_docstring() -> None:
    assert check_redacted('"""Only this."""') == '""""""'
    assert check_redacted("'x'\n") == "''\n"


@pytest.mark.parametrize(
    "path", sorted((REPO / "plansearch").rglob("*.py")), ids=lambda path: path.name
)
def test_real_modules_keep_everything_but_their_docstrings(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    redacted = check_redacted(source)
    if docstring_nodes(ast.parse(source)):
        assert redacted != source
