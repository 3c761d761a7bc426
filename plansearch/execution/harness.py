"""What runs in the child the fork server forks for a candidate.

The child isolates itself (process group, priority, file descriptors, rlimits; its name,
environment and working directory, the scratch directory, are the server's), imports the
program, runs each test under an alarm, and reports over its report pipe what the test did:
the value a call returned (as plain data, see `values`), the values of the probed parts of a
split test (see `split`), the output of a program, or the exception raised. It never reports
a verdict: the executor compares, outside this process, with expected values that never
reach it. Only test code that cannot be split still runs whole here, and its verdicts are
labelled in-process. Runs inside the sandbox; standard library only.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import io
import itertools
import json
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
from typing import Any, NamedTuple, NoReturn

from plansearch.execution import asserts, compare, linux, observe, values
from plansearch.execution.messages import (
    ChildMessage,
    ExceptionReport,
    Probe,
    Report,
    RunRequest,
    WireLimits,
    WireProgram,
    WireTest,
)
from plansearch.execution.protocol import frame, write_frame
from plansearch.execution.testcode import test_filename

EXIT_OK = 0
EXIT_CRASH = 70
EXIT_REPORT_LOST = 71
# how much lower than the fork server's the scheduling priority of candidates is (nice(2))
CANDIDATE_NICENESS = 10
MAX_PROBES = 10_000
"""Most probed values one test may record; more is an error of that test."""

_MIB = 1024 * 1024
_CODE = types.CodeType
_TRACEBACK_FRAMES = 12
_TRACEBACK_CHARS = 4000
_MESSAGE_CHARS = 4000
_OWN_FILES = {
    os.path.realpath(path)
    for path in (__file__, asserts.__file__, compare.__file__, values.__file__, observe.__file__)
}


def _unencodable(value: object) -> object:
    raise TypeError(f"cannot encode {type(value).__name__}")


# one C encoder made in the fork server for every report (json.dumps makes one per call, and
# each object a child makes or touches is a page it may copy)
_ENCODE = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
    None, _unencodable, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True
)

RECORDER = observe.Recorder()
"""What candidate code does besides returning (installed by the fork server, see `observe`)."""


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


def prepare(request: RunRequest, scratch: str) -> types.CodeType | None:
    """In the fork server, once per candidate: write the program and the stdin of its stdio
    tests into the scratch directory, and compile the program for the children to inherit
    (None if it does not compile: the child then reports why)."""
    program = request["program"]
    path = program_path(scratch, program["module_name"])
    _write_file(path, program["source"].encode())
    for index, test in enumerate(request["tests"]):
        if test["mode"] == "stdio":
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
_WARM_UP_TESTS: list[WireTest] = [
    {"id": "value", "kind": "docstring", "source": "docstring", "mode": "call", "call": "f(1)"},
    {
        "id": "printed",
        "kind": "docstring",
        "source": "docstring",
        "mode": "call",
        "call": "f(2)",
        "doctest": True,
    },
    {
        "id": "probes",
        "kind": "assert",
        "source": "warm-up",
        "mode": "probe",
        "code": (
            "def check(candidate):\n"
            "    __probe__(0, candidate(1))\n"
            "    __probe__(1, candidate(1)[0])\n"
            "    __probe__(2, candidate(2)[1] > 2)\n"
            "    with __raises__(3):\n"
            "        candidate(None)\n"
            "check(f)\n"
        ),
    },
    {
        "id": "failing",
        "kind": "assert",
        "source": "warm-up",
        "mode": "code",
        "code": "assert f(1) == [0]\n",
    },
    {
        "id": "raising",
        "kind": "docstring",
        "source": "docstring",
        "mode": "call",
        "call": "f(None)",
    },
]


def warm_up(scratch: str, rounds: int = 12) -> None:
    """In the fork server: run a small candidate through the child's code path in this process
    `rounds` times. The interpreter specialises code that runs often by writing into it, and
    fills its attribute caches; done once here, each child inherits that work instead of
    copying the pages it writes (a tenth of a child's copied pages)."""
    # no alarm (a timeout of 0) and little output; the warm-up reads no other limit
    limits: WireLimits = {
        "test_timeout": 0, "candidate_timeout": 0, "memory_mb": 0, "processes": 0,
        "file_size_mb": 0, "open_files": 0, "output_bytes": 1000, "tmpfs_mb": 0,
    }  # fmt: skip
    request: RunRequest = {
        "t": "run",
        "id": 0,
        "program": {
            "source": _WARM_UP_PROGRAM,
            "entry_point": None,
            "module_name": _WARM_UP_MODULE,
        },
        "tests": [
            {**test, "compiled": asserts.compile_test(test["code"], test_filename(test))}
            if "code" in test
            else test
            for test in _WARM_UP_TESTS
        ],
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


def imports_program(tests: list[WireTest], start: int) -> bool:
    """Whether a child running tests `start`.. imports the program first (stdio tests run it
    as a script instead)."""
    return any(test["mode"] != "stdio" for test in tests[start:])


def program_path(scratch: str, module_name: str) -> str:
    """Where the program's source is written, in the scratch directory."""
    return os.path.join(scratch, f"{module_name}.py")


def run_child(request: RunRequest, start: int, setup: ChildSetup) -> NoReturn:
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
        RECORDER.on = False
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


def rlimits_for(limits: WireLimits, nproc: int) -> tuple[tuple[int, tuple[int, int]], ...]:
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

    def send(self, message: ChildMessage) -> None:
        self._write(frame("".join(_ENCODE(message, 0)).encode()))

    def begin(self, index: int) -> None:
        """Report that test `index` begins, now by the monotonic clock."""
        self._write(frame((_BEGIN % (index, time.monotonic())).encode()))

    def _write(self, data: bytes) -> None:
        if os.getpid() != self._pid:
            os._exit(EXIT_OK)
        try:
            write_frame(self._fd, data)
        except OSError:
            raise _ReportLost from None


# the report every test begins with, made from few objects (each object a child touches is a
# page it may copy)
_BEGIN = '{"t":"begin","i":%d,"s":%r}'


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
    text = _text(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _text(exc: BaseException) -> str:
    try:
        text = str(exc)
    except BaseException:
        return "<unprintable>"
    return compare.clip(text, _MESSAGE_CHARS) if type(text) is str else "<unprintable>"


def _type_names(exc: BaseException) -> list[str]:
    names = []
    for kind in type(exc).__mro__:
        module = getattr(kind, "__module__", "builtins")
        name = getattr(kind, "__qualname__", "?")
        names.append(name if module == "builtins" else f"{module}.{name}")
    return names


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


_SCALARS = frozenset({bool, int, float, str, type(None)})
_BIG = 1 << 62


def _probed(index: int, value: object) -> Probe:
    """A probe's entry: [k, plain value], and the child's truth value when the value is not
    plain data (the trusted side cannot tell whether it is true)."""
    data = values.plain(value)
    if type(data) is list and data[0] in ("o", "big"):
        return [index, data, values.truth(value)]
    return [index, data]


# What a split test's probes recorded, in order: [k, value] (and the child's truth value for
# a value that is not plain data), or [k, raised-description]. One list, emptied before each
# test, and probe functions made in the fork server: a child makes as few objects as it can.
_PROBES: list[Probe] = []


def _probe(index: int, value: object) -> None:
    """`__probe__` in split test code: record a value for the executor to check."""
    if len(_PROBES) >= MAX_PROBES:
        _PROBES[-1] = [-1, None]  # the executor says the test checked too many values
    elif type(value) in _SCALARS and (type(value) is not int or -_BIG < value < _BIG):
        _PROBES.append([index, value])  # most values: as they are, nothing more made
    else:
        RECORDER.on = False
        _PROBES.append(_probed(index, value))
        RECORDER.on = True


@contextmanager
def _raises(index: int) -> Iterator[None]:
    """`__raises__` in split test code: record whether the block raised, and what."""
    entry: list[Any] = [index, {"raised": False, "types": [], "message": ""}]
    _PROBES.append(entry)
    try:
        yield
    except Exception as exc:
        entry[1] = {"raised": True, "types": _type_names(exc), "message": _text(exc)}


class _Runner:
    def __init__(self, request: RunRequest, setup: ChildSetup, reporter: _Reporter) -> None:
        self._program: WireProgram = request["program"]
        self._tests: list[WireTest] = request["tests"]
        self._limits: WireLimits = request["limits"]
        self._setup = setup
        self._reporter = reporter
        self._pid = os.getpid()
        self._stdout = _STDOUT
        self._stderr = _STDERR
        self._module: types.ModuleType | None = None
        self._doc_globals: dict[str, Any] | None = None
        self._test_modules: dict[int, types.ModuleType] = {}
        self._code: types.CodeType | None = setup.program_code
        # code run without a file of its own (doctest calls by file name, test code by test):
        # handed to linecache only when a traceback is written, so a passing child touches
        # no more pages for it
        self._sources: dict[str, str] = {}
        self._code_tests: list[WireTest] = []

    @property
    def _module_path(self) -> str:
        return self._setup.program_path

    def run(self, start: int) -> None:
        if self._setup.import_program:
            failure = self._timed(self._import)
            if failure is not None:
                self._reporter.send({"t": "unimportable", "r": failure})
                return
        for index in range(start, len(self._tests)):
            self._reporter.begin(index)
            _PROBES.clear()
            report = self._timed(self._dispatch, index) or {"k": "none"}
            self._reporter.send({"t": "result", "i": index, "r": report})

    def _timed(self, body: Callable[..., Report | None], *args: int) -> Report | None:
        """Run `body(*args)` under the per-test alarm; describe what it raised."""
        self._stdout.reset(self._limits["output_bytes"])
        self._stderr.reset(self._limits["output_bytes"])
        sys.stdout, sys.stderr = _STDOUT_TEXT, _STDERR_TEXT
        started = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, self._limits["test_timeout"])
        try:
            try:
                RECORDER.on = True
                report = body(*args)
            finally:
                RECORDER.on = False
                signal.setitimer(signal.ITIMER_REAL, 0)
        except _ReportLost:
            raise
        except BaseException as exc:
            self._stay_in_child()
            report = self._raised(exc)
        self._stay_in_child()
        if report is not None:
            report["d"] = (time.perf_counter() - started) * 1000
            report["x"] = self._stdout.truncated
            if RECORDER.seen:
                report["fx"] = RECORDER.take()
            if RECORDER.threads:
                report["th"] = RECORDER.threads
        return report

    def _raised(self, exc: BaseException) -> Report:
        if isinstance(exc, _Timeout):
            return {"k": "limit", "what": "timeout"}
        if isinstance(exc, MemoryError):
            return {"k": "limit", "what": "memory"}
        if isinstance(exc, _OutputLimit):
            return {"k": "output", "o": self._output(), "over": True}
        report: Report = {"k": "raised", "e": self._exception(exc), "o": self._output()}
        if _PROBES:
            report["p"] = _PROBES
        return report

    def _exception(self, exc: BaseException) -> ExceptionReport:
        line = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return {
            "types": _type_names(exc),
            "message": _text(exc),
            "line": compare.clip(line, _MESSAGE_CHARS),
            "traceback": self._traceback(exc),
        }

    def _output(self) -> str:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        return self._stdout.text()

    def _traceback(self, exc: BaseException) -> str:
        for test in self._code_tests:
            _remember_source(test_filename(test), test.get("code") or "")
        for filename, source in self._sources.items():
            _remember_source(filename, source)
        try:
            return _format_traceback(exc)
        except Exception:
            return _describe(exc)

    def _compile_test(self, test: WireTest) -> types.CodeType:
        """The test's code: compiled by the executor if trusted, here otherwise."""
        self._code_tests.append(test)
        code = test.get("compiled")
        if type(code) is _CODE:
            return code
        return asserts.compile_test(test.get("code") or "", test_filename(test))

    def _stay_in_child(self) -> None:
        """A process the candidate forked must not go on running the harness."""
        if os.getpid() != self._pid:
            os._exit(EXIT_OK)

    def _program_code(self) -> types.CodeType:
        if self._code is None:
            self._code = compile(
                self._program["source"], self._module_path, "exec", dont_inherit=True
            )
        return self._code

    def _import(self) -> Report | None:
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
            return {"k": "exit", "code": repr(exc.code)[:200]}
        except (_Timeout, MemoryError, _OutputLimit):
            raise
        except BaseException as exc:
            self._stay_in_child()
            RECORDER.on = False
            return {"k": "raised", "e": self._exception(exc)}
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

    def _dispatch(self, index: int) -> Report:
        test = self._tests[index]
        mode = test["mode"]
        if mode == "call":
            return self._run_call(test)
        if mode == "compare":
            return self._run_compare(test)
        if mode in ("probe", "code"):
            if test["kind"] == "pytest":
                return self._run_pytest(test)
            namespace: dict[str, Any]
            if test["kind"] == "file":
                namespace = {"__name__": "__main__", "__builtins__": builtins}
            else:
                namespace = dict(vars(self._require_module()))
            return self._run_code(test, namespace)
        if mode == "stdio":
            return self._run_stdio(test, index)
        raise RuntimeError(f"unknown test mode {mode!r}")

    def _require_module(self) -> types.ModuleType:
        if self._module is None:
            raise RuntimeError("the program was not imported")
        return self._module

    def _doc_namespace(self) -> dict[str, Any]:
        if self._doc_globals is None:
            self._doc_globals = dict(vars(self._require_module()))
        return self._doc_globals

    def _evaluate(self, source: str, test: WireTest, namespace: dict[str, Any]) -> Any:
        filename = test_filename(test)
        self._sources[filename] = source
        try:
            code = compile(source, filename, "eval", dont_inherit=True)
        except SyntaxError:
            exec(compile(source, filename, "exec", dont_inherit=True), namespace)
            return None
        return eval(code, namespace)

    def _run_call(self, test: WireTest) -> Report:
        """Evaluate the call; send its value (and, for a doctest, what it printed)."""
        value = self._evaluate(test["call"] or "", test, self._doc_namespace())
        RECORDER.on = False
        report: Report = {"k": "value", "v": values.plain(value), "y": values.truth(value)}
        if test.get("doctest"):
            report["o"] = self._output()
            if type(value).__module__ != "builtins" or isinstance(value, BaseException):
                report["r"] = compare.short_repr(value, 10 * compare.REPR_LIMIT)
        return report

    def _run_compare(self, test: WireTest) -> Report:
        """An expected value that is not plain data: both sides evaluated and compared here
        (an in-process verdict)."""
        namespace = self._doc_namespace()
        value = self._evaluate(test["call"] or "", test, namespace)
        wanted = self._evaluate(test["expected"] or "", test, namespace)
        RECORDER.on = False
        return {
            "k": "compared",
            "ok": compare.values_equal(value, wanted),
            "v": values.plain(value),
            "w": values.plain(wanted),
        }

    def _run_code(self, test: WireTest, namespace: dict[str, Any]) -> Report:
        code = self._compile_test(test)
        if test["mode"] == "probe":
            namespace["__probe__"] = _probe
            namespace["__raises__"] = _raises
        else:
            namespace[asserts.HELPER] = asserts.check_compare
        exec(code, namespace)
        return {"k": "done", "p": _PROBES}

    def _test_module(self, test: WireTest) -> types.ModuleType:
        code = self._compile_test(test)
        module = self._test_modules.get(id(code))
        if module is None:
            filename = test_filename(test)
            module = types.ModuleType(f"plansearch_test_{len(self._test_modules)}")
            module.__file__ = filename
            module.__dict__[asserts.HELPER] = asserts.check_compare
            module.__dict__["__probe__"] = _probe
            module.__dict__["__raises__"] = _raises
            sys.modules[module.__name__] = module
            exec(code, module.__dict__)
            self._test_modules[id(code)] = module
        return module

    def _run_pytest(self, test: WireTest) -> Report:
        module = self._test_module(test)
        name: str = test["function"] or ""
        owner, _, function_name = name.replace("::", ".").rpartition(".")
        holder = getattr(module, owner) if owner else module
        for arguments in _parametrize(getattr(holder, function_name)):
            label = ", ".join(
                f"{key}={compare.short_repr(value, 60)}" for key, value in arguments.items()
            )
            try:
                with (
                    _set_up(holder, function_name) as function,
                    _fixtures(function, arguments, self._setup.scratch) as complete,
                ):
                    _finish(function(**complete))
            except AssertionError as exc:
                if not label:
                    raise
                labelled = AssertionError(f"[{label}] {exc}")
                raise labelled.with_traceback(exc.__traceback__) from None
        return {"k": "done", "p": _PROBES}

    def _run_stdio(self, test: WireTest, index: int) -> Report:
        self._stdout.reset(test["output_cap"], strict=True)
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
        return {"k": "output", "o": self._output()}


def _remember_source(filename: str, source: str) -> None:
    """Let tracebacks quote lines of code that has no file."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)


def _parametrize(function: Callable[..., Any]) -> list[dict[str, Any]]:
    """The argument sets of `@pytest.mark.parametrize` marks (one empty set if none)."""
    axes: list[list[dict[str, Any]]] = []
    for mark in getattr(function, "pytestmark", []):
        if getattr(mark, "name", None) != "parametrize":
            continue
        args, kwargs = list(mark.args), dict(mark.kwargs)
        names = args[0] if args else kwargs["argnames"]
        argument_values = args[1] if len(args) > 1 else kwargs["argvalues"]
        if isinstance(names, str):
            names = [name.strip() for name in names.split(",") if name.strip()]
        axis = []
        for value in argument_values:
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
def _set_up(holder: Any, name: str) -> Iterator[Callable[..., Any]]:
    """The test `name` of `holder` (a module or a class), as pytest runs it: a method on a
    fresh instance, between the class's setup and teardown (``setup_class``,
    ``setup_method``... or a ``unittest.TestCase``'s ``setUpClass``, ``setUp``...)."""
    if isinstance(holder, types.ModuleType):
        yield getattr(holder, name)
        return
    unittest = sys.modules.get("unittest")  # imported by the test file if it uses it
    if unittest is not None and issubclass(holder, unittest.TestCase):
        holder.setUpClass()
        try:
            case = holder(name)
            case.setUp()
            try:
                yield getattr(case, name)
            finally:
                case.tearDown()
                case.doCleanups()
        finally:
            holder.tearDownClass()
            holder.doClassCleanups()
        return
    _call_if_defined(holder, "setup_class")
    try:
        instance = holder()
        method = getattr(instance, name)
        _call_if_defined(instance, "setup_method", method)
        try:
            yield method
        finally:
            _call_if_defined(instance, "teardown_method", method)
    finally:
        _call_if_defined(holder, "teardown_class")


def _call_if_defined(owner: Any, hook: str, *arguments: Any) -> None:
    function = getattr(owner, hook, None)
    if function is not None:
        function(*arguments)


def _finish(returned: object) -> None:
    """Run an ``async def`` test's coroutine to its end, as pytest-asyncio would: calling
    the function only made it, and an unawaited test would pass whatever it asserts. A
    generator is refused for the same reason (pytest no longer runs yield tests)."""
    import inspect

    if inspect.iscoroutine(returned):
        import asyncio

        asyncio.run(returned)
    elif inspect.isgenerator(returned):
        raise TypeError("a test that yields is not run (pytest removed yield tests in 4.0)")


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
