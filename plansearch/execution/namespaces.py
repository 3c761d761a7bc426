"""A sandbox made directly from Linux namespaces: the level used when bubblewrap is absent.

The worker calls `enter` first thing, while it is still single-threaded. Afterwards it is PID 1
of new user, mount, network, IPC, UTS and PID namespaces: no network, the whole file system
read-only, the home directory hidden except for the paths the executor needs, the user's tests
covered (see `hiding`), a private size-capped /tmp and /dev/shm, and no capabilities left.
Standard library only.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from typing import NoReturn

from plansearch.execution import linux
from plansearch.execution.protocol import Message

_NAMESPACES = (
    linux.CLONE_NEWUSER
    | linux.CLONE_NEWNS
    | linux.CLONE_NEWNET
    | linux.CLONE_NEWIPC
    | linux.CLONE_NEWUTS
    | linux.CLONE_NEWPID
)


def enter(config: Message, parent_fds: Sequence[int]) -> None:
    """Move into the sandbox whose file layout is `config` (home, binds, tmpfs_bytes; see
    `launch.FileLayout`; and hidden, the paths to cover, see `launch.hidden_in_sandbox`).

    The calling process stays outside the new PID namespace and only waits; it closes
    `parent_fds` so that the pipes to the executor belong to the sandboxed process alone.
    Only the sandboxed child, PID 1 of the new namespace, returns.
    """
    uid, gid = os.getuid(), os.getgid()
    linux.unshare(_NAMESPACES)
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"0 {uid} 1")
    _write("/proc/self/gid_map", f"0 {gid} 1")
    child = os.fork()
    if child:
        _wait_and_exit(child, parent_fds)
    linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
    _build_filesystem(
        config["home"], config["binds"], config["tmpfs_bytes"], config.get("hidden", [])
    )
    linux.prctl(linux.PR_SET_NO_NEW_PRIVS, 1)
    linux.drop_all_capabilities()


def _write(path: str, text: str) -> None:
    with open(path, "w") as file:
        file.write(text)


def _wait_and_exit(child: int, parent_fds: Sequence[int]) -> NoReturn:
    for fd in parent_fds:
        os.close(fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _, status = os.waitpid(child, 0)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _build_filesystem(
    home: str | None, binds: dict[str, list[str]], tmpfs_bytes: int, hidden: Sequence[str] = ()
) -> None:
    linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
    # open what must stay visible before covering it; bind it back from the open descriptor
    kept = {
        path: os.open(path, os.O_PATH | os.O_CLOEXEC) for paths in binds.values() for path in paths
    }
    if home is not None:
        linux.mount("tmpfs", home, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, "mode=0755,size=1m")
        _bind_back(binds[home], kept)
    linux.set_mount_attributes_recursive("/", linux.MOUNT_ATTR_RDONLY | linux.MOUNT_ATTR_NOSUID)
    for private in ("/tmp", "/dev/shm"):
        if os.path.isdir(private):
            options = f"mode=1777,size={tmpfs_bytes}"
            linux.mount("tmpfs", private, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, options)
            _bind_back(binds.get(private, []), kept)
            for path in binds.get(private, []):
                linux.set_mount_attributes_recursive(path, linux.MOUNT_ATTR_RDONLY)
    _hide(hidden)  # last: the paths bound back above would cover what it mounts inside them
    # this PID namespace's own /proc, writable so that processes can name themselves
    linux.mount("proc", "/proc", "proc", linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC)
    for fd in kept.values():
        os.close(fd)


def _hide(paths: Sequence[str]) -> None:
    """Cover each of `paths`: a directory with an empty tmpfs, a file with /dev/null; both
    read-only (mounted after `/` was made read-only, they are not already)."""
    flags = linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC
    for path in paths:
        if os.path.isdir(path):
            linux.mount("tmpfs", path, "tmpfs", flags, "mode=0555,size=4k")
        elif os.path.exists(path):
            linux.mount(os.devnull, path, None, linux.MS_BIND)
        else:
            continue  # not shown in this sandbox: nothing to cover
        linux.set_mount_attributes_recursive(
            path, linux.MOUNT_ATTR_RDONLY | linux.MOUNT_ATTR_NOSUID
        )


def _bind_back(paths: Sequence[str], kept: dict[str, int]) -> None:
    for path in paths:
        os.makedirs(path, exist_ok=True)
        linux.mount(f"/proc/self/fd/{kept[path]}", path, None, linux.MS_BIND | linux.MS_REC)
