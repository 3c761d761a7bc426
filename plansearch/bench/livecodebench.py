"""LiveCodeBench (`livecodebench/code_generation_lite`): its release files, problems and tests.

A release file (``test.jsonl``, ``test2.jsonl``, ... ``test6.jsonl``) holds one problem per
line: ``question_content``, ``starter_code``, ``platform``, ``contest_date``, ``difficulty``,
``public_test_cases`` (JSON), ``private_test_cases`` (JSON, or base64 of zlib of a pickle of
that JSON text) and ``metadata`` (JSON; ``func_name`` for LeetCode). Releases name files as
the dataset's own loader does: ``release_v6`` is ``test.jsonl`` to ``test6.jsonl`` (every
problem up to v6), ``v6`` is ``test6.jsonl`` alone (the problems new in v6), ``v2_v4`` is
``test2.jsonl`` to ``test4.jsonl``.

A problem with starter code is LeetCode-style (``functional``): the candidate completes
``class Solution``'s method and each test calls ``Solution().<func_name>(*args)`` with the
input lines read as JSON. The others read standard input (``stdin``). The search sees the
statement and the starter code (whose examples are the public tests); a candidate is correct,
as LiveCodeBench grades it, when it passes the public and the private tests, each test within
6 seconds, with LiveCodeBench's comparisons (`lcb_grading`) and its preamble of imports.
"""

from __future__ import annotations

import ast
import base64
import io
import json
import pickle
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from plansearch.bench import lcb_grading
from plansearch.bench.literals import python_literal
from plansearch.bench.tasks import BenchError, Dataset, TaskTests, Verdict
from plansearch.extract import problem_from_source, problem_from_statement
from plansearch.problem import Problem, ProblemError
from plansearch.source import walk_functions
from plansearch.splice import candidate_program
from plansearch.types import Program, TestCase, TestOutcome

if TYPE_CHECKING:
    from plansearch.execution.executor import Executor

HUB_REPO = "livecodebench/code_generation_lite"
PLATFORMS = ("atcoder", "codeforces", "leetcode")
DIFFICULTIES = ("easy", "medium", "hard")
TEST_TIMEOUT = 6.0
"""Seconds one test may run, as LiveCodeBench's grader allows."""
PRELUDE = "\n".join([
    *(f"from {name} import *" for name in (
        "string", "re", "datetime", "collections", "heapq", "bisect", "copy", "math", "random",
        "statistics", "itertools", "functools", "operator", "io", "sys", "json", "builtins",
        "typing",
    )),
    *(f"import {name}" for name in (
        "string", "re", "datetime", "collections", "heapq", "bisect", "copy", "math", "random",
        "statistics", "itertools", "functools", "operator", "io", "sys", "json",
    )),
    "sys.setrecursionlimit(50000)",
    "",
])
"""What LiveCodeBench's grader puts before every program (so `List` needs no import)."""


def _release_files() -> dict[str, tuple[str, ...]]:
    names = [f"test{number if number > 1 else ''}.jsonl" for number in range(1, 7)]
    releases = {f"release_v{last}": tuple(names[:last]) for last in range(1, 7)}
    releases["release_latest"] = tuple(names)
    for first in range(1, 7):
        releases[f"v{first}"] = (names[first - 1],)
        for last in range(first + 1, 7):
            releases[f"v{first}_v{last}"] = tuple(names[first - 1 : last])
    return releases


RELEASES = _release_files()
DEFAULT_RELEASE = "release_latest"


@dataclass(frozen=True)
class LcbTest:
    """One test as the dataset gives it."""

    input: str
    output: str
    kind: Literal["stdin", "functional"]


