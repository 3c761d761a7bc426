"""What strategies share: the protocol, and the last steps from a plan to a program."""

from __future__ import annotations

from typing import Protocol

from plansearch.config import Settings
from plansearch.context import Answer, BranchFailed, BudgetExhausted, SearchContext, Stage
from plansearch.models.base import Message, Usage
from plansearch.parsing import extract_code
from plansearch.problem import Problem
from plansearch.result import Plan
from plansearch.strategies import prompts


class Strategy(Protocol):
    """A graph of model calls that adds candidates to the context as they are written."""

    name: str

    async def run(self, ctx: SearchContext) -> None:
        """Run until the graph is exhausted; branch failures are handled inside."""
        ...


class StrategyBase:
    """Holds the problem and settings, and knows how to ask and how to finish a branch."""

    name = "base"

    def __init__(self, problem: Problem, settings: Settings) -> None:
        self.problem = problem
        self.settings = settings
        self.system = prompts.system_prompt(problem)

    async def ask(
        self,
        ctx: SearchContext,
        stage: Stage,
        messages: list[Message],
        *,
        after: int,
        sample: int = 0,
        temperature: float | None = None,
    ) -> Answer:
        """Ask the model with this search's system prompt and sampling settings."""
        request = prompts.request(
            self.system,
            messages,
            temperature=self.settings.temperature if temperature is None else temperature,
            top_p=self.settings.top_p,
            max_tokens=self.settings.max_tokens,
        )
        return await ctx.ask(stage, request, after=after, sample=sample)

    async def write_code(
        self,
        ctx: SearchContext,
        *,
        plan: Plan,
        sketch: str | None,
        after: int,
        usage: Usage,
        position: tuple[int, ...],
        sample: int = 0,
    ) -> None:
        """Pseudocode (if enabled and there is a sketch), then code, then a candidate."""
        target = prompts.code_target(self.problem)
        try:
            if sketch is None:
                instruction = prompts.CODE_DIRECT.format(target=target)
                messages = [*prompts.FEW_SHOT, Message(role="user", content=instruction)]
            else:
                pseudocode_part = ""
                if plan.pseudocode is None and self._wants_pseudocode():
                    answer = await self.ask(
                        ctx, Stage.PSEUDOCODE,
                        [Message(role="user", content=prompts.PSEUDOCODE.format(sketch=sketch))],
                        after=after, sample=sample,
                    )
                    usage = usage + answer.usage
                    after = answer.depth
                    if not answer.text.strip():
                        ctx.drop_branch(Stage.PSEUDOCODE, "empty pseudocode reply",
                                        parse_failure=True)
                        return
                    plan = plan.model_copy(update={"pseudocode": answer.text.strip()})
                if plan.pseudocode:
                    pseudocode_part = prompts.PSEUDOCODE_PART.format(pseudocode=plan.pseudocode)
                instruction = prompts.CODE_FROM_PLAN.format(
                    sketch=sketch, pseudocode_part=pseudocode_part, target=target
                )
                messages = [*prompts.FEW_SHOT, Message(role="user", content=instruction)]
            answer = await self.ask(ctx, Stage.CODE, messages, after=after, sample=sample)
        except (BranchFailed, BudgetExhausted):
            return
        code = extract_code(answer.text, self.problem.entry_point)
        if code is None:
            what = self.problem.entry_point or "a program"
            reason = "reply cut off by max_tokens" if answer.truncated else "no usable code"
            ctx.drop_branch(Stage.CODE, f"{reason} (expected {what})", parse_failure=True)
            return
        ctx.add_candidate(code, plan, usage + answer.usage, truncated=answer.truncated,
                          position=position)

    def _wants_pseudocode(self) -> bool:
        return False
