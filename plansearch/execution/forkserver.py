"""The fork server: a long-lived, pre-imported process inside the sandbox.

It reads run requests on its standard input, forks one child per candidate (the child runs
`harness.run_child`), watches the child from outside (import and per-test deadlines, the
candidate's wall deadline, the process count where RLIMIT_NPROC does not bind), kills whatever
the candidate left behind, and writes one reply per request on its standard output. A child
that dies inside a test costs that test only: a new child resumes with the next one.

Started as `python -I -S` with the package loaded by path (see `launch.BOOTSTRAP`), so it
uses the standard library only.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import importlib
import os
import select
import signal
import stat
import sys
import time
import types
from typing import Any, NoReturn, cast

from plansearch.execution import harness, linux, observe
from plansearch.execution.messages import (
    Cancelled,
    CancelRequest,
    Command,
    Mode,
    Outcome,
    Reply,
    Report,
    ReportKind,
    RunRequest,
    RunResult,
    ServerStatus,
    WireLimits,
)
from plansearch.execution.protocol import (
    FrameDecoder,
    Message,
    decode_trusted,
    encode,
    write_frame,
)

GRACE = 0.5
# where RLIMIT_NPROC does not bind, the process count is looked at after 2 ms, then at
# doubling intervals up to 20 ms: a fork bomb starts at once, most candidates end sooner
WATCHDOG_FIRST = 0.002
WATCHDOG_LAST = 0.02
PROGRESS_INTERVAL = 0.05
# what the executor sends while a child runs (usually the next request) waits this long, or
# until the child ends: read at once, it would wake the server while the child shares its
# pages, and copy them
COMMANDS_AFTER = 0.02
PIPE_SIZE = 1 << 20
# what one read takes from a pipe: a read allocates this much first, and from 128 KiB on, the
# C library maps fresh memory for it (three page faults and two system calls a read)
READ_SIZE = 1 << 16
REPORT_FRAME_LIMIT = 4 << 20
REPORT_TOTAL_LIMIT = 64 << 20
_MESSAGE_LIMIT = 8000
_OUT_OF_TIME = "not run: the candidate's time ran out"
# what a child may report for a test, by the test's mode (see `harness`)
_REPORT_KINDS: dict[Mode, frozenset[ReportKind]] = {
    "call": frozenset({"value", "raised", "limit"}),
    "compare": frozenset({"compared", "raised", "limit"}),
    "probe": frozenset({"done", "raised", "limit"}),
    "code": frozenset({"done", "raised", "limit"}),
    "stdio": frozenset({"output", "raised", "limit"}),
}
_IMPORT_KINDS: frozenset[ReportKind] = frozenset({"raised", "exit", "limit"})
MAX_FILES_SHOWN = 10
# /proc/net/snmp counters that grow when a process tries to reach the network
_NETWORK_COUNTERS = frozenset(
    {"TcpActiveOpens", "UdpOutDatagrams", "UdpLiteOutDatagrams", "IpOutNoRoutes",
     "Udp6OutDatagrams", "Ip6OutNoRoutes"}
)  # fmt: skip
# What candidates most often import, loaded once before forking. Each module makes every
# fork dearer (a bigger process to copy), so the list stays short.
PRELOAD = (
    "bisect",
    "collections",
    "copy",
    "functools",
    "heapq",
    "itertools",
    "math",
    "operator",
    "re",
    "string",
    "typing",
)


def main(config: Message) -> NoReturn:
    """Entry point of the worker process."""
    commands, replies = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    if config["level"] == "namespaces":
        from plansearch.execution import namespaces

        namespaces.enter(config["filesystem"], (commands, replies))
    ForkServer(config, commands, replies).serve()


class _ChildEnd:
    """What one child reported before it ended, and why it ended. The reports must come in
    order: for each test from `first` on, "begin" then one "result"; anything else is
    interference, never a pass."""

    def __init__(self, first: int, modes: list[Mode]) -> None:
        self.first = first
        self.modes = modes
        self.next = first
        self.outcomes: dict[int, Outcome] = {}
        self.unimportable: Report | None = None
        self.effects: list[list[str]] = []
        self.threads = 0
        self.ready = False
        self.running: int | None = None
        self.running_since = 0.0
        self.reason = "exited"
        self.violation = ""
        self.crash = ""
        self.status = 0
        self.rusage: Any = None
        self.received = 0
        self.pid = 0


class ForkServer:
    """Serves run requests one at a time, forking a child per candidate."""

    def __init__(self, config: Message, commands: int, replies: int) -> None:
        self._config = config
        _keep_to(config["core"])
        self._commands = commands
        self._replies = replies
        self._decoder = FrameDecoder(decode=decode_trusted)
        self._queued: list[Command] = []
        self._closed = False
        self._pid = os.getpid()
        self._pid1 = self._pid == 1
        self._user_tasks_cache = (0.0, 0)
        self._rlimits: dict[tuple[Any, ...], tuple[tuple[int, tuple[int, int]], ...]] = {}
        # one scratch directory, emptied after each candidate: a fixed path keeps the
        # server's per-candidate work (and so the pages it dirties after each fork) small
        self._scratch = os.path.join(config["scratch_root"], "scratch")
        os.mkdir(self._scratch, 0o700)
        os.chdir(self._scratch)  # and so each child's, without a call of its own
        # the candidates' home: private, looked at and emptied after each candidate
        self._home = os.path.join(config["scratch_root"], "home")
        os.mkdir(self._home, 0o700)
        self._private_roots = ["/tmp", "/dev/shm"] if self._pid1 else []
        self._wipe_roots = [self._scratch, self._home, *self._private_roots]
        # one report pipe for every child (emptied after each sweep, when no writer is left)
        self._reports, self._report_end = os.pipe()
        os.set_blocking(self._reports, False)
        with contextlib.suppress(OSError):  # room for the reports the server reads lazily
            fcntl.fcntl(self._reports, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        # never wiped: the scratch and home directories, entries holding paths bound in
        self._kept = {self._scratch, self._home, *config["protected"]}
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if linux.available():
            linux.prctl(linux.PR_SET_DUMPABLE, 0)
            if not self._pid1:
                linux.prctl(linux.PR_SET_CHILD_SUBREAPER, 1)
        # RLIMIT_NPROC does not bind root: count the processes instead
        self._watchdog = bool(config["count_processes"])
        # a PID 1 has its own network namespace: attempts to reach out are counted there
        self._network = _network_attempts() if self._pid1 else 0
        os.environ.clear()  # the candidates' environment: built from nothing by the executor
        os.environ.update(config["env"], HOME=self._home, TMPDIR=self._scratch)
        sys.path[:0] = config["paths_first"]
        sys.path.extend(config["paths_last"])
        harness.install_exit_builtins()
        harness.install_alarm()
        observe.install(harness.RECORDER, self._scratch, self._home)
        for name in PRELOAD:
            importlib.import_module(name)
        _warm_typing()
        harness.warm_up(self._scratch)
        self._pytest_loaded = False
        self._swept = False  # True once no process is left, until the next fork
        self._name = _ProcessName(config["process_name"])
        gc.freeze()
        linux.release_free_heap()  # fewer pages mapped: each fork copies and frees fewer

    def serve(self) -> NoReturn:
        """Answer requests until standard input closes, then exit."""
        self._send(
            {
                "t": "ready",
                "pid": os.getpid(),
                "pid1": self._pid1,
                "process_limit": "watchdog" if self._watchdog else "rlimit",
                "home_hidden": self._config["filesystem"]["home"] is not None,
            }
        )
        while (message := self._next_command()) is not None:
            if message["t"] == "run":
                cancel: CancelRequest = {"t": "cancel", "id": message["id"]}
                if cancel in self._queued:
                    self._queued.remove(cancel)  # cancelled while it waited
                    self._send({"t": "cancelled", "id": message["id"]})
                else:
                    self._send(self._run(message))
            elif message["t"] == "cancel":  # for a run already answered
                self._send({"t": "cancelled", "id": message["id"]})
        self._exit()

    def _exit(self) -> NoReturn:
        """Stop every candidate and leave no file behind: the executor may be gone (killed)
        and unable to remove a scratch root on the host itself."""
        self._sweep()
        if self._config["scratch_root_owned"]:
            _remove(self._config["scratch_root"])
        os._exit(0)

    def _send(self, message: Reply) -> None:
        write_frame(self._replies, encode(message))

    def _next_command(self) -> Command | None:
        while not self._queued and not self._closed:
            self._read_commands()
        return self._queued.pop(0) if self._queued else None

    def _read_commands(self) -> None:
        data = os.read(self._commands, READ_SIZE)
        if not data:
            self._closed = True
            return
        # the executor's own requests, trusted as they are
        self._queued.extend(cast("list[Command]", self._decoder.feed(data)))
        if self._decoder.error is not None:  # the executor's stream is broken: stop
            self._closed = True

    # one candidate

    def _run(self, request: RunRequest) -> RunResult | Cancelled:
        tests = request["tests"]
        limits = request["limits"]
        if any(test["kind"] == "pytest" for test in tests):
            self._load_pytest()
        program_code = harness.prepare(request, self._scratch)
        started = time.monotonic()
        wall_deadline = started + limits["candidate_timeout"]
        outcomes: list[Outcome | None] = [None] * len(tests)
        seen = _Observed(self._pid1, self._network)
        try:
            index = 0
            while index < len(tests):
                if time.monotonic() >= wall_deadline:
                    _fill(outcomes, index, ServerStatus.TIMEOUT, _OUT_OF_TIME)
                    break
                end = self._spawn_and_watch(request, index, program_code, wall_deadline)
                if end.reason == "cancelled":
                    return {"t": "cancelled", "id": request["id"]}
                seen.child(end)
                for position, outcome in end.outcomes.items():
                    outcomes[position] = outcome
                seen.leftovers += self._sweep()
                if end.unimportable is not None:
                    for position in range(index, len(tests)):
                        outcomes[position] = {"r": end.unimportable, "import": True}
                    break
                missing = [i for i in range(index, len(tests)) if outcomes[i] is None]
                if not missing:
                    break
                status, message = _cause(end, limits)
                if not end.ready:
                    _fill(outcomes, index, status, f"{message} before the tests ran")
                    break
                culprit = end.running if end.running is not None else missing[0]
                duration = 0.0
                if end.running is not None:
                    duration = (time.monotonic() - end.running_since) * 1000
                outcomes[culprit] = {
                    "status": status,
                    "message": f"{message} during this test",
                    "duration_ms": duration,
                }
                index = culprit + 1
                if end.reason == "deadline":
                    _fill(outcomes, index, ServerStatus.TIMEOUT, _OUT_OF_TIME)
                    break
        finally:
            seen.leftovers += self._sweep()
            seen.files = self._files_left()
            self._wipe()
        return {
            "t": "result",
            "id": request["id"],
            "outcomes": [
                {**(outcome or {}), "test_id": test["id"]}
                for test, outcome in zip(tests, outcomes, strict=True)
            ],
            "wall_ms": (time.monotonic() - started) * 1000,
            "stdout_truncated": any(
                outcome and outcome.get("r", {}).get("x") for outcome in outcomes
            ),
            "effects": self._effects(seen),
        }

    def _effects(self, seen: _Observed) -> list[list[str]]:
        effects = seen.effects(self._home)
        self._network = seen.network_after  # the next candidate's starting count
        return effects

    def _load_pytest(self) -> None:
        if not self._pytest_loaded:
            self._pytest_loaded = True
            try:
                importlib.import_module("pytest")
            except ImportError:
                return
            gc.freeze()
            self._rlimits.clear()  # the address space limit is relative to this size

    def _spawn_and_watch(
        self,
        request: RunRequest,
        start: int,
        program_code: types.CodeType | None,
        wall_deadline: float,
    ) -> _ChildEnd:
        limits = request["limits"]
        setup = harness.ChildSetup(
            scratch=self._scratch,
            report_fd=self._report_end,
            server_pid=self._pid,
            die_with_server=not self._pid1,
            rlimits=self._rlimits_for(limits),
            program_path=harness.program_path(self._scratch, request["program"]["module_name"]),
            program_code=program_code,
            import_program=harness.imports_program(request["tests"], start),
        )
        end = _ChildEnd(start, [test["mode"] for test in request["tests"]])
        decoder = FrameDecoder(REPORT_FRAME_LIMIT)
        self._swept = False
        self._name.rename(candidate=True)  # the child is born with the candidates' name
        pid = os.fork()
        if pid == 0:  # the child closes every descriptor but its report pipe
            harness.run_child(request, start, setup)
        end.pid = pid
        end.running_since = time.monotonic()  # the import is timed like a test
        self._name.rename(candidate=False)
        # the child does the same; whoever is first wins (no contextlib here: every object
        # touched while the child runs is a page copied)
        try:  # noqa: SIM105
            os.setpgid(pid, pid)
        except OSError:
            pass
        return self._watch(end, decoder, request["id"], pid, limits, wall_deadline)

    def _watch(
        self,
        end: _ChildEnd,
        decoder: FrameDecoder,
        run_id: int,
        pid: int,
        limits: WireLimits,
        wall_deadline: float,
    ) -> _ChildEnd:
        """Wait for the child to end. The server wakes only for the child's exit, a command,
        a deadline, or a periodic look at the child's reports: every page a waking server
        writes is one the child still shares, and copying it is the main cost of a fork.
        (So what can be made before the fork is made there.)"""
        pidfd = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None
        waiting = [self._commands] if pidfd is None else [self._commands, pidfd]
        child_only = waiting if pidfd is None else [pidfd]
        commands_from = end.running_since + COMMANDS_AFTER
        interval = PROGRESS_INTERVAL
        if self._watchdog or pidfd is None:
            interval = WATCHDOG_FIRST
        next_look = end.running_since + PROGRESS_INTERVAL
        per_test = limits["test_timeout"] + GRACE
        try:
            while True:
                timed = not end.ready or end.running is not None
                phase_deadline = end.running_since + per_test if timed else float("inf")
                deadline = min(phase_deadline, wall_deadline)
                now = time.monotonic()
                if now >= deadline:
                    end.reason = "deadline" if wall_deadline <= phase_deadline else "test_timeout"
                    _kill(pid)
                    break
                timeout = min(deadline - now, interval)
                watched = waiting
                if now < commands_from:
                    watched, timeout = child_only, min(timeout, commands_from - now)
                readable, _, _ = select.select(watched, [], [], timeout)
                if interval < WATCHDOG_LAST:
                    interval = min(interval * 2, WATCHDOG_LAST)
                if self._commands in readable and self._cancelled(run_id):
                    end.reason = "cancelled"
                    _kill(pid)
                    break
                if pidfd is None or pidfd in readable:
                    finished, status, rusage = os.wait4(pid, os.WNOHANG)
                    if finished:
                        end.status, end.rusage = status, rusage
                        if not self._drain(decoder, end, final=True):
                            end.reason = "protocol"
                        return end
                # the child's reports: now and then, and always before a deadline is judged
                if time.monotonic() >= min(next_look, deadline):
                    next_look = time.monotonic() + PROGRESS_INTERVAL
                    if not self._drain(decoder, end):
                        end.reason = "protocol"
                        _kill(pid)
                        break
                if self._watchdog and self._too_many_processes(limits["processes"], pid):
                    end.reason = "processes"
                    _kill(pid)
                    self._kill_descendants()
                    break
            _, end.status, end.rusage = os.wait4(pid, 0)
            if not self._drain(decoder, end, final=True) and end.reason == "exited":
                end.reason = "protocol"
            return end
        finally:
            if pidfd is not None:
                os.close(pidfd)

    def _cancelled(self, run_id: int) -> bool:
        """Read what the executor sent during run `run_id`; True if it asks to stop that run.
        A cancelled request that is still waiting is dropped and acknowledged here."""
        self._read_commands()
        if self._closed:
            self._exit()
        current = False
        waiting: list[Command] = []
        for message in self._queued:
            target = message.get("id")
            if message.get("t") != "cancel":
                waiting.append(message)
            elif target == run_id:
                current = True
            else:
                waiting = [queued for queued in waiting if queued.get("id") != target]
                self._send({"t": "cancelled", "id": target})
        self._queued = waiting
        return current

    def _drain(self, decoder: FrameDecoder, end: _ChildEnd, final: bool = False) -> bool:
        """Take in what the child reported; False if it broke the protocol. `final`: the
        child is gone, so a frame left half written is interference too."""
        while True:
            try:
                data = os.read(self._reports, READ_SIZE)
            except BlockingIOError:
                data = b""
            end.received += len(data)
            if end.received > REPORT_TOTAL_LIMIT:
                end.violation = f"reported more than {REPORT_TOTAL_LIMIT >> 20} MiB"
                return False
            for message in decoder.feed(data):
                problem = _take(message, end)
                if problem:
                    end.violation = problem
                    return False
            if decoder.error is not None:
                end.violation = decoder.error
                return False
            if len(data) < READ_SIZE:  # nothing more for now
                if final and decoder.pending:
                    end.violation = "a report was cut off"
                    return False
                return True

    def _discard_reports(self) -> None:
        """Empty the report pipe once no process that could write to it is left."""
        while select.select([self._reports], [], [], 0)[0]:
            os.read(self._reports, READ_SIZE)

    # processes and files

    def _rlimits_for(self, limits: WireLimits) -> tuple[tuple[int, tuple[int, int]], ...]:
        nproc = self._nproc(limits["processes"])
        key = (*limits.items(), nproc)  # the executor sends the limits in one order
        if key not in self._rlimits:
            self._rlimits[key] = harness.rlimits_for(limits, nproc)
        return self._rlimits[key]

    def _too_many_processes(self, limit: int, child: int) -> bool:
        """Whether more than `limit` processes run below this server. In a PID namespace, a
        look at the last PID handed out usually shows at once that few were started since
        the `child` (PIDs are handed out in order); only otherwise are the processes counted."""
        if self._pid1:
            if (_last_pid() or 0) - child < limit:
                return False
            return sum(name.isdigit() for name in os.listdir("/proc")) - 1 > limit
        return len(_descendants(enough=limit)) > limit

    def _nproc(self, processes: int) -> int:
        """The RLIMIT_NPROC value giving the candidate `processes` processes of its own."""
        if self._pid1 or self._watchdog:
            # inside a user namespace the count is of this sandbox's tasks only
            return processes + 1
        return self._user_tasks() + processes

    def _user_tasks(self) -> int:
        """Tasks the user runs system-wide, which RLIMIT_NPROC counts outside a namespace."""
        checked, count = self._user_tasks_cache
        if time.monotonic() - checked < 1.0:
            return count
        uid = os.getuid()
        count = 0
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{name}/task"))
            except OSError:
                continue
        self._user_tasks_cache = (time.monotonic(), count)
        return count

    def _kill_descendants(self) -> int:
        """Kill every process below this server; how many there were."""
        if self._pid1:
            count = sum(name.isdigit() for name in os.listdir("/proc")) - 1
            with contextlib.suppress(ProcessLookupError):
                os.kill(-1, signal.SIGKILL)
            return count
        own_group = os.getpgrp()
        found = _descendants()
        for pid in found:
            with contextlib.suppress(OSError):
                group = os.getpgid(pid)
                if group != own_group:
                    os.killpg(group, signal.SIGKILL)
            _kill(pid)
        return len(found)

    def _sweep(self) -> int:
        """Kill and reap every process left in this sandbox (or below this server); how many
        were still running when it began (processes a candidate left behind)."""
        if self._swept:  # and nothing forked since
            return 0
        deadline = time.monotonic() + 5.0
        left: int | None = None
        while True:
            # with no child left, nothing is left: an orphan is given to this server
            # (PID 1 or a subreaper) before its parent can be reaped
            try:
                while os.waitpid(-1, os.WNOHANG)[0]:
                    pass
            except ChildProcessError:
                self._discard_reports()
                self._swept = True
                return left or 0
            killed = self._kill_descendants()
            left = killed if left is None else left
            if time.monotonic() > deadline:
                print("plansearch fork server: a process would not die", file=sys.stderr)
                return left
            time.sleep(0.001)

    def _files_left(self) -> list[str]:
        """Files and folders a candidate left in its home directory and, in a sandbox, in the
        private /tmp and /dev/shm (its scratch directory aside), at most MAX_FILES_SHOWN."""
        found: list[str] = []
        pending = [self._home]
        for root in self._private_roots:
            with contextlib.suppress(OSError):
                pending += [
                    path
                    for entry in sorted(os.listdir(root))
                    if (path := os.path.join(root, entry)) not in self._kept
                ]
        while pending and len(found) < MAX_FILES_SHOWN:
            path = pending.pop(0)
            try:
                is_directory = stat.S_ISDIR(os.lstat(path).st_mode)
                entries = sorted(os.listdir(path)) if is_directory else []
            except OSError:
                continue
            if path != self._home and (not is_directory or not entries):
                found.append(path)
            pending += [os.path.join(path, entry) for entry in entries]
        return found

    def _wipe(self) -> None:
        """Empty the scratch directory; in a sandbox, remove all candidates could write. A
        scratch directory the candidate replaced (by another directory, a link, a file) is
        made anew, and the server moves into it: it is the working directory children inherit."""
        scratch = _working_directory(self._scratch)
        if scratch is not None and stat.S_IMODE(scratch.st_mode) != 0o700:
            os.chmod(self._scratch, 0o700)
        for root in self._wipe_roots:
            try:
                entries = os.listdir(root)
            except OSError:
                continue
            for entry in entries:
                path = os.path.join(root, entry)
                if path not in self._kept:
                    _remove(path)
        if scratch is None:
            _remove(self._scratch)
            os.mkdir(self._scratch, 0o700)
            os.chdir(self._scratch)
        home = _directory(self._home)
        if home is None or stat.S_IMODE(home.st_mode) != 0o700:
            _remove(self._home)
            os.mkdir(self._home, 0o700)


def _keep_to(core: int | None) -> None:
    """Run this server, and so the children it forks, on `core` only (where it can)."""
    if core is not None and hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):  # the core went away: run anywhere
            os.sched_setaffinity(0, {core})


class _ProcessName:
    """This process's name, switched to the candidates' name for each fork: renaming the
    child itself would cost it many copied pages. (The name only helps find leftovers.)"""

    def __init__(self, candidate_name: str) -> None:
        self._candidate = candidate_name.encode()[:15]
        self._own = b""
        self._fd: int | None = None
        try:
            fd = os.open("/proc/self/comm", os.O_RDWR)
        except OSError:
            return
        try:
            self._own = os.read(fd, 64).rstrip(b"\n")
        except OSError:
            os.close(fd)
            return
        self._fd = fd

    def rename(self, candidate: bool) -> None:
        if self._fd is None:
            return
        try:  # noqa: SIM105 (called right after each fork: as few objects as possible)
            os.write(self._fd, self._candidate if candidate else self._own)
        except OSError:
            pass


def _warm_typing() -> None:
    """Subscript the common generic types once, so that a candidate's annotations hit the
    typing module's cache: computing them in a child would copy many of the server's pages."""
    import typing

    def generic(name: str) -> Any:
        return getattr(typing, name)

    simple: list[Any] = [int, float, str, bool, typing.Any]
    for name in ("List", "Set", "Optional", "Sequence", "Iterable"):
        for argument in simple:
            generic(name)[argument]
    for first in simple:
        generic("Tuple")[first, ...]
        for second in simple:
            for name in ("Dict", "Tuple", "Union"):
                generic(name)[first, second]
    for argument in simple:
        generic("List")[generic("List")[argument]]
        generic("List")[generic("Tuple")[argument, argument]]


def _take(message: Message, end: _ChildEnd) -> str:
    """Take in one report; what is wrong with it ("" when nothing)."""
    kind = message.get("t")
    if kind == "crash":
        end.crash = str(message.get("message", ""))[:_MESSAGE_LIMIT]
        return ""
    if kind == "unimportable":
        report = message.get("r")
        if end.ready or not isinstance(report, dict) or report.get("k") not in _IMPORT_KINDS:
            return "an import failure reported out of turn"
        end.unimportable = _checked(report, end)
        return ""
    index = message.get("i")
    if kind == "begin":
        if index != end.next or end.running is not None or end.unimportable is not None:
            return f"test {index!r} begun out of order"
        end.ready = True  # the program imported: the child began a test
        # the child's own clock reading (the same monotonic clock), kept within what is possible
        now = time.monotonic()
        started = message.get("s")
        end.running = index
        end.running_since = now if not isinstance(started, float) else min(now, started)
        return ""
    if kind != "result" or index is None or index != end.running:
        return f"an unexpected {str(kind)[:20]!r} report"
    report = message.get("r")
    if not isinstance(report, dict) or report.get("k") not in _REPORT_KINDS[end.modes[index]]:
        return "a malformed result"
    end.outcomes[index] = {"r": _checked(report, end)}
    end.running = None
    end.next = index + 1
    return ""


def _checked(report: Message, end: _ChildEnd) -> Report:
    """A child's report (its kind checked) with what the server takes from it (effects,
    threads) taken out; the judge checks the rest."""
    effects = report.pop("fx", None)
    if isinstance(effects, list):
        end.effects += [
            [str(item[0])[:20], str(item[1])[:200]]
            for item in effects[: observe.MAX_EFFECTS]
            if isinstance(item, list) and len(item) == 2
        ]
    threads = report.pop("th", 0)
    if isinstance(threads, int) and threads > end.threads:
        end.threads = threads
    return cast("Report", report)


class _Observed:
    """What a candidate did besides returning, over all its children: what they reported,
    and what this server saw from outside (files left, processes, network attempts)."""

    def __init__(self, sandboxed: bool, network: int) -> None:
        """`network`: this namespace's count of network attempts before the candidate."""
        self._sandboxed = sandboxed
        self.network_before = network
        self.network_after = network
        self.reported: list[list[str]] = []
        self.tasks = 0
        self.threads = 0
        self.leftovers = 0
        self.files: list[str] = []

    def child(self, end: _ChildEnd) -> None:
        """Take in one child's reports and the PIDs it used (in a PID namespace, each
        process or thread the child started took the next one)."""
        self.reported += end.effects
        self.threads += end.threads
        if self._sandboxed and end.pid:
            self.tasks += max(0, (_last_pid() or end.pid) - end.pid)

    def effects(self, home: str) -> list[list[str]]:
        """[kind, detail, seen] for each effect, those seen from outside first."""
        outside: list[list[str]] = []
        for path in self.files:
            shown = "~" + path[len(home) :] if path.startswith(home + "/") else path
            outside.append(["file", f"writes {shown}", "outside"])
        processes = max(self.tasks - self.threads, self.leftovers)
        if processes:
            plural = "es" if processes > 1 else ""
            outside.append(["process", f"starts {processes} process{plural}", "outside"])
        if self._sandboxed:
            self.network_after = _network_attempts()
            attempts = self.network_after - self.network_before
            if attempts > 0:
                plural = "s" if attempts > 1 else ""
                outside.append(
                    [
                        "network",
                        f"tries to reach the network ({attempts} attempt{plural})",
                        "outside",
                    ]
                )
        seen = {(kind, detail) for kind, detail, _ in outside}
        reported = []
        for kind, detail in self.reported:
            if (kind, detail) not in seen and kind in _EFFECT_KINDS:
                seen.add((kind, detail))
                reported.append([kind, detail, "reported"])
        return outside + reported[: observe.MAX_EFFECTS]


