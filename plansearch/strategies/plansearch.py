"""PlanSearch: search over observations, then sketches, then code (arXiv 2409.03733).

The tree, as the paper's own code builds it:

1. The root asks for first-order observations (brainstorm, then list only, keep the most
   useful, return a Python list; the last step re-asked at temperature 0, 0.2, 0.4).
2. Every subset of those observations of size 0..S becomes a child, in a seeded shuffle.
3. Each child below depth L derives new observations from its subset; its own children are
   subsets of only the new ones.
4. Every node, de-duplicated by its set of observations, gets a sketch; with critique on, a
   coach criticises it and a follow-up fixes it, so each node yields two sketches.
5. Each sketch becomes pseudocode (optional), then code.

Every call starts as soon as its inputs exist: sketches of the root are written while the
first-order observations are still being listed.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from itertools import combinations

from plansearch.budget import TreeShape, tree_shape
from plansearch.config import Settings
from plansearch.context import BranchFailed, BudgetExhausted, SearchContext, Stage
from plansearch.models.base import Message, Usage
from plansearch.parsing import parse_observation_list
from plansearch.problem import Problem
from plansearch.result import Plan
from plansearch.strategies import prompts
from plansearch.strategies.base import StrategyBase

PARSE_TEMPERATURES = (0.0, 0.2, 0.4)


@dataclass(frozen=True)
class Node:
    """A set of observations to write solutions from, and how the search got there."""

    observations: tuple[str, ...]
    path: tuple[tuple[str, ...], ...]
    layer: int
    depth: int
    """Graph depth of the call that produced these observations (0 for the root)."""
    usage: Usage
    """Tokens spent on the way to this node."""
    position: tuple[int, ...]
    """Index of this node among its parent's shuffled children, for each layer."""


