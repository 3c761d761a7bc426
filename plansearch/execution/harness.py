"""What runs in the child the fork server forks for a candidate.

The child isolates itself (process group, priority, file descriptors, rlimits; its name,
environment and working directory, the scratch directory, are the server's), imports the
program, runs each test under an alarm, and reports every outcome over its report pipe as soon
as the test has run. Pass is only ever reported from here, after the test ran; the fork server
never infers it. Runs inside the sandbox; standard library only.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import io
import itertools
import linecache
import math
import os
import resource
import signal
import sys
import time
import traceback
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from json.encoder import encode_basestring_ascii as _quote
from typing import Any, NamedTuple, NoReturn

from plansearch.execution import asserts, compare, linux
from plansearch.execution.protocol import Message, encode_small, frame, write_frame
from plansearch.execution.testcode import test_filename

EXIT_OK = 0
EXIT_CRASH = 70
EXIT_REPORT_LOST = 71
# how much lower than the fork server's the scheduling priority of candidates is (nice(2))
CANDIDATE_NICENESS = 10

_MIB = 1024 * 1024
_CODE = types.CodeType
_TRACEBACK_FRAMES = 12
_TRACEBACK_CHARS = 4000
_MESSAGE_CHARS = 4000
_DOCTEST_TRACEBACK = "Traceback (most recent call last):"
_OWN_FILES = {os.path.realpath(path) for path in (__file__, asserts.__file__, compare.__file__)}


class ChildSetup(NamedTuple):
    """What the fork server tells a child besides the request itself."""

    scratch: str
    report_fd: int
    server_pid: int
    die_with_server: bool
    rlimits: tuple[tuple[int, tuple[int, int]], ...]
    program_path: str
    program_code: types.CodeType | None
    import_program: bool
    """False when every test left to run is a stdio test (which runs the program itself)."""


class _Timeout(BaseException):
    """The per-test alarm went off."""


class _OutputLimit(BaseException):
    """A stdio program wrote more than it may."""


class _ReportLost(BaseException):
    """The report pipe was closed or broken (by the candidate)."""


def prepare(request: Message, scratch: str) -> types.CodeType | None:
    """In the fork server, once per candidate: write the program and the stdin of its stdio
    tests into the scratch directory, and compile the program for the children to inherit
    (None if it does not compile: the child then reports why)."""
    program = request["program"]
    path = program_path(scratch, program["module_name"])
    _write_file(path, program["source"].encode())
    for index, test in enumerate(request["tests"]):
        if test["kind"] == "stdio":
            _write_file(_stdin_path(scratch, index), (test.get("stdin") or "").encode())
    try:
        code: types.CodeType = compile(program["source"], path, "exec", dont_inherit=True)
    except Exception:
        return None
    return code


def install_alarm() -> None:
    """In the fork server: the per-test alarm's handler, inherited by every child."""
    signal.signal(signal.SIGALRM, _on_alarm)


_WARM_UP_MODULE = "plansearch_warm_up"
_WARM_UP_PROGRAM = "def f(x):\n    return [x, x + 1]\n"
_WARM_UP_TESTS: list[Message] = [
    {
        "id": "value",
        "kind": "docstring",
        "source": "docstring",
        "call": "f(1)",
        "expected": "[1, 2]",
    },
    {
        "id": "printed",
        "kind": "docstring",
        "source": "docstring",
        "call": "f(2)",
        "expected": "[2, 3]",
        "doctest_output": True,
    },
    {
        "id": "asserts",
        "kind": "assert",
        "source": "warm-up",
        "code": "def check(candidate):\n    assert candidate(1) == [1, 2]\ncheck(f)\n",
    },
    {"id": "failing", "kind": "assert", "source": "warm-up", "code": "assert f(1) == [0]\n"},
    {
        "id": "raising",
        "kind": "docstring",
        "source": "docstring",
        "call": "f(None)",
        "expected": "[]",
    },
]


