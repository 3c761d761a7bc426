"""IdeaSearch: a natural-language sketch first, then code from it."""

from __future__ import annotations

import asyncio

from plansearch.budget import samples
from plansearch.context import BranchFailed, BudgetExhausted, SearchContext, Stage
from plansearch.models.base import Message
from plansearch.result import Plan
from plansearch.strategies import prompts
from plansearch.strategies.base import StrategyBase


class IdeaSearch(StrategyBase):
    """Two calls per program: an idea in words, then code that follows it."""

    name = "ideasearch"

    async def run(self, ctx: SearchContext) -> None:
        async with asyncio.TaskGroup() as group:
            for index in range(samples(self.settings)):
                group.create_task(self._one(ctx, index))

    async def _one(self, ctx: SearchContext, index: int) -> None:
        message = Message(role="user", content=prompts.SKETCH_NO_OBSERVATIONS)
        try:
            answer = await self.ask(ctx, Stage.SKETCH, [message], after=0, sample=index)
        except (BranchFailed, BudgetExhausted):
            return
        if not answer.text.strip():
            ctx.drop_branch(Stage.SKETCH, "empty sketch reply", parse_failure=True)
            return
        sketch = answer.text.strip()
        await self.write_code(ctx, plan=Plan(sketch=sketch), sketch=sketch,
                              after=answer.depth, usage=answer.usage, position=(index,),
                              sample=index)
