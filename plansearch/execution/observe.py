"""What a candidate does besides returning, as seen from inside its own process.

The fork server installs a `Recorder` before it forks: an audit hook (files written or deleted
outside the scratch directory, secret files read, sockets, processes started, signals sent),
a watched `os.environ` and a count of threads started. A child switches it on while candidate
and test code run and sends what it saw with its reports. These are *reported* effects: a
candidate that wants to hide them can (it owns the process); the fork server observes files
left behind, processes and network attempts from outside (see `forkserver`).

Runs inside the sandbox; standard library only.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

MAX_EFFECTS = 20
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_SECRET_PARTS = (
    "/.ssh/", "/.aws/", "/.gnupg/", "/.netrc", "/.pgpass", "/.git-credentials", "/.pypirc",
    "/.docker/config.json", "/.kube/config", "/.config/gh/", "/etc/shadow", "/.env",
    "id_rsa", "id_ed25519", "credentials",
)  # fmt: skip
_SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH")
_PLAIN_VARIABLES = frozenset(
    {
        "PATH", "HOME", "TMPDIR", "TEMP", "TMP", "LANG", "LANGUAGE", "TERM", "COLUMNS",
        "LINES", "TZ", "PWD", "USER", "LOGNAME", "SHELL", "NO_COLOR", "FORCE_COLOR",
    }
)  # fmt: skip


class Recorder:
    """Collects a child's effects while `on`; at most `MAX_EFFECTS` distinct ones."""

    def __init__(self) -> None:
        self.on = False
        self.scratch = "/"
        self.home = "/"
        self.threads = 0
        self.seen: dict[tuple[str, str], None] = {}

    def configure(self, scratch: str, home: str) -> None:
        """In the fork server: the directories paths are judged against (a child inherits
        them, and records only while `on`)."""
        self.scratch = scratch.rstrip("/") + "/"
        self.home = home.rstrip("/") + "/"

    def take(self) -> list[list[str]]:
        """What was seen since the last call, as [kind, detail] pairs."""
        items = [[kind, detail] for kind, detail in self.seen]
        self.seen.clear()
        return items

    def add(self, kind: str, detail: str) -> None:
        if len(self.seen) < MAX_EFFECTS:
            self.seen[(kind, detail[:200])] = None

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        """The audit hook. Never raises: an exception here would fail the audited call."""
        if not self.on:
            return
        handler = _HANDLERS.get(event)
        if handler is None:
            return
        with contextlib.suppress(BaseException):  # never disturb the audited call
            handler(self, args)

    # what each event means

    def _open(self, args: tuple[Any, ...]) -> None:
        path, mode, flags = args
        text = self._path(path)
        if text is None:
            return
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            mode is None and isinstance(flags, int) and flags & _WRITE_FLAGS
        )
        if writing and not self._inside_scratch(text):
            self.add("file", f"writes {self._shown(text)}")
        elif not writing and _secret_path(text):
            self.add("secret", f"reads {self._shown(text)}")

    def changed(self, verb: str, path: object) -> None:
        text = self._path(path)
        if text is not None and not self._inside_scratch(text):
            self.add("file", f"{verb} {self._shown(text)}")

    def _connect(self, args: tuple[Any, ...]) -> None:
        self.add("network", f"connects to {_address(args[1])}")

    def _send_to(self, args: tuple[Any, ...]) -> None:
        self.add("network", f"sends to {_address(args[1])}")

    def _lookup(self, args: tuple[Any, ...]) -> None:
        self.add("network", f"looks up {args[0]}")

    def _process(self, args: tuple[Any, ...]) -> None:
        command = args[1] if len(args) > 1 else args[0]
        if isinstance(command, list | tuple):
            command = " ".join(str(part) for part in command)
        self.add("process", f"starts a process: {str(command)[:80]}")

    def _fork(self, args: tuple[Any, ...]) -> None:
        self.add("process", "forks a process")

    def _system(self, args: tuple[Any, ...]) -> None:
        self.add("process", f"runs a shell command: {str(args[0])[:80]}")

    def _kill(self, args: tuple[Any, ...]) -> None:
        target, signal_number = args[0], args[1]
        if target != os.getpid():
            self.add("signal", f"sends signal {signal_number} to process {target}")

    def _path(self, path: object) -> str | None:
        if isinstance(path, int):
            return None
        text = os.fsdecode(path) if isinstance(path, bytes | os.PathLike) else path
        if not isinstance(text, str):
            return None
        return os.path.normpath(text if text.startswith("/") else self.scratch + text)

    def _inside_scratch(self, path: str) -> bool:
        return (path + "/").startswith(self.scratch) or path in ("/dev/null", "/dev/stdout")

    def _shown(self, path: str) -> str:
        if (path + "/").startswith(self.home):
            return "~/" + path[len(self.home) :]
        return path


