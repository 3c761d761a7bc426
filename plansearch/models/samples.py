"""Fan one request out into n concurrent attempts (neither API family reliably supports `n`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from plansearch.models.base import ModelReply


async def gather_samples(one: Callable[[], Awaitable[ModelReply]], n: int) -> list[ModelReply]:
    """Run `one` n times at once; the first failure cancels the rest and is raised as is."""
    if n == 1:
        return [await one()]
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_run(one)) for _ in range(n)]
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [task.result() for task in tasks]


async def _run(one: Callable[[], Awaitable[ModelReply]]) -> ModelReply:
    return await one()
