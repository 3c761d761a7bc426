"""Choosing and describing the isolation candidates run under, and the command that starts a
sandboxed fork server.

Three levels, strongest first:

- ``bwrap``: bubblewrap builds the sandbox (user, PID, network, IPC and UTS namespaces; the file
  system read-only; the home directory hidden; private /tmp; no capabilities).
- ``namespaces``: the same, built by the worker itself from Linux namespaces (no bubblewrap).
- ``rlimits``: resource limits only. The file system, the network and other processes are not
  protected; this is said once, plainly, through the ``plansearch.execution`` logger.

Every level scrubs the environment (a candidate's environment is built from nothing), limits
CPU, memory, processes, file size and open files, and kills what a candidate leaves behind.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from plansearch.execution.limits import Limits
from plansearch.execution.protocol import FrameDecoder, Message, ProtocolError

IsolationLevel = Literal["bwrap", "namespaces", "rlimits"]
IsolationRequest = Literal["auto", "bwrap", "namespaces", "rlimits"]
LEVELS: tuple[IsolationLevel, ...] = ("bwrap", "namespaces", "rlimits")

logger = logging.getLogger("plansearch.execution")

BOOTSTRAP = """\
import json, sys, types
config = json.loads(sys.argv[1])
sys.dont_write_bytecode = True
for name, path in config["packages"]:
    package = types.ModuleType(name)
    package.__path__ = [path]
    sys.modules[name] = package
from plansearch.execution import forkserver
forkserver.main(config)
"""

_PACKAGE_DIR = Path(__file__).resolve().parent.parent
_STARTUP_TIMEOUT = 30.0
_warned: set[IsolationLevel] = set()


class SandboxUnavailable(RuntimeError):
    """The isolation level asked for cannot be set up on this machine."""


class IsolationReport(BaseModel):
    """Which protections candidates run with, for `plansearch doctor` and for warnings."""

    model_config = ConfigDict(frozen=True)

    level: IsolationLevel
    filesystem: bool
    network: bool
    processes: bool
    process_limit: Literal["rlimit", "watchdog"]
    environment: bool = True
    notes: tuple[str, ...] = ()

    @property
    def protections_off(self) -> list[str]:
        """The protections this level lacks, in words."""
        off = []
        if not self.filesystem:
            off.append("the user's files are writable and readable (no read-only file system)")
        if not self.network:
            off.append("the network is reachable")
        if not self.processes:
            off.append("other processes are visible and can be signalled")
        return off

    def describe(self) -> str:
        """A few lines for a person."""

        def mark(flag: bool) -> str:
            return "on " if flag else "OFF"

        lines = [
            f"sandbox level: {self.level}",
            f"  [{mark(self.filesystem)}] file system read-only, home directory hidden",
            f"  [{mark(self.network)}] no network",
            f"  [{mark(self.processes)}] separate process space (PID namespace)",
            f"  [{mark(self.environment)}] environment scrubbed (no keys or tokens)",
            f"  [on ] process limit ({self.process_limit}), CPU, memory, file size, open files",
        ]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


@dataclass(frozen=True)
class WorkerSpec:
    """How to start one fork server."""

    level: IsolationLevel
    argv: list[str]
    env: dict[str, str]
    scratch_root: str | None
    """A host directory made for this worker (rlimits level), removed when it stops."""


def candidate_env() -> dict[str, str]:
    """The environment candidates run with: built from nothing, never copied from the user's."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


PRIVATE_ROOTS = ("/tmp", "/dev/shm")


@dataclass(frozen=True)
class FileLayout:
    """How a sandbox covers the host's files: private tmpfs on /tmp and /dev/shm, an empty
    read-only tmpfs on the home directory, and under each of them the paths that must stay
    visible (the interpreter, its import path, the executor's `paths`) bound back read-only."""

    home: str | None
    binds: dict[str, list[str]]

    def protected(self) -> list[str]:
        """The top-level entries of the private roots that hold bound paths (never wiped)."""
        entries = set()
        for root in PRIVATE_ROOTS:
            for path in self.binds.get(root, []):
                entries.add(os.path.join(root, os.path.relpath(path, root).split(os.sep)[0]))
        return sorted(entries)


