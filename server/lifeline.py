"""Notice an editor that went away without a word: its process ended (the `processId` of
`initialize`), or its TCP connection went silent (keepalive probes)."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable

KEEPALIVE_IDLE = 30
"""Seconds a TCP connection may be silent before the first keepalive probe."""
KEEPALIVE_INTERVAL = 10
KEEPALIVE_PROBES = 3
"""Unanswered probes after which the connection counts as broken (about a minute in all)."""


def process_alive(pid: int) -> bool:
    """Whether process `pid` exists and has not ended (a zombie has ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's: it exists
        pass
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] != b"Z"
    except (OSError, IndexError):
        return True  # no /proc: existing is all we can tell


async def watch_process(pid: int, gone: Callable[[str], None], interval: float = 1.0) -> None:
    """Call `gone` once process `pid` has ended (looked at every `interval` seconds)."""
    while process_alive(pid):
        await asyncio.sleep(interval)
    gone(f"the editor's process {pid} ended")


def keep_alive(sock: socket.socket) -> None:
    """Have the kernel probe a silent TCP connection, so that a peer that vanished (a
    machine that went to sleep, a cable pulled) ends the connection in about a minute."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (("TCP_KEEPIDLE", KEEPALIVE_IDLE), ("TCP_KEEPINTVL", KEEPALIVE_INTERVAL),
                        ("TCP_KEEPCNT", KEEPALIVE_PROBES)):
        option = getattr(socket, name, None)
        if option is not None:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)