def warm_up(scratch: str, rounds: int = 12) -> None:
    """In the fork server: run a small candidate through the child's code path in this process
    `rounds` times. The interpreter specialises code that runs often by writing into it, and
    fills its attribute caches; done once here, each child inherits that work instead of
    copying the pages it writes (a tenth of a child's copied pages)."""
    limits: Message = {"output_bytes": 1000, "test_timeout": 0, "memory_mb": 0}
    request: Message = {
        "program": {"source": _WARM_UP_PROGRAM, "module_name": _WARM_UP_MODULE},
        "tests": _WARM_UP_TESTS,
        "limits": limits,
    }
    saved_output = sys.stdout, sys.stderr
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        path = program_path(scratch, _WARM_UP_MODULE)
        code = compile(_WARM_UP_PROGRAM, path, "exec")
        setup = ChildSetup(scratch, null, os.getpid(), False, (), path, code, True)
        for _ in range(rounds):
            _Runner(request, setup, _Reporter(null)).run(0)
    finally:
        os.close(null)
        sys.stdout, sys.stderr = saved_output
        sys.modules.pop(_WARM_UP_MODULE, None)
        for test in _WARM_UP_TESTS:
            linecache.cache.pop(test_filename(test), None)


def imports_program(tests: list[Message], start: int) -> bool:
    """Whether a child running tests `start`.. imports the program first (stdio tests run it
    as a script instead)."""
    return any(test["kind"] != "stdio" for test in tests[start:])


def program_path(scratch: str, module_name: str) -> str:
    """Where the program's source is written, in the scratch directory."""
    return os.path.join(scratch, f"{module_name}.py")


def run_child(request: Message, start: int, setup: ChildSetup) -> NoReturn:
    """Run tests `start`.. of `request` in this freshly forked process, then exit."""
    code = EXIT_CRASH
    reporter = _Reporter(setup.report_fd)
    try:
        _isolate(setup)
        _Runner(request, setup, reporter).run(start)
        code = EXIT_OK
    except _ReportLost:
        code = EXIT_REPORT_LOST
    except BaseException as exc:
        with contextlib.suppress(BaseException):
            reporter.send({"t": "crash", "message": _describe(exc)})
    finally:
        os._exit(code)


def _isolate(setup: ChildSetup) -> None:
    """Cut the child off from the server. Done with bare system calls: every Python object
    touched after a fork costs a copied page, and that is most of a candidate's cost."""
    os.setpgid(0, 0)  # one group for the candidate and what it forks: killed in one call
    # below the fork server, which must get the CPU at once to stop a fork bomb (at equal
    # priority it waits its turn behind every copy), and below the user's own programs
    os.nice(CANDIDATE_NICENESS)
    if setup.die_with_server and linux.available():
        linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != setup.server_pid:
            os._exit(EXIT_CRASH)
    os.dup2(0, 2)  # the server's standard input and output are already /dev/null
    os.closerange(3, setup.report_fd)
    os.closerange(setup.report_fd + 1, 65536)
    for kind, limit in setup.rlimits:
        resource.setrlimit(kind, limit)


def _write_file(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _stdin_path(scratch: str, index: int) -> str:
    return os.path.join(scratch, f".stdin-{index}")


def rlimits_for(limits: Message, nproc: int) -> tuple[tuple[int, tuple[int, int]], ...]:
    """In the fork server: the (resource, (soft, hard)) limits a child will set. The address
    space limit is relative to this process's size, which a forked child starts with."""
    cpu = math.ceil(limits["candidate_timeout"]) + 1
    wanted = [
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_FSIZE, limits["file_size_mb"] * _MIB, limits["file_size_mb"] * _MIB),
        (resource.RLIMIT_NOFILE, limits["open_files"], limits["open_files"]),
        (resource.RLIMIT_NPROC, nproc, nproc),
        (resource.RLIMIT_CPU, cpu, cpu + 1),
    ]
    size = _address_space_size()
    if size is not None:
        memory = size + limits["memory_mb"] * _MIB
        wanted.append((resource.RLIMIT_AS, memory, memory))
    result = []
    for kind, soft, hard in wanted:
        _, current_hard = resource.getrlimit(kind)
        if current_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, current_hard), min(hard, current_hard)
        result.append((kind, (soft, hard)))
    return tuple(result)


def _address_space_size() -> int | None:
    try:
        fd = os.open("/proc/self/statm", os.O_RDONLY)
    except OSError:
        return None
    try:
        return int(os.read(fd, 200).split()[0]) * resource.getpagesize()
    finally:
        os.close(fd)


