"""Which worker runs the next candidate (plansearch.execution.slots)."""

from __future__ import annotations

import asyncio

import pytest

from plansearch.execution.slots import Slots


async def test_a_run_goes_to_the_least_loaded_worker_up_to_the_depth() -> None:
    slots: Slots[str] = Slots(depth=2)
    slots.add("a")
    slots.add("b")
    taken = [await slots.take() for _ in range(4)]
    assert sorted(taken[:2]) == ["a", "b"] and sorted(taken[2:]) == ["a", "b"]
    waiting = asyncio.ensure_future(slots.take())
    await asyncio.sleep(0)
    assert not waiting.done()  # both full
    slots.release("b")
    assert await waiting == "b"


async def test_between_equal_loads_the_worker_that_finished_last_gets_the_run() -> None:
    slots: Slots[str] = Slots(depth=2)
    slots.add("slow")
    slots.add("quick")
    assert {await slots.take(), await slots.take()} == {"slow", "quick"}
    slots.release("quick")  # "slow" is still on its first run
    assert await slots.take() == "quick"
    slots.release("quick")
    assert await slots.take() == "quick"  # not queued behind the slow candidate


async def test_waiting_runs_are_served_in_order_and_a_cancelled_one_gives_its_worker_back() -> None:
    slots: Slots[str] = Slots(depth=1)
    slots.add("a")
    assert await slots.take() == "a"
    first = asyncio.ensure_future(slots.take())
    second = asyncio.ensure_future(slots.take())
    await asyncio.sleep(0)
    slots.release("a")  # goes to the first waiter
    first.cancel()  # ... which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await second == "a"  # so the worker went on to the next


async def test_a_discarded_worker_gets_no_run_and_wake_answers_none() -> None:
    slots: Slots[str] = Slots(depth=1)
    slots.add("a")
    slots.discard("a")
    waiting = asyncio.ensure_future(slots.take())
    await asyncio.sleep(0)
    assert not waiting.done()
    slots.wake()
    assert await waiting is None
