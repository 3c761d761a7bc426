"""Keep what this process holds (an API key above all) out of reach of other processes."""

from __future__ import annotations

import sys

_PR_SET_DUMPABLE = 4
_PR_GET_DUMPABLE = 3


def hide_process_memory() -> bool:
    """Make this process non-dumpable, as ssh-agent does. Other processes of the same user,
    such as candidate code run without a sandbox (isolation level `rlimits`), can then read
    neither its memory nor its ``/proc/<pid>/environ``, where a key given in the environment
    stays however `os.environ` changes; nor attach a debugger to it (root still can). Returns
    whether it was done: Linux only, and never an error."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def process_memory_hidden() -> bool:
    """Whether `hide_process_memory` is in effect for this process."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        return bool(ctypes.CDLL(None).prctl(_PR_GET_DUMPABLE, 0, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False
