"""Choosing and describing the isolation candidates run under.

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

import logging
import shutil
import subprocess
import sys
from collections.abc import Sequence
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from plansearch.execution.errors import SandboxUnavailable
from plansearch.execution.launch import (
    LEVELS,
    IsolationLevel,
    IsolationRequest,
    remove_scratch_root,
    worker_spec,
)
from plansearch.execution.limits import Limits
from plansearch.execution.protocol import FrameDecoder, Message

__all__ = [
    "LEVELS",
    "IsolationLevel",
    "IsolationReport",
    "IsolationRequest",
    "SandboxUnavailable",
    "detect_isolation",
    "level_available",
    "probe",
    "warn_if_unprotected",
]

logger = logging.getLogger("plansearch.execution")

_STARTUP_TIMEOUT = 30.0
_warned: set[IsolationLevel] = set()


class IsolationReport(BaseModel):
    """Which protections candidates run with, for `plansearch doctor` and for warnings."""

    model_config = ConfigDict(frozen=True)

    level: IsolationLevel
    filesystem: bool
    home_hidden: bool
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
        elif not self.home_hidden:
            off.append("the home directory is readable (read-only)")
        if not self.network:
            off.append("the network is reachable")
        if not self.processes:
            off.append("other processes are visible and can be signalled")
            off.append(
                "a candidate can read the environment of your other processes "
                "(/proc/<pid>/environ), even as a non-root user: the shell that started "
                "plansearch among them, with any API key exported there"
            )
        return off

    def describe(self) -> str:
        """A few lines for a person."""

        def mark(flag: bool) -> str:
            return "on " if flag else "OFF"

        lines = [
            f"sandbox level: {self.level}",
            f"  [{mark(self.filesystem)}] file system read-only",
            f"  [{mark(self.home_hidden)}] home directory hidden (but for the paths needed)",
            f"  [{mark(self.network)}] no network",
            f"  [{mark(self.processes)}] separate process space (PID namespace)",
            f"  [{mark(self.processes)}] other processes' environments unreadable "
            "(/proc/<pid>/environ: your shell's API key)",
            f"  [{mark(self.environment)}] environment scrubbed (no keys or tokens)",
            f"  [on ] process limit ({self.process_limit}), CPU, memory, file size, open files",
        ]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


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
            "limits only: a candidate can read and write your files, reach the network, "
            "see your processes and read their environments (/proc/<pid>/environ), even as "
            "a non-root user: the API key in the shell that started plansearch is readable. "
            "Install bubblewrap or allow unprivileged user namespaces"
        )
    return IsolationReport(
        level=level,
        filesystem=sandboxed,
        home_hidden=sandboxed and bool(ready.get("home_hidden")),
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
    messages = FrameDecoder().feed(completed.stdout)
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