class _Reporter:
    """Sends messages to the fork server; only from the child itself, never from its forks."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._pid = os.getpid()

    def send(self, message: Message) -> None:
        self._write(encode_small(message))

    def begin(self, index: int) -> None:
        """Report that test `index` begins, now by the monotonic clock."""
        self._write(frame((_BEGIN % (index, time.monotonic())).encode()))

    def outcome(self, index: int, outcome: Message) -> None:
        """Report the outcome of test `index` (as `_timed` completes it)."""
        body = _OUTCOME % (
            index,
            _quote(outcome["status"]),
            _quote(outcome["message"]),
            "null" if outcome["actual"] is None else _quote(outcome["actual"]),
            "null" if outcome["traceback"] is None else _quote(outcome["traceback"]),
            float(outcome["duration_ms"]),
            "true" if outcome["truncated"] else "false",
        )
        self._write(frame(body.encode()))

    def _write(self, data: bytes) -> None:
        if os.getpid() != self._pid:
            os._exit(EXIT_OK)
        try:
            write_frame(self._fd, data)
        except OSError:
            raise _ReportLost from None


# The two reports every test sends, as `encode_small` would write them, made from fewer
# objects (each object a child touches is a page it may copy).
_BEGIN = '{"t":"begin","i":%d,"s":%r}'
_OUTCOME = (
    '{"t":"outcome","i":%d,"o":{"status":%s,"message":%s,"actual":%s,"traceback":%s,'
    '"duration_ms":%r,"truncated":%s}}'
)


class _Sink(io.BufferedIOBase):
    """Keeps the first `cap` bytes written; in strict mode, more is an error."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.data = bytearray()
        self.total = 0
        self.cap = 0
        self.strict = False

    def reset(self, cap: int, strict: bool = False) -> None:
        self.data.clear()
        self.total = 0
        self.cap = cap
        self.strict = strict

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        room = self.cap - len(self.data)
        if room > 0:
            self.data += view[:room]
        self.total += view.nbytes
        if self.strict and self.total > self.cap:
            raise _OutputLimit(f"the program wrote more than {self.cap} bytes")
        return view.nbytes

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")

    @property
    def truncated(self) -> bool:
        return self.total > len(self.data)


# made in the fork server, so that a child only resets them
_STDOUT = _Sink("<stdout>")
_STDERR = _Sink("<stderr>")
_STDOUT_TEXT = io.TextIOWrapper(
    _STDOUT, encoding="utf-8", errors="backslashreplace", write_through=True
)
_STDERR_TEXT = io.TextIOWrapper(
    _STDERR, encoding="utf-8", errors="backslashreplace", write_through=True
)


def _outcome(
    status: str,
    message: str = "",
    actual: str | None = None,
    traceback_text: str | None = None,
) -> Message:
    return {
        "status": status,
        "message": compare.clip(message, _MESSAGE_CHARS) if message else "",
        "actual": actual,
        "traceback": traceback_text,
    }


def _format_traceback(exc: BaseException) -> str:
    """The exception's traceback without the harness's own frames, cut to its last part."""
    summary = traceback.TracebackException.from_exception(exc, capture_locals=False)
    frames = [
        frame
        for frame in summary.stack
        if not frame.filename.startswith("<frozen")
        and os.path.realpath(frame.filename) not in _OWN_FILES
    ][-_TRACEBACK_FRAMES:]
    lines = ["Traceback (most recent call last):\n"]
    lines += traceback.StackSummary.from_list(frames).format()
    lines += summary.format_exception_only()
    text = "".join(lines)
    if len(text) > _TRACEBACK_CHARS:
        text = "...\n" + text[-_TRACEBACK_CHARS:]
    return text


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _on_alarm(signum: int, frame: object) -> None:
    raise _Timeout


