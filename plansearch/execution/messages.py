"""The messages the executor, its fork servers and their children send one another.

    executor -> fork server (marshalled, trusted)   RunRequest, CancelRequest
    fork server -> executor (JSON)                   Ready, RunResult, Cancelled
    child -> fork server (JSON)                      Begun, Finished, Unimportable, Crashed

A child's `Report` on a test has one-letter keys: the child builds and encodes one per test,
and every object it makes or touches may cost it a copied page of the fork server's (see
`harness`). What comes out of a sandbox only claims to follow these schemas: its readers
check every value they use (`forkserver._take`, `judge`). The frames are in `protocol`.
Imported inside the sandbox: standard library only.
"""

from __future__ import annotations

from enum import StrEnum
from types import CodeType
from typing import Any, Literal, Required, TypedDict


class ServerStatus(StrEnum):
    """The statuses a fork server decides itself, when a child ends before reporting a test.
    Named and valued as in `plansearch.types.TestStatus`, which needs pydantic (not loaded in
    the sandbox); tests/test_messages.py checks that they agree."""

    ERROR = "error"
    TIMEOUT = "timeout"
    MEMORY = "memory"
    SIGNAL = "signal"


Mode = Literal["call", "compare", "probe", "code", "stdio"]
"""How the child runs a test: evaluate a call (`call`), evaluate a call and its expected value
and compare them (`compare`), run split test code recording probes (`probe`), run test code
whole (`code`), or run the program as a script on the test's input (`stdio`)."""

ReportKind = Literal["value", "compared", "done", "output", "raised", "limit", "exit", "none"]
"""What a `Report` is about (its `k`)."""


# executor -> fork server ------------------------------------------------------------------


class WireProgram(TypedDict):
    """The program to run (`plansearch.types.Program`'s fields), its docstrings redacted."""

    source: str
    entry_point: str | None
    module_name: str


class WireLimits(TypedDict):
    """A run's limits (`plansearch.execution.limits.Limits`'s fields)."""

    test_timeout: float
    candidate_timeout: float
    memory_mb: int
    processes: int
    file_size_mb: int
    open_files: int
    output_bytes: int
    tmpfs_mb: int


class Identity(TypedDict):
    """What names a test: its id, its kind (`plansearch.types.TestKind`) and where it came
    from (a test file's path, "docstring", ...; tracebacks name its code after it, see
    `testcode`)."""

    id: str
    kind: str
    source: str


class WireTest(Identity, total=False):
    """One test as the sandbox gets it (see `judge.Planner`): never an expected value that
    is judged outside."""

    mode: Required[Mode]
    call: str
    """`call`, `compare`: the expression to evaluate."""
    doctest: bool
    """`call`: the expected value is a doctest's text; the child also sends what was printed."""
    expected: str
    """`compare`: the expected value's expression, evaluated in the child (judged there)."""
    stdin: str
    """`stdio`: the program's input."""
    output_cap: int
    """`stdio`: how much the program may print."""
    code: str
    """`probe`, `code`: the test code (as shown in tracebacks)."""
    function: str | None
    """`probe`, `code`: the pytest test function's qualified name."""
    compiled: CodeType
    """`probe`, `code`: the test code compiled on the trusted side (absent for model-written
    code, compiled in the sandbox)."""


class RunRequest(TypedDict):
    """Run one candidate against its tests, in order."""

    t: Literal["run"]
    id: int
    program: WireProgram
    tests: list[WireTest]
    limits: WireLimits


class CancelRequest(TypedDict):
    """Stop run `id` (or drop it while it waits); answered by `Cancelled`."""

    t: Literal["cancel"]
    id: int


Command = RunRequest | CancelRequest


# child -> fork server ---------------------------------------------------------------------


class ExceptionReport(TypedDict):
    """An exception the candidate or its test raised."""

    types: list[str]
    """Its class and the classes it derives from, as module.qualname (builtins bare)."""
    message: str
    """`str(exception)`, clipped."""
    line: str
    """Its last formatted line ("ValueError: bad input")."""
    traceback: str
    """The traceback without the harness's frames, clipped."""


