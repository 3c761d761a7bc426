"""Trusted test code compiled on the executor's side (plansearch.execution.testcode)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from plansearch.execution import harness, testcode
from plansearch.execution.asserts import HELPER, check_compare, compile_test
from plansearch.execution.protocol import FrameDecoder, Message, decode_trusted, encode_trusted

CHECK = "def check(candidate):\n    assert candidate(2) == 5, 'two'\ncheck(f)\n"


def assert_test(code: str | None = CHECK, test_id: str = "t", **extra: Any) -> Message:
    return {"id": test_id, "kind": "assert", "source": "humaneval", "code": code, **extra}


def run_compiled(test: Message) -> str:
    """Run a compiled test against f(x) = 2x; the AssertionError's message."""
    namespace: dict[str, Any] = {"f": lambda x: 2 * x, HELPER: check_compare}
    with pytest.raises(AssertionError) as failure:
        exec(test["compiled"], namespace)
    return str(failure.value)


def test_trusted_code_is_shipped_compiled_with_informative_asserts() -> None:
    test = testcode.Compiler().with_compiled(assert_test())
    message = run_compiled(test).splitlines()
    assert message == ["two", "assert candidate(2) == 5", "expected 5, got 4"]
    assert test["code"] == CHECK  # the source still travels, for tracebacks


@pytest.mark.parametrize(
    "test",
    [
        assert_test(trusted=False),  # model-written: compiled only inside the sandbox
        assert_test(code="def broken(:\n"),  # the child compiles it and reports the error
        assert_test(code=None),
        {"id": "d", "kind": "docstring", "source": "docstring", "call": "f(1)", "expected": "2"},
    ],
    ids=["untrusted", "syntax-error", "no-code", "docstring"],
)
def test_other_tests_are_left_as_they_are(test: Message) -> None:
    assert testcode.Compiler().with_compiled(test) == test


def test_each_compiler_compiles_each_code_once(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str] = []
    def counting(source: str, filename: str) -> Any:
        compiled.append(source)
        return compile_test(source, filename)

    monkeypatch.setattr(testcode, "compile_test", counting)
    first = testcode.Compiler()
    for _ in range(3):
        first.with_compiled(assert_test())
    assert len(compiled) == 1
    testcode.Compiler().with_compiled(assert_test())  # another executor's compiler
    assert len(compiled) == 2


def test_the_cache_is_bounded() -> None:
    compiler = testcode.Compiler(limit=2)
    for index in range(5):
        compiler.with_compiled(assert_test(code=f"assert f({index}) == {index}\n"))
    assert len(compiler._codes) <= 2


def test_the_code_travels_in_the_marshalled_request() -> None:
    test = testcode.Compiler().with_compiled(assert_test())
    request = {"t": "run", "id": 1, "tests": [test]}
    (received,) = FrameDecoder(decode=decode_trusted).feed(encode_trusted(request))
    assert run_compiled(received["tests"][0]).splitlines()[-1] == "expected 5, got 4"


def test_the_child_compiles_anew_what_is_not_code(tmp_path: Path) -> None:
    """Only a code object is run as it came; anything else under "compiled" is ignored."""
    test = assert_test(code="assert f(3) == 7\n", test_id="not-code", compiled="assert True")
    request = {"program": {}, "tests": [test], "limits": {}}
    setup = harness.ChildSetup(str(tmp_path), -1, 0, False, (), "", None, False)
    runner = harness._Runner(request, setup, harness._Reporter(-1))
    namespace: dict[str, Any] = {"f": lambda x: 2 * x, HELPER: check_compare}
    with pytest.raises(AssertionError, match="expected 7, got 6"):
        exec(runner._compile_test(test), namespace)