def file_layout(visible: Sequence[str]) -> FileLayout:
    """The layout that keeps `visible` (and the running interpreter) readable."""
    needed = {os.path.abspath(path) for path in visible if os.path.isdir(path)}
    needed |= {os.path.realpath(path) for path in needed}
    needed |= {os.path.abspath(sys.prefix), os.path.realpath(sys.base_prefix)}
    needed |= {os.path.dirname(os.path.realpath(sys.executable))}
    needed -= set(PRIVATE_ROOTS)
    home: str | None = os.path.realpath(os.path.expanduser("~"))
    if home in ("/", *PRIVATE_ROOTS) or not os.path.isdir(str(home)):
        home = None
    elif any(home == path or str(home).startswith(path + os.sep) for path in needed):
        home = None  # a needed path holds the whole home directory: nothing to hide
    roots = [*PRIVATE_ROOTS] if home is None else [*PRIVATE_ROOTS, home]
    return FileLayout(home=home, binds={root: _outermost(root, needed) for root in roots})


def _outermost(root: str, paths: set[str]) -> list[str]:
    under = sorted(path for path in paths if path.startswith(root + os.sep))
    return [p for p in under if not any(p.startswith(q + os.sep) for q in under if q != p)]


def worker_spec(
    level: IsolationLevel, limits: Limits, process_name: str, paths: Sequence[str] = ()
) -> WorkerSpec:
    """The command, environment and scratch directory for one fork server at `level`."""
    layout = file_layout([*paths, *_python_paths(), str(_PACKAGE_DIR)])
    tmpfs_bytes = limits.tmpfs_mb * 1024 * 1024
    scratch_root = None if level != "rlimits" else _make_scratch_root()
    config: Message = {
        "level": level,
        "packages": [
            ["plansearch", str(_PACKAGE_DIR)],
            ["plansearch.execution", str(_PACKAGE_DIR / "execution")],
        ],
        "paths_first": list(paths),
        "paths_last": _python_paths(),
        "env": candidate_env(),
        "process_name": process_name,
        "scratch_root": scratch_root or "/tmp",
        "protected": layout.protected(),
        "count_processes": os.geteuid() == 0,
        "filesystem": {"home": layout.home, "binds": layout.binds, "tmpfs_bytes": tmpfs_bytes},
    }
    python = [sys.executable, "-I", "-S", "-c", BOOTSTRAP, json.dumps(config)]
    env = {**candidate_env(), "HOME": "/tmp"}
    argv = [*_bwrap_arguments(layout, tmpfs_bytes), *python] if level == "bwrap" else python
    return WorkerSpec(level=level, argv=argv, env=env, scratch_root=scratch_root)


def _bwrap_arguments(layout: FileLayout, tmpfs_bytes: int) -> list[str]:
    arguments = [
        shutil.which("bwrap") or "bwrap",
        "--unshare-user",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--disable-userns",
        "--die-with-parent",
        "--as-pid-1",
        "--new-session",
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
    ]  # fmt: skip
    for root in PRIVATE_ROOTS:
        arguments += ["--size", str(tmpfs_bytes), "--tmpfs", root]
        for path in layout.binds[root]:
            arguments += ["--ro-bind", path, path]
    if layout.home is not None:
        arguments += ["--tmpfs", layout.home]
        for path in layout.binds[layout.home]:
            arguments += ["--ro-bind", path, path]
        arguments += ["--remount-ro", layout.home]
    if os.geteuid() == 0:
        # as root, bubblewrap keeps capabilities unless told not to
        arguments += ["--cap-drop", "ALL"]
    return [*arguments, "--chdir", "/tmp", "--clearenv", "--"]


