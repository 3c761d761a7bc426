"""How test code is named on both sides of the sandbox.

Trusted test code is compiled once, on the executor's side (see `judge.Planner`), and sent as
a code object beside its source text, which the child quotes only when it writes a traceback.
Model-written (untrusted) test code is compiled inside the sandbox only. Standard library only.
"""

from __future__ import annotations

from plansearch.execution.messages import Identity


def test_filename(test: Identity) -> str:
    """The file name tracebacks give for a test's code."""
    source = str(test.get("source") or "")
    return source if source.endswith(".py") else f"<test {test['id']}>"
