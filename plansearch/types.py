"""The shared vocabulary: programs, tests, their outcomes and what a candidate did.

Used by every part of the engine; `execution` runs programs against tests, `ranking` orders
them, the front ends show them. Nothing here imports the sandbox.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

TestKind = Literal["docstring", "assert", "pytest", "file", "stdio", "generated"]


class Program(BaseModel):
    """Code to run: a whole module's source, importable under `module_name`."""

    model_config = ConfigDict(frozen=True)

    source: str
    entry_point: str | None = Field(None, description="Function under test; None for a program.")
    module_name: str = Field(
        "candidate", description="Name the source is importable as (tests may import it)."
    )


class TestCase(BaseModel):
    """One test. Exactly one of the bodies applies, by kind.

    - docstring / generated: `call` is an expression, `expected` an expression (or, for a
      doctest, printed text with `doctest_output=True`); generated tests may have no expected
      value and then only record the actual output.
    - assert / file / pytest: `code` is Python source run after the program is imported;
      for pytest, `function` names the test function to call in that source.
    - stdio: `stdin` is fed to the program and `expected_stdout` compared tolerantly.
    """

    model_config = ConfigDict(frozen=True)
    __test__ = False  # not a pytest class

    id: str
    kind: TestKind
    source: str = Field(description="Where it came from, for a person: 'docstring', 'tests/x.py'.")
    trusted: bool = Field(True, description="False for model-written tests.")
    call: str | None = None
    expected: str | None = None
    doctest_output: bool = False
    code: str | None = None
    function: str | None = None
    stdin: str | None = None
    expected_stdout: str | None = None
    line: int | None = None


class TestStatus(StrEnum):
    """How one test ended."""

    __test__ = False

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    TIMEOUT = "timeout"
    MEMORY = "memory"
    SIGNAL = "signal"
    EXECUTOR_ERROR = "executor_error"


Judged = Literal["outside", "in_process"]
"""Where a verdict was decided: by plansearch from the value the candidate's process sent
back (`outside`: the candidate cannot forge a pass), or by test code that ran inside the
candidate's own process (`in_process`: a candidate that tampers with it can)."""


class TestOutcome(BaseModel):
    """The result of one test on one program."""

    __test__ = False

    test_id: str
    status: TestStatus
    message: str = Field("", description="Assertion, diff, or error type and message.")
    traceback: str | None = None
    actual: str | None = Field(None, description="repr of the value or output produced, capped.")
    expected: str | None = Field(
        None, description="What the test expected, as shown to a person (failures only)."
    )
    judged: Judged = "outside"
    duration_ms: float = 0.0


SideEffectKind = Literal["file", "process", "network", "secret", "environment", "signal"]


class SideEffect(BaseModel):
    """Something a candidate did besides returning a value."""

    model_config = ConfigDict(frozen=True)

    kind: SideEffectKind
    detail: str = Field(description="For a person: 'writes ~/leak.txt', 'opens a socket'.")
    seen: Literal["outside", "reported", "code"] = Field(
        description="`outside`: observed by the sandbox, the candidate cannot hide it; "
        "`reported`: seen from inside the candidate's process, which could hide it; "
        "`code`: found by reading the candidate's source, whether or not it ran."
    )


class CandidateRun(BaseModel):
    """All outcomes of one program, in test order, and what else it did."""

    outcomes: list[TestOutcome]
    wall_ms: float = 0.0
    stdout_truncated: bool = False
    side_effects: list[SideEffect] = Field(default_factory=list)
    special_casing: list[str] = Field(
        default_factory=list,
        description="Why the code may special-case the tests (its source holds visible "
        "expected outputs keyed on their inputs, or reads its docstring, source or callers).",
    )
