"""Running candidates against tests, isolated and in parallel."""

from plansearch.execution.executor import Executor, ExecutorError
from plansearch.execution.limits import Limits
from plansearch.execution.model import (
    CandidateRun,
    Program,
    TestCase,
    TestKind,
    TestOutcome,
    TestStatus,
)
from plansearch.execution.sandbox import (
    IsolationLevel,
    IsolationReport,
    IsolationRequest,
    SandboxUnavailable,
    detect_isolation,
)

__all__ = [
    "CandidateRun",
    "Executor",
    "ExecutorError",
    "IsolationLevel",
    "IsolationReport",
    "IsolationRequest",
    "Limits",
    "Program",
    "SandboxUnavailable",
    "TestCase",
    "TestKind",
    "TestOutcome",
    "TestStatus",
    "detect_isolation",
]
