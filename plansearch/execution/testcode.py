"""Trusted test code, compiled once on the executor's side and shipped with each request.

The executor compiles the code of each trusted test (asserts made informative, see `asserts`)
and sends the code object beside its source, in its marshalled request. A fork server only
loads it: compiling there would write to many of its pages after every fork, and each such
page costs a fault. Model-written (untrusted) test code is never compiled outside the sandbox;
the child compiles it. Runs on both sides of the sandbox, so it uses the standard library only.
"""

from __future__ import annotations

from types import CodeType

from plansearch.execution.asserts import compile_test
from plansearch.execution.protocol import Message

CODE_KINDS = ("assert", "file", "pytest")
_CACHED = 256


def test_filename(test: Message) -> str:
    """The file name tracebacks give for a test's code."""
    source = str(test.get("source") or "")
    return source if source.endswith(".py") else f"<test {test['id']}>"


class Compiler:
    """Compiles trusted test code, remembering what it compiled last (one per executor, so
    that nothing compiled for one executor is reused by another)."""

    def __init__(self, limit: int = _CACHED) -> None:
        self._codes: dict[tuple[str, str], CodeType | None] = {}
        self._limit = limit

    def with_compiled(self, test: Message) -> Message:
        """`test` with its code object under "compiled", if it is trusted test code that
        compiles (otherwise unchanged: the child compiles it and reports why not)."""
        if test["kind"] not in CODE_KINDS or not test.get("trusted", True) or not test["code"]:
            return test
        key = (test["code"], test_filename(test))
        if key not in self._codes:
            if len(self._codes) >= self._limit:
                self._codes.clear()
            self._codes[key] = _compiled(*key)
        code = self._codes[key]
        return test if code is None else {**test, "compiled": code}


def _compiled(source: str, filename: str) -> CodeType | None:
    try:
        return compile_test(source, filename)
    except Exception:  # a syntax error, or code too deep to compile
        return None
