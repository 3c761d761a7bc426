"""Keep what this process holds (an API key above all) out of reach of other processes.

Standard library only, with its own prctl call: `plansearch.execution.linux` has one too, but
importing that package would slow down every command's start."""

from __future__ import annotations

import sys

_PR_GET_DUMPABLE = 3
_PR_SET_DUMPABLE = 4


def hide_process_memory() -> bool:
    """Make this process non-dumpable, as ssh-agent does. Other processes of the same user,
    such as candidate code run without a sandbox (isolation level `rlimits`), can then read
    neither its memory nor its ``/proc/<pid>/environ``, where a key given in the environment
    stays however `os.environ` changes; nor attach a debugger to it (root still can). Returns
    whether it was done: Linux only, and never an error."""
    return _prctl(_PR_SET_DUMPABLE, 0) == 0


def process_memory_hidden() -> bool:
    """Whether `hide_process_memory` is in effect for this process."""
    return _prctl(_PR_GET_DUMPABLE, 0) == 0


def _prctl(option: int, arg: int) -> int | None:
    """prctl(2)'s result, or None where it cannot be called."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        return int(ctypes.CDLL(None).prctl(option, arg, 0, 0, 0))
    except (OSError, AttributeError):
        return None
