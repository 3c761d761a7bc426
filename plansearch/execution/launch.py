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
# plansearch/__init__.py (the worker needs nothing but the standard library).
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
) -> WorkerSpec:
    """The command, environment and scratch directory for one fork server at `level`; `core`
    is the CPU it and its candidates keep to (None: any)."""
    layout = file_layout([*paths, *_python_paths(), str(_PACKAGE_DIR)])
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
        "filesystem": {"home": layout.home, "binds": layout.binds, "tmpfs_bytes": tmpfs_bytes},
    }
    python = [sys.executable, "-I", "-S", "-c", BOOTSTRAP, json.dumps(config)]
    env = {**candidate_env(), **_SERVER_ENV, "HOME": "/tmp"}
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