class PlanSearch(StrategyBase):
    """The paper's tree of observations, with sketch/critique/fix doubling."""

    name = "plansearch"

    def __init__(self, problem: Problem, settings: Settings) -> None:
        super().__init__(problem, settings)
        self.shape: TreeShape = tree_shape(settings)
        self._seen: set[frozenset[str]] = set()
        self._group: asyncio.TaskGroup | None = None

    async def run(self, ctx: SearchContext) -> None:
        root = Node(observations=(), path=(), layer=0, depth=0, usage=Usage(), position=())
        async with asyncio.TaskGroup() as group:
            self._group = group
            self._spawn_solutions(ctx, root)
            group.create_task(self._expand(ctx, root))

    def _wants_pseudocode(self) -> bool:
        return self.shape.pseudocode

    # ---------------------------------------------------------------- the tree

    def _spawn(self, coroutine: object) -> None:
        assert self._group is not None
        self._group.create_task(coroutine)  # type: ignore[arg-type]

    async def _expand(self, ctx: SearchContext, node: Node) -> None:
        """Derive observations at `node` and spawn its children."""
        found = await self._observe(ctx, node)
        if found is None:
            return
        observations, depth, usage = found
        layer = node.layer + 1
        subsets = [
            subset
            for size in range(self.shape.subset_size + 1)
            for subset in combinations(observations, size)
        ]
        random.Random(f"{self.settings.seed}:{node.path!r}").shuffle(subsets)
        for index, subset in enumerate(subsets):
            child = Node(observations=subset, path=(*node.path, subset), layer=layer,
                         depth=depth, usage=node.usage + usage,
                         position=(*node.position, index))
            self._spawn_solutions(ctx, child)
            if layer < self.shape.depth:
                self._spawn(self._expand(ctx, child))

    def _spawn_solutions(self, ctx: SearchContext, node: Node) -> None:
        key = frozenset(node.observations)
        if key in self._seen:
            return
        self._seen.add(key)
        ctx.add_node()
        self._spawn(self._solve(ctx, node))

    # ----------------------------------------------------------- observations

    async def _observe(
        self, ctx: SearchContext, node: Node
    ) -> tuple[list[str], int, Usage] | None:
        """Brainstorm, list, filter, then parse observations; None drops the branch."""
        count = self.shape.observations
        if node.layer == 0:
            first = prompts.OBSERVATIONS_FIRST.format(count=count)
        else:
            first = prompts.OBSERVATIONS_DERIVED.format(
                count=count, observations=prompts.bullet_list(node.observations))
        conversation = [Message(role="user", content=first)]
        usage = Usage()
        depth = node.depth
        try:
            for follow_up in (prompts.LIST_ONLY, prompts.FILTER_USEFUL):
                answer = await self.ask(ctx, Stage.OBSERVATIONS, conversation, after=depth)
                if not answer.text.strip():
                    ctx.drop_branch(Stage.OBSERVATIONS, "empty observations reply",
                                    parse_failure=True)
                    return None
                usage, depth = usage + answer.usage, answer.depth
                conversation += [Message(role="assistant", content=answer.text),
                                 Message(role="user", content=follow_up)]
            answer = await self.ask(ctx, Stage.OBSERVATIONS, conversation, after=depth)
            usage, depth = usage + answer.usage, answer.depth
            conversation += [Message(role="assistant", content=answer.text),
                             Message(role="user", content=prompts.AS_PYTHON_LIST)]
            parsed = None
            for temperature in PARSE_TEMPERATURES:
                reply = await self.ask(ctx, Stage.OBSERVATIONS, conversation, after=depth,
                                       temperature=temperature)
                usage, depth = usage + reply.usage, reply.depth
                parsed = parse_observation_list(reply.text)
                if parsed:
                    break
                ctx.count_parse_failure()
            if not parsed:
                parsed = parse_observation_list(answer.text)
        except (BranchFailed, BudgetExhausted):
            return None
        if not parsed:
            ctx.drop_branch(Stage.OBSERVATIONS, "no observations could be parsed")
            return None
        return parsed[:count], depth, usage

    # -------------------------------------------------------------- solutions

    async def _solve(self, ctx: SearchContext, node: Node) -> None:
        """Sketch; then code from it, and (with critique) criticise, fix, code again."""
        if node.observations:
            instruction = prompts.SKETCH.format(
                observations=prompts.bullet_list(node.observations))
        else:
            instruction = prompts.SKETCH_NO_OBSERVATIONS
        conversation = [Message(role="user", content=instruction)]
        try:
            answer = await self.ask(ctx, Stage.SKETCH, conversation, after=node.depth)
        except (BranchFailed, BudgetExhausted):
            return
        sketch = answer.text.strip()
        if not sketch:
            ctx.drop_branch(Stage.SKETCH, "empty sketch reply", parse_failure=True)
            return
        usage = node.usage + answer.usage
        plan = Plan(observation_path=[list(s) for s in node.path],
                    observations=list(node.observations), sketch=sketch)
        self._spawn(self.write_code(ctx, plan=plan, sketch=sketch, after=answer.depth,
                                    usage=usage, position=(*node.position, 0)))
        if self.shape.critique:
            await self._critique_and_fix(ctx, plan, answer.depth, usage,
                                         position=(*node.position, 1))

    async def _critique_and_fix(
        self, ctx: SearchContext, plan: Plan, after: int, usage: Usage,
        *, position: tuple[int, ...]
    ) -> None:
        assert plan.sketch is not None
        conversation = [Message(role="user",
                                content=prompts.CRITIQUE.format(sketch=plan.sketch))]
        try:
            criticism = await self.ask(ctx, Stage.CRITIQUE, conversation, after=after)
            if not criticism.text.strip():
                ctx.drop_branch(Stage.CRITIQUE, "empty criticism reply", parse_failure=True)
                return
            conversation += [Message(role="assistant", content=criticism.text),
                             Message(role="user", content=prompts.FIX)]
            fix = await self.ask(ctx, Stage.FIX, conversation, after=criticism.depth)
        except (BranchFailed, BudgetExhausted):
            return
        fixed = fix.text.strip()
        if not fixed:
            ctx.drop_branch(Stage.FIX, "empty fix reply", parse_failure=True)
            return
        fixed_plan = plan.model_copy(update={
            "criticism": criticism.text.strip(), "fixed_sketch": fixed})
        await self.write_code(ctx, plan=fixed_plan, sketch=fixed, after=fix.depth,
                              usage=usage + criticism.usage + fix.usage, position=position)