class _ExitCalled:
    """`exit` and `quit` for programs that use them (absent under `python -S`)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"Use {self._name}() to exit"

    def __call__(self, code: object = None) -> NoReturn:
        raise SystemExit(code)


def install_exit_builtins() -> None:
    """Give the interpreter `exit` and `quit` builtins if it has none."""
    for name in ("exit", "quit"):
        if not hasattr(builtins, name):
            setattr(builtins, name, _ExitCalled(name))


class UnsupportedFixture(Exception):
    """A pytest fixture this runner does not provide."""


class _Runner:
    def __init__(self, request: Message, setup: ChildSetup, reporter: _Reporter) -> None:
        self._program: Message = request["program"]
        self._tests: list[Message] = request["tests"]
        self._limits: Message = request["limits"]
        self._setup = setup
        self._reporter = reporter
        self._pid = os.getpid()
        self._stdout = _STDOUT
        self._stderr = _STDERR
        self._module: types.ModuleType | None = None
        self._doc_globals: dict[str, Any] | None = None
        self._test_modules: dict[str, types.ModuleType] = {}
        self._code: types.CodeType | None = setup.program_code
        # code run without a file of its own (doctest calls by file name, test code by test):
        # handed to linecache only when a traceback is written, so a passing child touches
        # no more pages for it
        self._sources: dict[str, str] = {}
        self._code_tests: list[Message] = []

    @property
    def _module_path(self) -> str:
        return self._setup.program_path

    def run(self, start: int) -> None:
        pending = range(start, len(self._tests))
        if self._setup.import_program:
            failure = self._timed(self._import)
            if failure is not None:
                if failure["status"] in ("timeout", "memory"):
                    failure["message"] = f"while importing the program: {failure['message']}"
                for index in pending:
                    self._reporter.outcome(index, failure)
                return
        for index in pending:
            self._reporter.begin(index)
            outcome = self._timed(self._dispatch, index) or _outcome("executor_error", "no outcome")
            self._reporter.outcome(index, outcome)

    def _timed(self, body: Callable[..., Message | None], *args: int) -> Message | None:
        """Run `body(*args)` under the per-test alarm; turn what it raises into an outcome."""
        self._stdout.reset(self._limits["output_bytes"])
        self._stderr.reset(self._limits["output_bytes"])
        sys.stdout, sys.stderr = _STDOUT_TEXT, _STDERR_TEXT
        started = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, self._limits["test_timeout"])
        try:
            try:
                outcome = body(*args)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except _ReportLost:
            raise
        except BaseException as exc:
            self._stay_in_child()
            outcome = self._failure(exc)
        self._stay_in_child()
        if outcome is not None:
            outcome["duration_ms"] = (time.perf_counter() - started) * 1000
            outcome["truncated"] = self._stdout.truncated
        return outcome

    def _traceback(self, exc: BaseException) -> str:
        for test in self._code_tests:
            _remember_source(test_filename(test), test["code"] or "")
        for filename, source in self._sources.items():
            _remember_source(filename, source)
        return _format_traceback(exc)

    def _compile_test(self, test: Message) -> types.CodeType:
        """The test's code: compiled by the executor if trusted, here otherwise."""
        self._code_tests.append(test)
        code = test.get("compiled")
        if type(code) is _CODE:
            return code
        return asserts.compile_test(test["code"] or "", test_filename(test))

    def _stay_in_child(self) -> None:
        """A process the candidate forked must not go on running the harness."""
        if os.getpid() != self._pid:
            os._exit(EXIT_OK)

    def _failure(self, exc: BaseException) -> Message:
        if isinstance(exc, _Timeout):
            seconds = self._limits["test_timeout"]
            return _outcome("timeout", f"did not finish within {seconds:g} s")
        if isinstance(exc, MemoryError):
            return _outcome("memory", f"MemoryError (limit {self._limits['memory_mb']} MB)")
        if isinstance(exc, _OutputLimit):
            return _outcome("fail", str(exc), self._stdout.text())
        if isinstance(exc, AssertionError):
            return _outcome("fail", str(exc) or "assertion failed", None, self._traceback(exc))
        kind = type(exc)
        if any(base.__module__.startswith("_pytest") for base in kind.__mro__):
            if kind.__name__ == "Failed":
                return _outcome("fail", str(exc), None, self._traceback(exc))
            if kind.__name__ == "Skipped":
                return _outcome("error", f"skipped: {exc}")
        return _outcome("error", _describe(exc), None, self._traceback(exc))

    def _program_code(self) -> types.CodeType:
        if self._code is None:
            self._code = compile(
                self._program["source"], self._module_path, "exec", dont_inherit=True
            )
        return self._code

    def _import(self) -> Message | None:
        """Compile and run the program as module `module_name` (no import machinery: the
        fewer objects a child touches, the fewer pages it copies)."""
        name = self._program["module_name"]
        module = types.ModuleType(name)
        module.__file__ = self._module_path
        if "." in name:
            module.__package__ = name.rpartition(".")[0]
            self._ensure_parents(name, module)
        sys.modules[name] = module
        try:
            exec(self._program_code(), module.__dict__)
        except SystemExit as exc:
            return _outcome(
                "error", f"the program called sys.exit({exc.code!r}) on import; no test ran"
            )
        except (_Timeout, MemoryError, _OutputLimit):
            raise
        except BaseException as exc:
            self._stay_in_child()
            message = f"import failed: {_describe(exc)}"
            return _outcome("error", message, None, self._traceback(exc))
        self._module = module
        return None

    @staticmethod
    def _ensure_parents(name: str, module: types.ModuleType) -> None:
        """Make `a.b` importable as `a.b` when `a` is not a package on the path."""
        parts = name.split(".")
        for depth in range(1, len(parts)):
            parent = ".".join(parts[:depth])
            if parent not in sys.modules:
                try:
                    importlib.import_module(parent)
                except ImportError:
                    stub = types.ModuleType(parent)
                    stub.__path__ = []
                    sys.modules[parent] = stub
        if len(parts) > 1:
            setattr(sys.modules[".".join(parts[:-1])], parts[-1], module)

    def _dispatch(self, index: int) -> Message:
        test = self._tests[index]
        kind = test["kind"]
        if kind in ("docstring", "generated"):
            return self._run_call(test)
        if kind == "assert":
            return self._run_code(test, dict(vars(self._require_module())))
        if kind == "file":
            return self._run_code(test, {"__name__": "__main__", "__builtins__": builtins})
        if kind == "pytest":
            return self._run_pytest(test)
        if kind == "stdio":
            return self._run_stdio(test, index)
        return _outcome("executor_error", f"unknown test kind {kind!r}")

    def _require_module(self) -> types.ModuleType:
        if self._module is None:
            raise RuntimeError("the program was not imported")
        return self._module

    def _doc_namespace(self) -> dict[str, Any]:
        if self._doc_globals is None:
            self._doc_globals = dict(vars(self._require_module()))
        return self._doc_globals

    def _evaluate(self, source: str, test: Message, namespace: dict[str, Any]) -> Any:
        filename = test_filename(test)
        self._sources[filename] = source
        try:
            code = compile(source, filename, "eval", dont_inherit=True)
        except SyntaxError:
            exec(compile(source, filename, "exec", dont_inherit=True), namespace)
            return None
        return eval(code, namespace)

    def _run_call(self, test: Message) -> Message:
        namespace = self._doc_namespace()
        call, expected = test["call"] or "", test.get("expected")
        if test.get("doctest_output"):
            return self._run_doctest(test, call, expected or "", namespace)
        value = self._evaluate(call, test, namespace)
        actual = compare.short_repr(value)
        if expected is None:
            return _outcome("pass", "", actual)
        wanted = self._evaluate(expected, test, namespace)
        if compare.values_equal(value, wanted):
            return _outcome("pass", "", actual)
        return _outcome("fail", f"{call}: {compare.describe_mismatch(value, wanted)}", actual)

    def _run_doctest(
        self, test: Message, call: str, expected: str, namespace: dict[str, Any]
    ) -> Message:
        try:
            value = self._evaluate(call, test, namespace)
        except Exception as exc:
            if not expected.lstrip().startswith(_DOCTEST_TRACEBACK):
                raise
            got = traceback.format_exception_only(exc)[-1].strip()
            wanted = expected.strip().splitlines()[-1].strip()
            if _exception_lines_match(got, wanted):
                return _outcome("pass", "", got)
            return _outcome("fail", f"{call}\nexpected: {wanted}\nraised:   {got}", got)
        sys.stdout.flush()
        got = self._stdout.text()
        if value is not None:
            got += compare.short_repr(value, 10 * compare.REPR_LIMIT) + "\n"
        if compare.doctest_matches(got, expected):
            return _outcome("pass", "", compare.clip(got, compare.REPR_LIMIT))
        message = f"{call}\n{compare.text_diff(got.rstrip(), expected.rstrip())}"
        return _outcome("fail", message, compare.clip(got, compare.REPR_LIMIT))

    def _run_code(self, test: Message, namespace: dict[str, Any]) -> Message:
        code = self._compile_test(test)
        namespace[asserts.HELPER] = asserts.check_compare
        exec(code, namespace)
        return _outcome("pass")

    def _test_module(self, test: Message) -> types.ModuleType:
        source = test["code"] or ""
        module = self._test_modules.get(source)
        if module is None:
            filename = test_filename(test)
            module = types.ModuleType(f"plansearch_test_{len(self._test_modules)}")
            module.__file__ = filename
            module.__dict__[asserts.HELPER] = asserts.check_compare
            sys.modules[module.__name__] = module
            exec(self._compile_test(test), module.__dict__)
            self._test_modules[source] = module
        return module

    def _run_pytest(self, test: Message) -> Message:
        module = self._test_module(test)
        name: str = test["function"] or ""
        owner, _, function_name = name.replace("::", ".").rpartition(".")
        if owner:
            instance = getattr(module, owner)()
            setup_method = getattr(instance, "setup_method", None)
            function = getattr(instance, function_name)
            if setup_method is not None:
                setup_method(function)
        else:
            function = getattr(module, function_name)
        for arguments in _parametrize(function):
            label = ", ".join(
                f"{key}={compare.short_repr(value, 60)}" for key, value in arguments.items()
            )
            try:
                with _fixtures(function, arguments, self._setup.scratch) as complete:
                    function(**complete)
            except AssertionError as exc:
                if not label:
                    raise
                labelled = AssertionError(f"[{label}] {exc}")
                raise labelled.with_traceback(exc.__traceback__) from None
        return _outcome("pass")

    def _run_stdio(self, test: Message, index: int) -> Message:
        expected = test.get("expected_stdout") or ""
        cap = max(self._limits["output_bytes"], 2 * len(expected.encode()) + 1024)
        self._stdout.reset(cap, strict=True)
        code = self._program_code()
        saved_stdin = sys.stdin
        fd = os.open(_stdin_path(self._setup.scratch, index), os.O_RDONLY)
        os.dup2(fd, 0)
        os.close(fd)
        sys.stdin = open(0, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
        namespace = {
            "__name__": "__main__",
            "__file__": self._module_path,
            "__builtins__": builtins,
        }
        try:
            exec(code, namespace)
        except SystemExit as exc:
            if exc.code not in (None, 0):
                raise
        finally:
            sys.stdin = saved_stdin
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.close(null)
        sys.stdout.flush()
        got = self._stdout.text()
        actual = compare.clip(got, self._limits["output_bytes"])
        if compare.stdout_matches(got, expected):
            return _outcome("pass", "", actual)
        return _outcome("fail", "output differs\n" + compare.text_diff(got, expected), actual)


def _remember_source(filename: str, source: str) -> None:
    """Let tracebacks quote lines of code that has no file."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)


def _exception_lines_match(got: str, wanted: str) -> bool:
    """Doctest's rule for an expected exception: same type (module prefix ignored), same text."""

    def split(line: str) -> tuple[str, str]:
        kind, _, detail = line.partition(":")
        return kind.rpartition(".")[2], detail.strip()

    return split(got) == split(wanted)


def _parametrize(function: Callable[..., Any]) -> list[dict[str, Any]]:
    """The argument sets of `@pytest.mark.parametrize` marks (one empty set if none)."""
    axes: list[list[dict[str, Any]]] = []
    for mark in getattr(function, "pytestmark", []):
        if getattr(mark, "name", None) != "parametrize":
            continue
        args, kwargs = list(mark.args), dict(mark.kwargs)
        names = args[0] if args else kwargs["argnames"]
        values = args[1] if len(args) > 1 else kwargs["argvalues"]
        if isinstance(names, str):
            names = [name.strip() for name in names.split(",") if name.strip()]
        axis = []
        for value in values:
            if type(value).__name__ == "ParameterSet":
                value = value.values
            elif len(names) == 1:
                value = (value,)
            axis.append(dict(zip(names, value, strict=True)))
        axes.append(axis)
    return [
        {key: value for part in combination for key, value in part.items()}
        for combination in itertools.product(*axes)
    ]


@contextmanager
def _fixtures(
    function: Callable[..., Any], arguments: dict[str, Any], scratch: str
) -> Iterator[dict[str, Any]]:
    """The arguments plus the few fixtures provided here: tmp_path and monkeypatch."""
    import inspect  # only pytest tests need these; a smaller server forks faster
    import tempfile
    from pathlib import Path

    complete = dict(arguments)
    undo: list[Callable[[], None]] = []
    for name, parameter in inspect.signature(function).parameters.items():
        if name in complete or parameter.default is not inspect.Parameter.empty:
            continue
        if name == "tmp_path":
            complete[name] = Path(tempfile.mkdtemp(dir=scratch))
        elif name == "monkeypatch":
            import pytest

            patcher = pytest.MonkeyPatch()
            undo.append(patcher.undo)
            complete[name] = patcher
        else:
            raise UnsupportedFixture(f"fixture {name!r} is not supported outside pytest")
    try:
        yield complete
    finally:
        for step in undo:
            step()
