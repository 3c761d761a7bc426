"""The fast first candidate ("direct"): asked for at once, beside the tree, tested first."""

from __future__ import annotations

from pathlib import Path

from plansearch.events import CandidateTested
from plansearch.problem import Example, Problem
from plansearch.strategies import prompts
from plansearch.workbench import Target
from tests.search_helpers import settings_for, workbench
from tests.support.fake_llm import FakeCall, FakeLLMServer
from tests.support.plansearch_script import PlanSearchScript

PROBLEM = Problem(
    statement="Return the sum of a and b.",
    entry_point="add",
    signature="def add(a: int, b: int) -> int:",
    examples=(Example(call="add(1, 2)", expected="3", kind="equality", line=3),),
)
IDEA = "Add the two numbers with the plus operator."


def code_for(call: FakeCall) -> str:
    at_once = call.messages[-1][1].startswith(prompts.CODE_AT_ONCE.split("{")[0])
    preface = f"{IDEA}\n\n" if at_once else "Here is the code.\n\n"
    return f"{preface}```python\ndef add(a, b):\n    return a + b\n```"


async def test_the_direct_candidate_is_tested_first_and_counts_in_the_budget(
    tmp_path: Path,
) -> None:
    script = PlanSearchScript("add", first=2, derived=1, code_for=code_for)
    with FakeLLMServer(script, latency=0.05) as server:
        without = settings_for(server, tmp_path, depth=1, test_timeout=5)
        async with workbench(without) as bench:
            tree = await (await bench.search(Target(PROBLEM))).run()
        with_direct = without.model_copy(update={"direct": True, "cache": False})
        async with workbench(with_direct) as bench:
            search = await bench.search(Target(PROBLEM))
            events = [event async for event in search.events()]
    result = search.result
    assert result is not None and "direct" not in {c.id for c in tree.candidates}
    direct = next(c for c in result.candidates if c.id == "direct")
    assert direct.strategy == "direct" and direct.plan.headline() == IDEA
    assert result.stats.calls == tree.stats.calls + 1
    assert len(result.candidates) == len(tree.candidates) + 1
    first_tested = next(e for e in events if isinstance(e, CandidateTested))
    assert first_tested.candidate_id == "direct"
    assert first_tested.ranked.passes_all


async def test_a_direct_reply_without_code_drops_only_its_own_branch(tmp_path: Path) -> None:
    def no_code_at_once(call: FakeCall) -> str:
        if call.messages[-1][1].startswith(prompts.CODE_AT_ONCE.split("{")[0]):
            return "I would add them."
        return code_for(call)

    script = PlanSearchScript("add", first=2, derived=1, code_for=no_code_at_once)
    with FakeLLMServer(script) as server:
        settings = settings_for(server, tmp_path, depth=1, direct=True)
        async with workbench(settings) as bench:
            result = await (await bench.search(Target(PROBLEM))).run()
    assert "direct" not in {c.id for c in result.candidates}
    assert result.candidates and result.stats.parse_failures == 1
