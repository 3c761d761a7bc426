"""Why candidates cannot run: errors a front end can catch without loading the sandbox."""

from __future__ import annotations


class ExecutorError(RuntimeError):
    """The executor cannot run candidates (not started, closed, or no worker can start)."""


class SandboxUnavailable(RuntimeError):
    """The isolation level asked for cannot be set up on this machine."""