def _secret_path(path: str) -> bool:
    if path.startswith("/proc/") and path.endswith(("/environ", "/cmdline", "/mem")):
        return not path.startswith("/proc/self/cmdline")
    return any(part in path for part in _SECRET_PARTS)


def _address(address: object) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address)[:80]


def _changing(verb: str) -> Callable[[Recorder, tuple[Any, ...]], None]:
    def handler(recorder: Recorder, args: tuple[Any, ...]) -> None:
        recorder.changed(verb, args[0])

    return handler


_HANDLERS: dict[str, Callable[[Recorder, tuple[Any, ...]], None]] = {
    "open": Recorder._open,
    "os.remove": _changing("deletes"),
    "os.rmdir": _changing("deletes"),
    "shutil.rmtree": _changing("deletes"),
    "os.rename": _changing("moves"),
    "os.mkdir": _changing("creates"),
    "os.symlink": _changing("links"),
    "os.truncate": _changing("truncates"),
    "os.chmod": _changing("changes the mode of"),
    "socket.connect": Recorder._connect,
    "socket.sendto": Recorder._send_to,
    "socket.getaddrinfo": Recorder._lookup,
    "socket.gethostbyname": Recorder._lookup,
    "subprocess.Popen": Recorder._process,
    "os.exec": Recorder._process,
    "os.posix_spawn": Recorder._process,
    "os.spawn": Recorder._process,
    "os.fork": Recorder._fork,
    "os.forkpty": Recorder._fork,
    "os.system": Recorder._system,
    "os.kill": Recorder._kill,
    "os.killpg": Recorder._kill,
}


class _WatchedEnviron(os._Environ[str]):
    """`os.environ` that tells the recorder which variables candidate code reads."""

    recorder: Recorder

    def __getitem__(self, key: str) -> str:
        if self.recorder.on:
            _note_variable(self.recorder, key)
        return super().__getitem__(key)

    def __iter__(self) -> Iterator[str]:
        if self.recorder.on:
            self.recorder.add("environment", "reads the whole environment")
        return super().__iter__()


def _note_variable(recorder: Recorder, key: object) -> None:
    name = str(key)
    if name in _PLAIN_VARIABLES or name.startswith(("LC_", "PYTHON")) or name.endswith("_THREADS"):
        return
    kind = "secret" if any(word in name.upper() for word in _SECRET_WORDS) else "environment"
    recorder.add(kind, f"reads the environment variable {name}")


def install(recorder: Recorder, scratch: str, home: str) -> None:
    """In the fork server, before any fork: the hook, the watched environment and the count
    of threads, inherited by every child."""
    recorder.configure(scratch, home)
    sys.addaudithook(recorder.hook)
    current = os.environ
    watched = _WatchedEnviron(
        current._data,  # type: ignore[attr-defined]
        current.encodekey,
        current.decodekey,
        current.encodevalue,
        current.decodevalue,
    )
    watched.recorder = recorder
    os.environ = watched  # noqa: B003 (the same variables, watched)
    start_thread = _thread.start_new_thread

    def counted(function: Callable[..., object], *args: Any, **kwargs: Any) -> int:
        if recorder.on:
            recorder.threads += 1
        return start_thread(function, *args, **kwargs)

    _thread.start_new_thread = counted  # what `threading` takes when a candidate imports it
    threading = sys.modules.get("threading")
    if threading is not None:  # already imported: it holds the old one
        threading._start_new_thread = counted  # type: ignore[attr-defined]
