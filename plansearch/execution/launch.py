"""How a fork server is started at each isolation level: its command line (bubblewrap's
arguments at the ``bwrap`` level), its environment, the file layout a sandbox shows, and the
configuration the server reads. The ``namespaces`` level is built by the server itself from
this configuration (see `namespaces`)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from plansearch.execution.limits import Limits
from plansearch.execution.protocol import Message

IsolationLevel = Literal["bwrap", "namespaces", "rlimits"]
IsolationRequest = Literal["auto", "bwrap", "namespaces", "rlimits"]
LEVELS: tuple[IsolationLevel, ...] = ("bwrap", "namespaces", "rlimits")

# The worker's interpreter runs with -I -S: the package is loaded by path, without running
# plansearch/__init__.py (the worker needs nothing but the standard library). Its configuration
# is JSON in the arguments after it, cut in pieces: Linux takes no argument over 128 KiB.
BOOTSTRAP = """\
import json, sys, types
config = json.loads("".join(sys.argv[1:]))
sys.dont_write_bytecode = True
for name, path in config["packages"]:
    package = types.ModuleType(name)
    package.__path__ = [path]
    sys.modules[name] = package
from plansearch.execution import forkserver
forkserver.main(config)
"""

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


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


# The fork server's own environment, besides the candidates' (which it builds from nothing):
# its C libraries bind every symbol at start, or each child would bind those it calls first
# (after fork, a child runs C functions the server never ran), copying pages to do so.
_SERVER_ENV = {"LD_BIND_NOW": "1"}

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
    level: IsolationLevel,
    limits: Limits,
    process_name: str,
    paths: Sequence[str] = (),
    core: int | None = None,
    hidden: Sequence[str] = (),
) -> WorkerSpec:
    """The command, environment and scratch directory for one fork server at `level`; `core`
    is the CPU it and its candidates keep to (None: any). The `hidden` paths (see
    `hiding.hidden_paths`) read as empty in the sandbox: directories as an empty read-only
    tmpfs, files as /dev/null (at the ``rlimits`` level nothing can be hidden)."""
    layout = file_layout([*paths, *_python_paths(), str(_PACKAGE_DIR)])
    covered = hidden_in_sandbox(layout, hidden)
    tmpfs_bytes = limits.tmpfs_mb * 1024 * 1024
    scratch_root = None if level != "rlimits" else _make_scratch_root()
    config: Message = {
        "level": level,
        "core": core,
        "packages": [
            ["plansearch", str(_PACKAGE_DIR)],
            ["plansearch.execution", str(_PACKAGE_DIR / "execution")],
        ],
        "paths_first": list(paths),
        "paths_last": _python_paths(),
        "env": candidate_env(),
        "process_name": process_name,
        "scratch_root": scratch_root or "/tmp",
        "scratch_root_owned": scratch_root is not None,
        "protected": layout.protected(),
        "count_processes": os.geteuid() == 0,
        "filesystem": {
            "home": layout.home,
            "binds": layout.binds,
            "tmpfs_bytes": tmpfs_bytes,
            "hidden": covered,
        },
    }
    python = [sys.executable, "-I", "-S", "-c", BOOTSTRAP, *_pieces(json.dumps(config))]
    env = {**candidate_env(), **_SERVER_ENV, "HOME": "/tmp"}
    bwrap = level == "bwrap"
    argv = [*_bwrap_arguments(layout, tmpfs_bytes, covered), *python] if bwrap else python
    return WorkerSpec(level=level, argv=argv, env=env, scratch_root=scratch_root)


_ARGUMENT_CHARACTERS = 64 * 1024


def _pieces(text: str) -> list[str]:
    """`text` (ASCII, as json.dumps writes it) in arguments short enough for Linux."""
    size = _ARGUMENT_CHARACTERS
    return [text[start : start + size] for start in range(0, len(text), size)] or [""]


def config_of(spec: WorkerSpec) -> Message:
    """The configuration a fork server started from `spec` reads."""
    arguments = spec.argv[spec.argv.index(BOOTSTRAP) + 1 :]
    config: Message = json.loads("".join(arguments))
    return config


def hidden_in_sandbox(layout: FileLayout, hidden: Sequence[str]) -> list[str]:
    """Where, inside a sandbox with `layout`, the `hidden` host paths are to be covered.

    Each path under both its own name and its real one (a sandbox may show a directory at both,
    bound back separately), keeping only names a sandbox shows as they are on the host: not
    under a private root or the home directory unless inside a path bound back, and through no
    symbolic link but above such a bound path (bound back, it is a plain directory). Paths that
    do not exist, that are inside another, or that would cover what the worker itself needs
    (the interpreter, this package, its code) are left out. Sorted."""
    bound = [path for paths in layout.binds.values() for path in paths]
    needed = {os.path.abspath(sys.prefix), os.path.realpath(sys.base_prefix), str(_PACKAGE_DIR)}
    needed |= {os.path.dirname(os.path.realpath(sys.executable))}
    needed |= {os.path.realpath(path) for path in needed}
    worker_code = str(_PACKAGE_DIR / "execution")
    covered: set[str] = set()
    for path in hidden:
        if not os.path.exists(path):
            continue
        real = os.path.realpath(path)
        for name in {os.path.abspath(path), real}:
            if any(_within(need, name) for need in needed) or _within(name, worker_code):
                continue  # the worker could not start
            under_root = [root for root in layout.binds if _within(name, root)]
            holders = [holder for holder in bound if _within(name, holder)]
            if under_root and not holders:
                continue  # covered with the private root or the home directory already
            if name != real and not any(
                os.path.join(os.path.realpath(holder), os.path.relpath(name, holder)) == real
                for holder in holders
            ):
                continue  # a symbolic link a sandbox shows too: covering `real` covers it
            covered.add(name)
    return sorted(path for path in covered if not _inside_another(path, covered))


def _inside_another(path: str, paths: set[str]) -> bool:
    parent, child = os.path.dirname(path), path
    while parent != child:
        if parent in paths:
            return True
        parent, child = os.path.dirname(parent), parent
    return False


def _within(path: str, directory: str) -> bool:
    """Whether `path` is `directory` or inside it."""
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def _bwrap_arguments(layout: FileLayout, tmpfs_bytes: int, hidden: Sequence[str]) -> list[str]:
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
    # after the paths bound back, which would otherwise cover what hides inside them
    for path in hidden:
        if os.path.isdir(path):
            arguments += ["--tmpfs", path, "--remount-ro", path]
        else:
            arguments += ["--ro-bind", os.devnull, path]
    if os.geteuid() == 0:
        # as root, bubblewrap keeps capabilities unless told not to
        arguments += ["--cap-drop", "ALL"]
    arguments += ["--chdir", "/tmp", "--clearenv"]
    for name, value in _SERVER_ENV.items():
        arguments += ["--setenv", name, value]
    return [*arguments, "--"]


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
