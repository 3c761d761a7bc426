"""The executor's internal messages (plansearch.execution.messages): the schemas agree with the
models they copy and with what the fork server and its children really send."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, get_args

import pytest

from plansearch.execution import harness, messages
from plansearch.execution.executor import Executor
from plansearch.execution.limits import Limits
from plansearch.execution.protocol import encode
from plansearch.execution.worker import Worker
from plansearch.types import Program, TestCase, TestStatus


def fits(message: Mapping[str, object], schema: Any) -> None:
    """`message` has every key `schema` requires and no key it does not name."""
    required: frozenset[str] = schema.__required_keys__
    allowed = required | schema.__optional_keys__
    assert required <= message.keys() <= allowed, (schema.__name__, sorted(message))


def test_the_fork_servers_statuses_are_test_statuses() -> None:
    """The fork server cannot import `TestStatus` (it needs pydantic): its copy must agree."""
    for status in messages.ServerStatus:
        assert TestStatus(status.value).name == status.name
        assert encode({"status": status}) == encode({"status": status.value})  # on the wire


@pytest.mark.parametrize(
    ("schema", "model"),
    [(messages.WireLimits, Limits), (messages.WireProgram, Program)],
)
def test_the_wire_copies_of_models_have_their_fields(schema: Any, model: Any) -> None:
    assert list(schema.__annotations__) == list(model.model_fields)


def test_the_begin_frame_written_from_a_template_fits_its_schema() -> None:
    fits(json.loads(harness._BEGIN % (3, 1.25)), messages.Begun)


async def test_the_fork_server_and_its_children_send_what_the_schemas_say(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    received: list[dict[str, Any]] = []
    deliver = Worker._deliver

    def recording(worker: Worker, message: dict[str, Any]) -> None:
        received.append(message)
        deliver(worker, message)

    monkeypatch.setattr(Worker, "_deliver", recording)
    program = Program(source="def f(x):\n    return x + 1\n", entry_point="f")
    broken = Program(source="raise ValueError('no')\n", entry_point="f")
    exiting = Program(source="import sys\nsys.exit(2)\n", entry_point="f")

    def doc(test_id: str, call: str, expected: str | None, **extra: Any) -> TestCase:
        return TestCase(
            id=test_id, kind="docstring", source="docstring", call=call, expected=expected, **extra
        )

    def code(test_id: str, source: str) -> TestCase:
        return TestCase(id=test_id, kind="assert", source="humaneval", code=source)

    tests = [
        doc("value", "f(1)", "2"),
        doc("doctest", "f(1)", "2\n", doctest_output=True),
        doc("compare", "f(1)", "int('2')"),
        doc("raised", "f(None)", "1"),
        doc("died", "__import__('os')._exit(3)", None),
        code("probe", "assert f(1) == 2\n"),
        code("code", "for n in (1, 2):\n    assert f(n) == n + 1\n"),
        TestCase(id="stdio", kind="stdio", source="statement", stdin="", expected_stdout=""),
    ]

    async with Executor(workers=1, limits=Limits(test_timeout=2.0)) as executor:
        await executor.run(program, tests)
        await executor.run(broken, tests[:2])
        await executor.run(exiting, tests[:1])
    ready, *results = received
    fits(ready, messages.Ready)
    assert [result["t"] for result in results] == ["result"] * 3
    reports: list[dict[str, Any]] = []
    for result in results:
        fits(result, messages.RunResult)
        for outcome in result["outcomes"]:
            fits(outcome, messages.Outcome)
            if "status" in outcome:
                assert outcome["status"] in set(messages.ServerStatus)
            else:
                reports.append(outcome["r"])
    assert len(reports) == len(tests) - 1 + 2 + 1  # all but the test whose child died
    for report in reports:
        fits(report, messages.Report)
        assert report["k"] in get_args(messages.ReportKind)
        if "e" in report:
            fits(report["e"], messages.ExceptionReport)
    kinds = {report["k"] for report in reports}
    assert kinds == {"value", "compared", "raised", "done", "output", "exit"}