_EFFECT_KINDS = frozenset({"file", "process", "network", "secret", "environment", "signal"})


def _network_attempts() -> int:
    """How often this network namespace was asked to reach out (connections, datagrams,
    addresses without a route)."""
    total = 0
    for name in ("/proc/net/snmp", "/proc/net/snmp6"):
        try:
            with open(name) as file:
                lines = file.read().splitlines()
        except OSError:
            continue
        if name.endswith("6"):
            pairs = [line.split() for line in lines]
            total += sum(int(p[1]) for p in pairs if len(p) == 2 and p[0] in _NETWORK_COUNTERS)
            continue
        for header, numbers in zip(lines[::2], lines[1::2], strict=False):
            keys, counts = header.split(), numbers.split()
            prefix = keys[0].rstrip(":")
            for key, count in zip(keys[1:], counts[1:], strict=False):
                if prefix + key in _NETWORK_COUNTERS:
                    total += int(count)
    return total


def _fill(outcomes: list[Outcome | None], start: int, status: ServerStatus, message: str) -> None:
    for index in range(start, len(outcomes)):
        if outcomes[index] is None:
            outcomes[index] = {"status": status, "message": message}


def _cause(end: _ChildEnd, limits: WireLimits) -> tuple[ServerStatus, str]:
    """The status and message for a child that ended before reporting every test."""
    if end.reason == "test_timeout":
        return ServerStatus.TIMEOUT, f"did not finish within {limits['test_timeout']:g} s; killed"
    if end.reason == "deadline":
        return (
            ServerStatus.TIMEOUT,
            f"the candidate's {limits['candidate_timeout']:g} s ran out; killed",
        )
    if end.reason == "processes":
        return ServerStatus.ERROR, f"started more than {limits['processes']} processes; killed"
    if end.reason == "protocol":
        return ServerStatus.ERROR, f"interfered with the test channel ({end.violation}); killed"
    if os.WIFEXITED(end.status):
        code = os.WEXITSTATUS(end.status)
        if code == harness.EXIT_REPORT_LOST:
            return ServerStatus.ERROR, "interfered with the test channel (closed it)"
        if code == harness.EXIT_CRASH and _near_memory_limit(end, limits):
            return ServerStatus.MEMORY, "ran out of memory"
        if code == harness.EXIT_CRASH:
            return ServerStatus.ERROR, f"broke the test harness ({end.crash or 'no reason given'})"
        if code == 0:
            return ServerStatus.ERROR, "the process exited (status 0) before reporting"
        return ServerStatus.ERROR, f"the process exited with status {code}"
    signum = os.WTERMSIG(end.status)
    name = _signal_name(signum)
    cpu = end.rusage.ru_utime + end.rusage.ru_stime if end.rusage is not None else 0.0
    out_of_cpu = signum == signal.SIGKILL and cpu >= limits["candidate_timeout"]
    if signum == signal.SIGXCPU or out_of_cpu:
        return ServerStatus.TIMEOUT, f"CPU time limit reached ({name})"
    if _near_memory_limit(end, limits):
        return ServerStatus.MEMORY, f"killed by {name} near the memory limit"
    return ServerStatus.SIGNAL, f"killed by {name}"