class RaisedProbe(TypedDict):
    """What a `with pytest.raises(...)` block of a split test did (the value of its probe)."""

    raised: bool
    types: list[str]
    message: str


Probe = list[Any]
"""A probe's entry: [index, plain value] (with the child's truth value for a value that is not
plain data), [index, RaisedProbe], or [-1, None] when the test recorded too many."""


class Report(TypedDict, total=False):
    """What a child reports on one test, or on importing the program."""

    k: Required[ReportKind]
    """Kind: `value` (a call returned), `compared` (a `compare` test), `done` (test code ran
    to its end), `output` (a stdio program ended), `raised`, `limit` (out of time or memory),
    `exit` (the program exited on import), `none` (the test gave nothing)."""
    v: Any
    """Value: what the call returned, as `values.plain` encodes it."""
    y: bool | None
    """Truth: `bool(value)` in the child (None if it raised)."""
    o: str
    """Output: what the test printed (the doctest, the stdio program, the raising test)."""
    x: bool
    """Truncated: the output was longer than the limit."""
    d: float
    """Duration in milliseconds (set on every report)."""
    p: list[Probe]
    """Probes: the values a split test recorded, in order."""
    e: ExceptionReport
    """Exception: what was raised (`raised`)."""
    fx: list[list[str]]
    """Effects: [kind, detail] for what the code did besides returning (see `observe`);
    taken out by the fork server."""
    th: int
    """Threads the code started; taken out by the fork server."""
    r: str
    """Repr: how a doctest shows a value that is not a builtin type's."""
    w: Any
    """Wanted: the expected value of a `compare` test, as `values.plain` encodes it."""
    ok: bool
    """Whether a `compare` test's values were equal (decided in the child)."""
    what: Literal["timeout", "memory"]
    """Which limit (`limit`)."""
    over: bool
    """The stdio program printed more than it may (`output`)."""
    code: str
    """The exit code's repr (`exit`)."""


class Begun(TypedDict):
    """Test `i` begins (written from a template, `harness._BEGIN`)."""

    t: Literal["begin"]
    i: int
    s: float
    """When, by the monotonic clock."""


class Finished(TypedDict):
    """Test `i` ended as `r` says."""

    t: Literal["result"]
    i: int
    r: Report


class Unimportable(TypedDict):
    """The program could not be imported; no test runs."""

    t: Literal["unimportable"]
    r: Report


class Crashed(TypedDict):
    """The harness itself failed in the child."""

    t: Literal["crash"]
    message: str


ChildMessage = Begun | Finished | Unimportable | Crashed


# fork server -> executor ------------------------------------------------------------------


class Ready(TypedDict):
    """The fork server is running, and how it is protected."""

    t: Literal["ready"]
    pid: int
    pid1: bool
    """It is PID 1 of a PID namespace."""
    process_limit: Literal["watchdog", "rlimit"]
    """How the process count is held: RLIMIT_NPROC, or a watchdog (as root)."""
    home_hidden: bool


Outcome = TypedDict(
    "Outcome",
    {
        "test_id": str,
        "status": ServerStatus,
        "message": str,
        "duration_ms": float,
        "r": Report,
        "import": bool,
    },
    total=False,
)
"""One test's outcome: the child's report (`r`; with `import` true when it is the program's
import failure), or else a status the fork server decided, with `message` and, for the test
a child died in, `duration_ms`. (A functional TypedDict: `import` is a keyword.)"""


class RunResult(TypedDict):
    """The answer to a `RunRequest`."""

    t: Literal["result"]
    id: int
    outcomes: list[Outcome]
    """One a test, in the request's order."""
    wall_ms: float
    stdout_truncated: bool
    effects: list[list[str]]
    """[kind, detail, seen] for each side effect, "outside" (seen by the server) first, then
    "reported" (by the children)."""


class Cancelled(TypedDict):
    """Run `id` was stopped, or never started."""

    t: Literal["cancelled"]
    id: int


Reply = Ready | RunResult | Cancelled
