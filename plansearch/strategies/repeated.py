"""Repeated sampling: one call per program, the baseline."""

from __future__ import annotations

import asyncio

from plansearch.budget import samples
from plansearch.context import SearchContext
from plansearch.models.base import Usage
from plansearch.result import Plan
from plansearch.strategies.base import StrategyBase


class RepeatedSampling(StrategyBase):
    """Sample `n` programs straight from the problem (few-shot prompt, starter code)."""

    name = "repeated"

    async def run(self, ctx: SearchContext) -> None:
        count = samples(self.settings)
        async with asyncio.TaskGroup() as group:
            for index in range(count):
                group.create_task(self.write_code(
                    ctx, plan=Plan(), sketch=None, after=0, usage=Usage(), position=(index,),
                    sample=index,
                ))