@dataclass(frozen=True)
class LcbTask:
    """One LiveCodeBench problem."""

    task_id: str
    title: str
    statement: str
    platform: str
    contest_date: date
    difficulty: str
    starter_code: str
    func_name: str | None
    public: tuple[LcbTest, ...]
    private: tuple[LcbTest, ...]

    @property
    def functional(self) -> bool:
        return self.func_name is not None

    def problem(self) -> Problem:
        if self.func_name is None:
            return problem_from_statement(self.statement)
        module = stub_module(self.starter_code)
        return problem_from_source(module, _qualname(module, self.func_name),
                                   statement=self.statement)

    def program(self, problem: Problem, code: str) -> Program:
        if self.func_name is None:
            return Program(source=PRELUDE + code, entry_point=None)
        spliced = candidate_program(problem, code, stub_module(self.starter_code))
        return spliced.model_copy(update={"source": PRELUDE + spliced.source})

    async def tests(self, problem: Problem, executor: Executor) -> TaskTests:
        public = [self._test(test, f"public-{n}") for n, test in enumerate(self.public, 1)]
        hidden = [self._test(test, f"private-{n}") for n, test in enumerate(self.private, 1)]
        tests = len(public) + len(hidden)
        return TaskTests(
            public=public, hidden=hidden, grade=grade, correct_needs_public=True,
            test_timeout=TEST_TIMEOUT, candidate_timeout=(TEST_TIMEOUT + 1) * tests + 5,
        )

    def _test(self, test: LcbTest, test_id: str) -> TestCase:
        source = f"LiveCodeBench {test_id.split('-')[0]}"
        if test.kind == "stdin":
            return TestCase(id=test_id, kind="stdio", source=source, stdin=test.input,
                            expected_stdout=test.output)
        if self.func_name is None:
            raise BenchError(f"{self.task_id}: a functional test, but no func_name in metadata")
        try:
            arguments = [json.loads(line) for line in test.input.rstrip("\n").split("\n")]
            expected = json.loads(test.output)
        except ValueError as error:
            raise BenchError(f"{self.task_id} {test_id}: not JSON ({error})") from None
        call = f"Solution().{self.func_name}({', '.join(map(python_literal, arguments))})"
        return TestCase(id=test_id, kind="docstring", source=source, call=call,
                        expected=python_literal(expected))


def grade(case: TestCase, outcome: TestOutcome) -> Verdict:
    """A test's verdict by LiveCodeBench's rules for its kind."""
    if case.kind == "stdio":
        return lcb_grading.grade_stdin(case, outcome)
    return lcb_grading.grade_functional(case, outcome)


@dataclass(frozen=True)
class Selection:
    """Which problems to take (all filters optional; dates inclusive)."""

    release: str | None = None
    since: date | None = None
    until: date | None = None
    platforms: tuple[str, ...] = ()
    difficulties: tuple[str, ...] = ()

    def takes(self, platform: str, day: date, difficulty: str) -> bool:
        return (
            (self.since is None or day >= self.since)
            and (self.until is None or day <= self.until)
            and (not self.platforms or platform in self.platforms)
            and (not self.difficulties or difficulty in self.difficulties)
        )

    def record(self) -> dict[str, str]:
        """The filters given, for the report."""
        chosen = {
            "release": self.release,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "platform": ",".join(self.platforms) or None,
            "difficulty": ",".join(self.difficulties) or None,
        }
        return {key: value for key, value in chosen.items() if value}


def load_dataset(source: Path | None, selection: Selection) -> Dataset:
    """The selected problems, from `source` (a release file or a folder of them) or, without
    it, from the Hugging Face hub."""
    if selection.release is not None and selection.release not in RELEASES:
        raise BenchError(f"unknown release {selection.release!r}: use one of "
                         f"{', '.join(sorted(RELEASES, key=_release_order))}")
    if source is None:
        release = selection.release or DEFAULT_RELEASE
        files, where = fetch_release(release)
    else:
        files, release = local_files(source, selection.release)
        where = str(source.resolve())
    tasks = list(read_tasks(files, selection))
    return Dataset(name="livecodebench", version=release, source=where, tasks=tasks,
                   selection=selection.record())


def local_files(source: Path, release: str | None) -> tuple[list[Path], str]:
    """The release files under `source` and what they are (the release, or their names)."""
    if source.is_file():
        if release is not None and source.name not in RELEASES[release]:
            raise BenchError(f"--from names {source.name}, which is not in release {release}")
        return [source], release or source.name
    if not source.is_dir():
        raise BenchError(f"--from {source}: no such file or folder")
    if release is not None:
        missing = [name for name in RELEASES[release] if not (source / name).is_file()]
        if missing:
            raise BenchError(f"release {release} needs {', '.join(missing)} in {source}")
        return [source / name for name in RELEASES[release]], release
    files = sorted(source.glob("test*.jsonl"), key=lambda path: _file_order(path.name))
    if not files:
        raise BenchError(f"no release file (test*.jsonl) in {source}")
    return files, "+".join(path.name for path in files)


