"""Trusted test code, compiled once on the executor's side and shipped with each request.

The executor compiles the code of each trusted test (asserts made informative, see `asserts`)
and sends the code object marshalled beside its source. A fork server only loads it: compiling
there would write to many of its pages after every fork, and each such page costs a fault.
Model-written (untrusted) test code is never compiled outside the sandbox; the child compiles
it. The fork servers run the executor's own interpreter (see `launch`), so the marshal format is
the same on both sides. Runs on both sides of the sandbox, so it uses the standard library only.
"""

from __future__ import annotations

import binascii
import marshal
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
    """Packs trusted test code, remembering what it packed last (one per executor, so that
    nothing compiled for one executor is reused by another)."""

    def __init__(self, limit: int = _CACHED) -> None:
        self._packed: dict[tuple[str, str], str | None] = {}
        self._limit = limit

    def with_compiled(self, test: Message) -> Message:
        """`test` with its code compiled and packed under "compiled", if it is trusted test
        code that compiles (otherwise unchanged: the child compiles it and reports why not)."""
        if test["kind"] not in CODE_KINDS or not test.get("trusted", True) or not test["code"]:
            return test
        key = (test["code"], test_filename(test))
        if key not in self._packed:
            if len(self._packed) >= self._limit:
                self._packed.clear()
            self._packed[key] = _pack(*key)
        packed = self._packed[key]
        return test if packed is None else {**test, "compiled": packed}


def unpack(packed: str) -> CodeType:
    """The code object `Compiler` packed."""
    code = marshal.loads(binascii.a2b_base64(packed))
    if not isinstance(code, CodeType):
        raise TypeError("packed test code is not a code object")
    return code


def _pack(source: str, filename: str) -> str | None:
    try:
        code = compile_test(source, filename)
    except Exception:  # a syntax error, or code too deep to compile
        return None
    return binascii.b2a_base64(marshal.dumps(code), newline=False).decode("ascii")
