"""The PlanSearch paper's diversity measure: a model judges whether two programs share an idea.

For sampled pairs of one problem's candidates, the model first describes each program's idea
(one call per program, as an editorial would, no code), then is shown both programs with
their descriptions and answers whether they use the same idea (one call per pair). The
measure is the fraction of pairs judged different. Pairs are drawn without replacement with
a seed made of the task and strategy, so a re-run asks for the same pairs and the response
cache answers them. Two programs with the same text are the same idea without asking.
Every call is at temperature 0 and goes through the response cache.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
from collections.abc import Awaitable, Callable, Sequence

from pydantic import BaseModel, Field

from plansearch.models.base import Message, ModelReply, ModelRequest, Provider, Usage
from plansearch.models.cache import ResponseCache
from plansearch.models.errors import ModelError
from plansearch.models.retry import RetryPolicy, call_with_retries

DEFAULT_PAIRS = 10
_SUMMARY_TOKENS = 1024
_VERDICT_TOKENS = 256
_ANSWER = re.compile(r"\b(yes|no)\b", re.IGNORECASE)

SUMMARY_SYSTEM = (
    "You are an expert programmer. You will be given a programming problem and a program "
    "written for it. Describe in plain language the idea behind the program and how it "
    "works, as an editorial would. Do not write any code."
)
VERDICT_SYSTEM = (
    "You are an expert programmer. You will be given a programming problem and two programs "
    "written for it, each followed by a description of its idea. Say whether the two "
    "programs are built on the same idea. Answer with Yes or No only."
)


class JudgeOutcome(BaseModel):
    """What the judge said about one problem's sampled pairs, and what it cost."""

    pairs: int = Field(0, description="Pairs with a clear verdict.")
    different: int = Field(0, description="Of those, pairs judged to use different ideas.")
    unclear: int = Field(0, description="Pairs whose verdict was neither yes nor no, or failed.")
    calls: int = 0
    cached_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def fraction_different(self) -> float | None:
        return self.different / self.pairs if self.pairs else None


def sample_pairs(count: int, pairs: int, seed: str) -> list[tuple[int, int]]:
    """Up to `pairs` distinct pairs (i < j) of `count` items, drawn with `seed`; every pair
    when there are no more than that. In ascending order."""
    total = count * (count - 1) // 2
    chosen: Sequence[int] = range(total)
    if total > pairs:
        chosen = sorted(random.Random(seed).sample(range(total), pairs))
    return [_pair(index, count) for index in chosen]


def most_calls(candidates: int | None, pairs: int) -> int:
    """The most judge calls for one problem: a description per program, a verdict per pair."""
    if candidates is None:
        return pairs + 2 * pairs
    judged = min(pairs, math.comb(candidates, 2))
    return judged + min(candidates, 2 * judged)


class DiversityJudge:
    """Asks `provider` about pairs of programs, `concurrency` calls at a time."""

    def __init__(
        self,
        provider: Provider,
        cache: ResponseCache | None,
        *,
        concurrency: int,
        max_tokens: int,
        retry_policy: RetryPolicy,
    ) -> None:
        self._provider = provider
        self._max_tokens = max_tokens
        self._cache = cache
        self._gate = asyncio.Semaphore(concurrency)
        self._retry_policy = retry_policy

    async def judge(
        self, problem: str, programs: Sequence[str], pairs: int, seed: str
    ) -> JudgeOutcome:
        """The verdicts on up to `pairs` sampled pairs of `programs` for `problem`."""
        outcome = JudgeOutcome()
        sampled = sample_pairs(len(programs), pairs, seed)
        asked = [(i, j) for i, j in sampled if _normal(programs[i]) != _normal(programs[j])]
        outcome.pairs = len(sampled) - len(asked)  # identical text: the same idea
        needed = sorted({index for pair in asked for index in pair})
        summary_tokens = self._tokens(_SUMMARY_TOKENS)
        described = await asyncio.gather(*(
            self._ask(outcome, _summary_request(problem, programs[i], summary_tokens))
            for i in needed
        ))
        ideas = dict(zip(needed, described, strict=True))
        verdicts = await asyncio.gather(*(
            self._verdict(outcome, problem, programs[i], ideas[i], programs[j], ideas[j])
            for i, j in asked
        ))
        for verdict in verdicts:
            if verdict is None:
                outcome.unclear += 1
            else:
                outcome.pairs += 1
                outcome.different += int(not verdict)
        return outcome

    async def _verdict(
        self, outcome: JudgeOutcome, problem: str, first: str, first_idea: str | None,
        second: str, second_idea: str | None,
    ) -> bool | None:
        """True: the same idea; False: different; None: no clear answer."""
        if first_idea is None or second_idea is None:
            return None
        request = _verdict_request(problem, first, first_idea, second, second_idea,
                                   self._tokens(_VERDICT_TOKENS))
        answer = await self._ask(outcome, request)
        match = _ANSWER.search(answer or "")
        return None if match is None else match.group(1).lower() == "yes"

    async def _ask(self, outcome: JudgeOutcome, request: ModelRequest) -> str | None:
        """The reply's text (None when the call failed), counted in `outcome`."""
        identity = self._provider.cache_identity
        reply: ModelReply | None = None
        if self._cache is not None:
            reply = await asyncio.to_thread(self._cache.get, identity, request, 0)
        if reply is None:
            try:
                async with self._gate:
                    reply = await call_with_retries(self._complete(request), self._retry_policy)
            except ModelError:
                return None
            if self._cache is not None:
                await asyncio.to_thread(self._cache.put, identity, request, 0, reply)
        _count(outcome, reply.usage, reply.from_cache)
        return reply.text

    def _tokens(self, most: int) -> int:
        return min(most, self._max_tokens)

    def _complete(self, request: ModelRequest) -> Callable[[], Awaitable[ModelReply]]:
        async def attempt() -> ModelReply:
            return (await self._provider.complete(request, 1))[0]

        return attempt


def _count(outcome: JudgeOutcome, usage: Usage, cached: bool) -> None:
    outcome.calls += 1
    outcome.cached_calls += int(cached)
    outcome.input_tokens += usage.input_tokens
    outcome.output_tokens += usage.output_tokens


def _summary_request(problem: str, program: str, max_tokens: int) -> ModelRequest:
    text = (f"The problem:\n\n{problem}\n\nA program written for it:\n\n```python\n"
            f"{program.strip()}\n```\n\nDescribe the idea behind this program and how it works.")
    return ModelRequest(system=SUMMARY_SYSTEM, messages=(Message(role="user", content=text),),
                        temperature=0.0, max_tokens=max_tokens)


def _verdict_request(
    problem: str, first: str, first_idea: str, second: str, second_idea: str, max_tokens: int
) -> ModelRequest:
    text = (
        f"The problem:\n\n{problem}\n\n"
        f"The first program:\n\n```python\n{first.strip()}\n```\n\nIts idea: {first_idea}\n\n"
        f"The second program:\n\n```python\n{second.strip()}\n```\n\nIts idea: {second_idea}\n\n"
        "Do the two programs use the same idea? Answer Yes or No."
    )
    return ModelRequest(system=VERDICT_SYSTEM, messages=(Message(role="user", content=text),),
                        temperature=0.0, max_tokens=max_tokens)


def _pair(index: int, count: int) -> tuple[int, int]:
    """The `index`-th pair (i < j) of `count` items, in the order (0, 1), (0, 2), ..."""
    first = 0
    while index >= count - 1 - first:
        index -= count - 1 - first
        first += 1
    return first, first + 1 + index


def _normal(program: str) -> str:
    return "\n".join(line.rstrip() for line in program.strip().splitlines())
