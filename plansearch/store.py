"""The run store: finished searches kept in SQLite, so hover and re-ranking survive a restart.

One file per workspace (`default_store_path`), in WAL mode with a busy timeout, so that
several processes (two editor windows, an editor and `plansearch watch`) read and write it
at once. A run keeps its whole `SearchResult` and its `Problem` as JSON, the module source it
was tested with, and the files its tests came from. Generated code is recognised later by a
`fingerprint` of its function. Results and problems never hold an API key, and nothing else
about the settings is stored.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from pydantic import ValidationError

from plansearch.problem import Problem
from plansearch.ranking import RankedCandidate, Ranking
from plansearch.result import Candidate, SearchResult
from plansearch.source import FunctionNode, find_function
from plansearch.sqlite_wal import enable_wal
from plansearch.types import CandidateRun, TestCase

SCHEMA_VERSION = 1
BUSY_TIMEOUT_SECONDS = 10.0
"""How long a write waits for another process's write to finish."""

_Model = TypeVar("_Model", SearchResult, Problem)

_FILE_TEST_KINDS = frozenset({"pytest", "file"})
"""Test kinds whose `source` names the file they came from."""

_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        workspace TEXT,
        document_uri TEXT,
        source_file TEXT,
        qualname TEXT,
        result TEXT NOT NULL,
        problem TEXT NOT NULL,
        module_source TEXT
    )""",
    "CREATE INDEX runs_by_function ON runs (source_file, qualname, created)",
    """CREATE TABLE fingerprints (
        fingerprint TEXT NOT NULL,
        run_id TEXT NOT NULL REFERENCES runs (id),
        candidate_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        applied INTEGER NOT NULL,
        seen REAL NOT NULL,
        PRIMARY KEY (fingerprint, run_id, candidate_id)
    )""",
    """CREATE TABLE test_files (
        path TEXT NOT NULL,
        run_id TEXT NOT NULL REFERENCES runs (id),
        PRIMARY KEY (path, run_id)
    )""",
)

_RUN_COLUMNS = "id, created, workspace, document_uri, source_file, result, problem, module_source"


class StoreError(Exception):
    """The run store cannot be opened, read or written; the message says which file and why."""


@dataclass(frozen=True)
class StoredRun:
    """A run as saved, with the latest test results."""

    run_id: str
    result: SearchResult
    problem: Problem
    document_uri: str | None
    workspace: str | None
    source_file: Path | None
    """The problem's file, absolute (None for a statement)."""
    module_source: str | None
    """The module the candidates were first tested in (None when not given)."""
    created: datetime


@dataclass(frozen=True)
class StoredCandidate:
    """A stored candidate found from its code, with its run's plan and test results."""

    run_id: str
    candidate: Candidate
    run: CandidateRun | None
    ranked: RankedCandidate | None
    tests: list[TestCase]
    strategy: str
    provider: str
    model: str
    created: datetime
    applied: bool
    """The match is the function as it was applied to a file (`RunStore.record_applied`)."""


def default_store_path(workspace: Path) -> Path:
    """Where a workspace keeps its runs: ``<workspace>/.plansearch/runs.sqlite3``."""
    return workspace / ".plansearch" / "runs.sqlite3"


def fingerprint(function_source: str) -> str:
    """A hash of the first function in `function_source` that ignores layout, comments, the
    docstring, decorators and signature annotations, but not what the code does.

    The source may be indented (a method cut out of a class). Raises ValueError when it is
    not Python or defines no function.
    """
    node = _first_function(_parse_fragment(function_source))
    if node is None:
        raise ValueError("the source defines no function")
    return _hash(node)


def fingerprint_of(module_source: str, qualname: str) -> str | None:
    """The `fingerprint` of function `qualname` (``name`` or ``Class.method``) in a module;
    None when the module does not parse or has no such function."""
    try:
        tree = ast.parse(module_source)
    except (SyntaxError, ValueError):
        return None
    node = find_function(tree, qualname)
    return _hash(node) if node is not None else None