def _python_paths() -> list[str]:
    """The interpreter's import path, minus the current directory."""
    here = os.getcwd()
    return [
        path for path in sys.path if path and os.path.isdir(path) and os.path.abspath(path) != here
    ]


def _make_scratch_root() -> str:
    shm = "/dev/shm"
    base = shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None
    return tempfile.mkdtemp(prefix="plansearch-", dir=base)


def remove_scratch_root(spec: WorkerSpec) -> None:
    """Remove the host scratch directory of a stopped worker."""
    if spec.scratch_root is not None:
        shutil.rmtree(spec.scratch_root, ignore_errors=True)


def report_for(level: IsolationLevel, ready: Message, notes: Sequence[str]) -> IsolationReport:
    """The report for a worker at `level` that answered `ready`."""
    sandboxed = level != "rlimits"
    extra = list(notes)
    if ready.get("process_limit") == "watchdog":
        extra.append(
            "running as root: RLIMIT_NPROC does not bind root, so the process count is "
            "enforced by the fork server polling it"
        )
    if not sandboxed:
        extra.append(
            "limits only: a candidate can read and write your files, reach the network "
            "and see your processes; install bubblewrap or allow unprivileged user namespaces"
        )
    return IsolationReport(
        level=level,
        filesystem=sandboxed,
        network=sandboxed,
        processes=sandboxed,
        process_limit=ready.get("process_limit", "rlimit"),
        notes=tuple(extra),
    )


def probe(level: IsolationLevel, limits: Limits | None = None) -> Message:
    """Start a fork server at `level` and stop it again; its ready message on success.

    Raises SandboxUnavailable with the reason otherwise.
    """
    if level == "bwrap" and shutil.which("bwrap") is None:
        raise SandboxUnavailable("bubblewrap (bwrap) is not on PATH")
    if level == "namespaces" and not sys.platform.startswith("linux"):
        raise SandboxUnavailable("namespaces need Linux")
    spec = worker_spec(level, limits or Limits(), "plansearch-probe")
    try:
        completed = subprocess.run(
            spec.argv,
            input=b"",
            capture_output=True,
            env=spec.env,
            timeout=_STARTUP_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SandboxUnavailable(f"{level}: {exc}") from None
    finally:
        remove_scratch_root(spec)
    try:
        messages = FrameDecoder().feed(completed.stdout)
    except ProtocolError:
        messages = []
    if not messages or messages[0].get("t") != "ready":
        reason = completed.stderr.decode(errors="replace").strip().splitlines()
        raise SandboxUnavailable(f"{level}: {reason[-1] if reason else 'the worker did not start'}")
    return messages[0]


@cache
def _probe_cached(level: IsolationLevel) -> tuple[Message | None, str]:
    try:
        return probe(level), ""
    except SandboxUnavailable as exc:
        return None, str(exc)


def detect_isolation(requested: IsolationRequest = "auto") -> IsolationReport:
    """The strongest level available (or the one requested), probed once per process.

    Raises SandboxUnavailable if a specific level was requested and cannot be set up.
    """
    notes: list[str] = []
    for level in LEVELS if requested == "auto" else (requested,):
        ready, reason = _probe_cached(level)
        if ready is not None:
            return report_for(level, ready, notes)
        if requested != "auto":
            raise SandboxUnavailable(reason)
        notes.append(reason)
    raise SandboxUnavailable("; ".join(notes))


def level_available(level: IsolationLevel) -> tuple[bool, str]:
    """Whether `level` works here, and if not, why (probed once per process)."""
    ready, reason = _probe_cached(level)
    return ready is not None, reason


def warn_if_unprotected(report: IsolationReport) -> None:
    """Say once per process and level, plainly, which protections are off."""
    off = report.protections_off
    if off and report.level not in _warned:
        _warned.add(report.level)
        logger.warning(
            "candidate code runs at sandbox level %r without protection: %s. "
            "Install bubblewrap (apt install bubblewrap) or allow unprivileged user namespaces.",
            report.level,
            "; ".join(off),
        )
