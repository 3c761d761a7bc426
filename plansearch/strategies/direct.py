"""The fast first candidate: one program asked for at once, beside the search's tree.

A PlanSearch tree writes its first program after four dependent calls (observations, sketch,
criticism, code). This call starts with them, so a tested candidate is there after one call's
time. It is a candidate like the others (its call counts in the budget), called "direct",
with the one sentence the model gives about its idea as its plan.
"""

from __future__ import annotations

from plansearch.context import BranchFailed, BudgetExhausted, SearchContext, Stage
from plansearch.models.base import Message
from plansearch.parsing import extract_code
from plansearch.result import Plan
from plansearch.strategies import prompts
from plansearch.strategies.base import StrategyBase

CANDIDATE_ID = "direct"


class DirectCandidate(StrategyBase):
    """Asks once for a program straight from the problem, with its idea in one sentence."""

    name = "direct"

    async def run(self, ctx: SearchContext) -> None:
        target = prompts.code_target(self.problem)
        instruction = prompts.CODE_AT_ONCE.format(target=target)
        messages = [*prompts.FEW_SHOT, Message(role="user", content=instruction)]
        try:
            answer = await self.ask(ctx, Stage.CODE, messages, after=0)
        except (BranchFailed, BudgetExhausted):
            return
        code = extract_code(answer.text, self.problem.entry_point)
        if code is None:
            ctx.drop_branch(Stage.CODE, "no usable code in the direct reply", parse_failure=True)
            return
        plan = Plan(sketch=idea_of(answer.text))
        ctx.add_candidate(code, plan, answer.usage, truncated=answer.truncated, position=(),
                          candidate_id=CANDIDATE_ID, strategy=self.name)


def idea_of(reply: str) -> str | None:
    """The sentence before the code: the idea the program follows (None if there is none)."""
    before = reply.split("```", 1)[0].strip()
    lines = [line.strip() for line in before.splitlines() if line.strip()]
    return lines[-1] if lines else None