def fetch_release(release: str) -> tuple[list[Path], str]:
    """The release's files from the Hugging Face hub (kept in its cache), and their revision."""
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise BenchError(
            "fetching LiveCodeBench needs huggingface_hub: pip install 'plansearch[datasets]'; "
            f"or pass --from PATH with release files (test*.jsonl of {HUB_REPO})"
        ) from None
    files: list[Path] = []
    for name in RELEASES[release]:
        try:
            files.append(Path(hf_hub_download(HUB_REPO, name, repo_type="dataset")))
        except Exception as error:  # the hub client's errors have no common base
            raise BenchError(
                f"cannot fetch {name} of {HUB_REPO} from the Hugging Face hub "
                f"({type(error).__name__}: {str(error)[:200]}). Without network, download the "
                "release files where there is one and pass --from FOLDER"
            ) from None
    return files, f"hf://datasets/{HUB_REPO}@{files[0].parent.name}"


def read_tasks(files: Sequence[Path], selection: Selection) -> Iterator[LcbTask]:
    """The selected problems of `files`, in file and line order (each id once)."""
    seen: set[str] = set()
    for path in files:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    task = _task(json.loads(line), selection)
                except (ValueError, KeyError, TypeError, zlib.error) as error:
                    raise BenchError(f"{path}:{number}: not a LiveCodeBench problem "
                                     f"({type(error).__name__}: {error})") from None
                if task is not None and task.task_id not in seen:
                    seen.add(task.task_id)
                    yield task


def decode_tests(raw: str) -> list[LcbTest]:
    """Tests from their JSON text, or from base64 of zlib of a pickle of that text."""
    try:
        items = json.loads(raw)
    except json.JSONDecodeError:
        items = json.loads(_unpickle_text(zlib.decompress(base64.b64decode(raw))))
    if not isinstance(items, list):
        raise ValueError("the tests are not a list")
    return [LcbTest(input=str(t["input"]), output=str(t["output"]), kind=t["testtype"])
            for t in items]


class _TextOnly(pickle.Unpickler):
    """An unpickler that builds plain strings only: no class, no function, no object."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refused to load {module}.{name}")


def _unpickle_text(data: bytes) -> str:
    try:
        value = _TextOnly(io.BytesIO(data)).load()
    except Exception as error:  # a malformed pickle fails in many ways; none is trusted
        raise ValueError(f"the private tests are not a pickled string ({error})") from None
    if not isinstance(value, str):
        raise ValueError(f"the private tests unpickle to a {type(value).__name__}, not text")
    return value


def _task(row: dict[str, Any], selection: Selection) -> LcbTask | None:
    platform, difficulty = str(row["platform"]), str(row["difficulty"])
    day = date.fromisoformat(str(row["contest_date"])[:10])
    if not selection.takes(platform, day, difficulty):
        return None
    metadata = json.loads(row.get("metadata") or "{}")
    return LcbTask(
        task_id=str(row["question_id"]),
        title=str(row.get("question_title") or ""),
        statement=str(row["question_content"]),
        platform=platform,
        contest_date=day,
        difficulty=difficulty,
        starter_code=str(row.get("starter_code") or ""),
        func_name=metadata.get("func_name"),
        public=tuple(decode_tests(row["public_test_cases"])),
        private=tuple(decode_tests(row["private_test_cases"])),
    )


def stub_module(starter_code: str) -> str:
    """The starter code with a ``...`` body under its last ``def``, so that it parses."""
    code = starter_code.rstrip()
    header = code.splitlines()[-1] if code else ""
    if not header.endswith(":"):
        return code + "\n"
    indent = header[: len(header) - len(header.lstrip())]
    step = "\t" if "\t" in indent else "    "
    return f"{code}\n{indent}{step}...\n"


def _qualname(module: str, func_name: str) -> str:
    """The qualified name of the method to write (``Solution.f``)."""
    try:
        tree = ast.parse(module)
    except SyntaxError as error:
        raise ProblemError(f"the starter code does not parse: {error}") from None
    names = [name for name, _ in walk_functions(tree) if name.rsplit(".", 1)[-1] == func_name]
    if not names:
        raise ProblemError(f"the starter code defines no {func_name}")
    return names[0]


def _file_order(name: str) -> int:
    digits = name.removeprefix("test").removesuffix(".jsonl")
    return int(digits) if digits.isdigit() else 1


def _release_order(name: str) -> tuple[int, str]:
    return (0 if name.startswith("release") else 1, name)