def _near_memory_limit(end: _ChildEnd, limits: WireLimits) -> bool:
    if end.rusage is None:
        return False
    peak = end.rusage.ru_maxrss * 1024
    return bool(peak >= 0.8 * limits["memory_mb"] * 1024 * 1024)


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _kill(pid: int) -> None:
    """Kill a candidate and its process group (a fork bomb dies in one call)."""
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)


def _last_pid() -> int | None:
    """The PID this PID namespace handed out last (None if the kernel does not say)."""
    try:
        fd = os.open("/proc/sys/kernel/ns_last_pid", os.O_RDONLY)
    except OSError:
        return None
    try:
        return int(os.read(fd, 32))
    except ValueError:
        return None
    finally:
        os.close(fd)


def _descendants(enough: int | None = None) -> list[int]:
    """The processes below this one, found through /proc/<pid>/task/<tid>/children; the
    walk stops once more than `enough` are found, so that a fork bomb cannot make it long."""
    found: list[int] = []
    frontier = [os.getpid()]
    while frontier and (enough is None or len(found) <= enough):
        pid = frontier.pop()
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/children") as file:
                    children = [int(child) for child in file.read().split()]
            except OSError:
                continue
            found.extend(children)
            frontier.extend(children)
    return found


def _directory(path: str) -> os.stat_result | None:
    """The status of `path` if it is a directory (not a link to one)."""
    try:
        status = os.lstat(path)
    except OSError:
        return None
    return status if stat.S_ISDIR(status.st_mode) else None


def _working_directory(path: str) -> os.stat_result | None:
    """The status of `path` if it is a directory (not a link to one) and the working one."""
    try:
        status, here = os.lstat(path), os.stat(".")
    except OSError:
        return None
    same = (status.st_dev, status.st_ino) == (here.st_dev, here.st_ino)
    return status if same and stat.S_ISDIR(status.st_mode) else None


def _remove(path: str) -> None:
    """Delete a file or a whole directory tree, making directories writable where needed.
    (Not shutil.rmtree: shutil brings the compression modules along, a bigger server forks
    slower.)"""
    stack, directories = [path], []
    while stack:
        current = stack.pop()
        try:
            os.unlink(current)
            continue
        except FileNotFoundError:
            continue
        except IsADirectoryError:
            pass
        except OSError:
            with contextlib.suppress(OSError):
                os.chmod(os.path.dirname(current), 0o700)
                os.unlink(current)
            continue
        directories.append(current)
        with contextlib.suppress(OSError):
            os.chmod(current, 0o700)
            stack.extend(os.path.join(current, entry) for entry in os.listdir(current))
    for directory in reversed(directories):
        with contextlib.suppress(OSError):
            os.rmdir(directory)
