"""A responder for the fake server that plays a model through the PlanSearch prompts.

It recognises which stage a request is from the instruction it ends with, and answers in
the shape that stage expects. Observation counts are scripted, so the shape of the search
graph is known in advance; code is whatever `code_for` returns.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from plansearch.strategies import prompts
from tests.support.fake_llm import FakeCall, FakeReply


def _starts(template: str) -> str:
    return template.split("{")[0][:60]


def stage_of(call: FakeCall) -> str:
    """The PlanSearch stage a request belongs to."""
    last = call.messages[-1][1]
    first = call.messages[0][1]
    if last.startswith(_starts(prompts.AS_PYTHON_LIST)):
        return "format"
    if last.startswith(_starts(prompts.FILTER_USEFUL)):
        return "filter"
    if last.startswith(_starts(prompts.LIST_ONLY)):
        return "list"
    if last.startswith(_starts(prompts.FIX)):
        return "fix"
    if last.startswith(_starts(prompts.OBSERVATIONS_FIRST)):
        return "brainstorm"
    if last.startswith(_starts(prompts.OBSERVATIONS_DERIVED)):
        return "brainstorm-derived"
    if last.startswith(_starts(prompts.CRITIQUE)):
        return "critique"
    if "test cases for this function" in last:
        return "tests"
    if last.startswith(_starts(prompts.PSEUDOCODE)):
        return "pseudocode"
    if "```python" in last and ("Write Python code" in last or "Solve the problem" in last):
        return "code"
    if last.startswith(_starts(prompts.SKETCH)) or last.startswith(
        _starts(prompts.SKETCH_NO_OBSERVATIONS)
    ):
        return "sketch"
    raise AssertionError(f"unrecognised prompt: {first[:80]!r} ... {last[:80]!r}")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _conversation(call: FakeCall) -> str:
    return "\n".join(f"{role}: {text}" for role, text in call.messages)


def default_code(entry_point: str) -> Callable[[FakeCall], str]:
    """Code that defines `entry_point` and returns a value tied to the prompt."""

    def code_for(call: FakeCall) -> str:
        tag = _digest(_conversation(call))
        return (f"Here is the code.\n\n```python\ndef {entry_point}(*args):\n"
                f"    return {tag!r}\n```\n")

    return code_for


@dataclass
class PlanSearchScript:
    """Callable responder with `first` first-order and `derived` new observations per node."""

    entry_point: str
    first: int = 3
    derived: int = 2
    code_for: Callable[[FakeCall], str] | None = None
    tests_reply: str = "```python\nassert f(1) == 1\n```"

    def __call__(self, call: FakeCall) -> str | FakeReply:
        stage = stage_of(call)
        conversation_start = call.messages[0][1]
        if stage == "format":
            derived = conversation_start.startswith(_starts(prompts.OBSERVATIONS_DERIVED))
            count = self.derived if derived else self.first
            tag = _digest(conversation_start)
            items = [f"observation {i} of node {tag}" for i in range(1, count + 1)]
            return "```python\n" + repr(items) + "\n```"
        if stage == "tests":
            return self.tests_reply
        if stage == "code":
            make = self.code_for or default_code(self.entry_point)
            return make(call)
        return f"{stage} reply {_digest(_conversation(call))}: think carefully."