class RunStore:
    """Runs, candidates, plans and test results of one workspace, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        """Open (or create) the store at `path`; raises StoreError when it is unusable."""
        self.path = path
        self._lock = threading.Lock()
        try:
            created_dir = not path.parent.exists()
            path.parent.mkdir(parents=True, exist_ok=True)
            if created_dir and path.parent.name == ".plansearch":
                (path.parent / ".gitignore").write_text("*\n", encoding="utf-8")
            self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS,
                                       isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as error:
            raise StoreError(f"cannot open the run store {path}: {error}") from error
        try:
            with self._errors("open"):
                enable_wal(self._db, BUSY_TIMEOUT_SECONDS)
                self._db.execute("PRAGMA foreign_keys=ON")
            self._prepare()
        except StoreError:
            self._db.close()
            raise

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def save_run(
        self,
        result: SearchResult,
        problem: Problem,
        *,
        document_uri: str | None = None,
        workspace: str | None = None,
        module_source: str | None = None,
    ) -> str:
        """Store a finished search and index its candidates' code; returns the run id.

        `workspace` is the folder relative test sources (``tests/test_x.py``) are under;
        `module_source` the module the candidates were spliced into for testing.
        """
        run_id = uuid.uuid4().hex
        now = time.time()
        root = str(Path(workspace).resolve()) if workspace else None
        source_file = str(Path(problem.source_path).resolve()) if problem.source_path else None
        prints = [
            (digest, run_id, candidate.id, position, 0, now)
            for position, candidate in enumerate(result.candidates)
            if (digest := _candidate_fingerprint(candidate.code, problem.entry_point))
        ]
        with self._transaction("save a run") as db:
            db.execute(
                "INSERT INTO runs (id, created, updated, workspace, document_uri, source_file,"
                " qualname, result, problem, module_source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, now, now, root, document_uri, source_file,
                 problem.qualname or problem.entry_point, result.model_dump_json(),
                 problem.model_dump_json(), module_source),
            )
            db.executemany("INSERT OR IGNORE INTO fingerprints VALUES (?, ?, ?, ?, ?, ?)", prints)
            _index_test_files(db, run_id, result.tests, root)
        return run_id

    def record_applied(
        self, run_id: str, candidate_id: str, applied_function_source: str
    ) -> None:
        """Remember the function as it was written into a file (it may keep the stub's
        docstring and decorators, or nest helpers), so that `find_by_code` finds it."""
        try:
            digest = fingerprint(applied_function_source)
        except ValueError as error:
            raise StoreError(f"cannot record the applied function: {error}") from None
        with self._transaction("record an applied candidate") as db:
            result = self._result(db, run_id)
            ids = [candidate.id for candidate in result.candidates]
            if candidate_id not in ids:
                raise StoreError(f"run {run_id} has no candidate {candidate_id}")
            db.execute(
                "INSERT INTO fingerprints VALUES (?, ?, ?, ?, 1, ?)"
                " ON CONFLICT DO UPDATE SET applied = 1, seen = excluded.seen",
                (digest, run_id, candidate_id, ids.index(candidate_id), time.time()),
            )

    def find_by_code(self, function_source: str) -> StoredCandidate | None:
        """The stored candidate whose function matches `function_source` (newest match);
        None when none does or the source is not a function."""
        try:
            digest = fingerprint(function_source)
        except ValueError:
            return None
        return self.find_by_fingerprint(digest)

    def find_by_fingerprint(self, digest: str) -> StoredCandidate | None:
        """The newest stored candidate with this `fingerprint`, or None."""
        with self._lock, self._errors("look up a candidate"):
            row = self._db.execute(
                "SELECT f.run_id, f.candidate_id, f.applied, r.created, r.result"
                " FROM fingerprints f JOIN runs r ON r.id = f.run_id WHERE f.fingerprint = ?"
                " ORDER BY f.seen DESC, r.rowid DESC, f.position LIMIT 1",
                (digest,),
            ).fetchone()
        if row is None:
            return None
        run_id, candidate_id, applied, created, text = row
        result = self._parse(SearchResult, text, run_id)
        candidate = next(c for c in result.candidates if c.id == candidate_id)
        ranked = None
        if result.ranking is not None:
            ranked = next(
                (r for r in result.ranking.candidates if r.candidate_id == candidate_id), None
            )
        return StoredCandidate(
            run_id=run_id, candidate=candidate, run=result.runs.get(candidate_id),
            ranked=ranked, tests=result.tests, strategy=result.strategy,
            provider=result.provider, model=result.model, created=_time(created),
            applied=bool(applied),
        )

    def load_run(self, run_id: str) -> StoredRun | None:
        """A stored run, or None when there is none with this id."""
        return self._one_run(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,))

    def latest_run(self, source_file: Path, qualname: str) -> StoredRun | None:
        """The newest run for function `qualname` of a file, or None."""
        return self._one_run(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE source_file = ? AND qualname = ?"
            " ORDER BY created DESC, rowid DESC LIMIT 1",
            (str(source_file.resolve()), qualname),
        )

    def runs_using_test_file(self, path: Path) -> list[str]:
        """Ids of the runs with tests from this file, newest first."""
        with self._lock, self._errors("look up test files"):
            rows = self._db.execute(
                "SELECT t.run_id FROM test_files t JOIN runs r ON r.id = t.run_id"
                " WHERE t.path = ? ORDER BY r.created DESC, r.rowid DESC",
                (str(path.resolve()),),
            ).fetchall()
        return [run_id for (run_id,) in rows]

    def update_tests(
        self,
        run_id: str,
        tests: Sequence[TestCase],
        runs: dict[str, CandidateRun],
        ranking: Ranking,
    ) -> None:
        """Replace a run's tests, test results and ranking (after a re-run)."""
        with self._transaction("update a run's tests") as db:
            result = self._result(db, run_id)
            updated = result.model_copy(update={"tests": list(tests), "runs": runs,
                                                "ranking": ranking})
            (root,) = db.execute("SELECT workspace FROM runs WHERE id = ?", (run_id,)).fetchone()
            db.execute("UPDATE runs SET result = ?, updated = ? WHERE id = ?",
                       (updated.model_dump_json(), time.time(), run_id))
            db.execute("DELETE FROM test_files WHERE run_id = ?", (run_id,))
            _index_test_files(db, run_id, tests, root)

    def _prepare(self) -> None:
        """Create the schema in a new file; refuse a file that is not a store we can read."""
        with self._transaction("open") as db:
            tables = {name for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "meta" not in tables:
                if tables:
                    raise StoreError(f"{self.path} is an SQLite file but not a plansearch run "
                                     "store; choose another path")
                for statement in _SCHEMA:
                    db.execute(statement)
                db.execute("INSERT INTO meta VALUES ('schema_version', ?)",
                           (str(SCHEMA_VERSION),))
                return
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None or row[0] != str(SCHEMA_VERSION):
                found = row[0] if row else "none"
                raise StoreError(f"the run store {self.path} has schema version {found}; this "
                                 f"plansearch reads version {SCHEMA_VERSION}")

    def _one_run(self, query: str, parameters: tuple[str, ...]) -> StoredRun | None:
        with self._lock, self._errors("read a run"):
            row = self._db.execute(query, parameters).fetchone()
        if row is None:
            return None
        run_id, created, workspace, document_uri, source_file, result, problem, module = row
        return StoredRun(
            run_id=run_id,
            result=self._parse(SearchResult, result, run_id),
            problem=self._parse(Problem, problem, run_id),
            document_uri=document_uri,
            workspace=workspace,
            source_file=Path(source_file) if source_file else None,
            module_source=module,
            created=_time(created),
        )

    def _result(self, db: sqlite3.Connection, run_id: str) -> SearchResult:
        row = db.execute("SELECT result FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise StoreError(f"no run {run_id} in {self.path}")
        return self._parse(SearchResult, row[0], run_id)

    def _parse(self, model: type[_Model], text: str, run_id: str) -> _Model:
        try:
            return model.model_validate_json(text)
        except ValidationError as error:
            raise StoreError(f"run {run_id} in {self.path} cannot be read: "
                             f"{error.error_count()} invalid fields") from None

    @contextmanager
    def _transaction(self, doing: str) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the file's write lock from its start."""
        with self._lock, self._errors(doing):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """SQLite errors as StoreError, naming the file and what failed."""
        try:
            yield
        except sqlite3.Error as error:
            message = f"run store {self.path}: cannot {doing}: {error}"
            if isinstance(error, sqlite3.DatabaseError) and not isinstance(
                error, sqlite3.OperationalError
            ):
                message += " (the file is damaged or not a run store: move it away to start anew)"
            raise StoreError(message) from error


def _test_files(tests: Iterable[TestCase], workspace: str | Path | None) -> set[Path]:
    """The absolute paths of the files tests came from (relative sources are under
    `workspace`, and left out without one)."""
    paths = set()
    for test in tests:
        if test.kind not in _FILE_TEST_KINDS:
            continue
        path = Path(test.source)
        if not path.is_absolute():
            if workspace is None:
                continue
            path = Path(workspace) / path
        paths.add(path.resolve())
    return paths


def _index_test_files(
    db: sqlite3.Connection, run_id: str, tests: Iterable[TestCase], root: str | None
) -> None:
    """Record the files a run's tests came from."""
    rows = [(str(path), run_id) for path in sorted(_test_files(tests, root))]
    db.executemany("INSERT INTO test_files VALUES (?, ?)", rows)


def _candidate_fingerprint(code: str, entry_point: str | None) -> str | None:
    """The fingerprint of a candidate's entry point (or first function), if it parses."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    functions = [n for n in ast.walk(tree) if isinstance(n, FunctionNode)]
    named = [n for n in functions if n.name == entry_point]
    chosen = named or functions
    return _hash(chosen[0]) if chosen else None


def _parse_fragment(source: str) -> ast.Module:
    """Parse a function's source, also when it is indented as in a class body."""
    try:
        return ast.parse(source)
    except SyntaxError:
        pass
    except ValueError as error:  # null bytes
        raise ValueError(f"not Python source: {error}") from None
    try:
        return ast.parse("if True:\n" + source)
    except SyntaxError as error:
        line = (error.lineno or 1) - 1
        raise ValueError(f"not valid Python (line {line}: {error.msg})") from None


def _first_function(tree: ast.Module) -> FunctionNode | None:
    return next((n for n in ast.walk(tree) if isinstance(n, FunctionNode)), None)


def _hash(node: FunctionNode) -> str:
    """sha256 of the function's tree without docstring and decorators.

    The tree is written out by `_canonical` rather than `ast.dump`, whose output changes
    between Python versions (3.13 omits empty fields), so that stored fingerprints still
    match after an interpreter upgrade.
    """
    bare = copy.copy(node)
    bare.decorator_list = []
    if ast.get_docstring(node, clean=False) is not None:
        bare.body = node.body[1:]
    text = json.dumps(_canonical(bare), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


_SIGNATURE_TYPES = (ast.arg, ast.FunctionDef, ast.AsyncFunctionDef)
_TYPE_FIELDS = frozenset({"annotation", "returns", "type_comment"})


def _canonical(value: object) -> object:
    """A JSON-able form of an AST: node types and non-empty fields, no line numbers, no
    type annotations of parameters and returns (applying keeps the stub's signature)."""
    if isinstance(value, ast.AST):
        fields = {
            name: _canonical(field)
            for name, field in ast.iter_fields(value)
            if field is not None and field != []
            and not (isinstance(value, _SIGNATURE_TYPES) and name in _TYPE_FIELDS)
        }
        return [type(value).__name__, fields]
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    return repr(value)


def _time(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)
