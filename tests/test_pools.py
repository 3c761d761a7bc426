"""A pool keeps one value per configuration and closes the ones replaced (plansearch.pools)."""

from __future__ import annotations

import asyncio

import pytest

from plansearch.pools import Pool


class Thing:
    def __init__(self, key: str) -> None:
        self.key = key
        self.closed = False


class Maker:
    def __init__(self) -> None:
        self.made: list[Thing] = []

    async def make(self, key: str) -> Thing:
        thing = Thing(key)
        self.made.append(thing)
        return thing


async def close(thing: Thing) -> None:
    thing.closed = True


async def test_the_value_for_a_key_is_made_once_and_shared() -> None:
    maker, pool = Maker(), Pool[str, Thing](close)
    async with (
        pool.lease("a", lambda: maker.make("a")) as first,
        pool.lease("a", lambda: maker.make("a")) as second,
    ):
        assert first is second
    async with pool.lease("a", lambda: maker.make("a")) as third:
        assert third is first
    assert len(maker.made) == 1 and not first.closed


async def test_a_replaced_value_is_closed_once_its_last_user_is_done() -> None:
    maker, pool = Maker(), Pool[str, Thing](close)
    async with pool.lease("a", lambda: maker.make("a")) as old:
        async with pool.lease("b", lambda: maker.make("b")) as new:
            assert new is not old
            assert not old.closed, "still in use"
        assert not old.closed
    assert old.closed and not new.closed
    async with pool.lease("c", lambda: maker.make("c")) as newest:
        assert new.closed, "unused when replaced: closed at once"
    await pool.aclose()
    assert newest.closed


async def test_close_closes_values_in_use_too() -> None:
    maker, pool = Maker(), Pool[str, Thing](close)
    async with pool.lease("a", lambda: maker.make("a")) as thing:
        await pool.aclose()
        assert thing.closed


async def test_concurrent_leases_make_one_value() -> None:
    maker, pool = Maker(), Pool[str, Thing](close)
    started = asyncio.Event()

    async def slow() -> Thing:
        started.set()
        await asyncio.sleep(0)
        return await maker.make("a")

    async def lease() -> Thing:
        async with pool.lease("a", slow) as thing:
            return thing

    first, second = await asyncio.gather(lease(), lease())
    assert first is second and len(maker.made) == 1


async def test_an_error_while_making_leaves_the_pool_as_it_was() -> None:
    maker, pool = Maker(), Pool[str, Thing](close)

    async def broken() -> Thing:
        raise RuntimeError("no key")

    async with pool.lease("a", lambda: maker.make("a")) as thing:
        pass
    with pytest.raises(RuntimeError, match="no key"):
        async with pool.lease("b", broken):
            pass
    async with pool.lease("a", lambda: maker.make("a")) as again:
        assert again is thing and not thing.closed
