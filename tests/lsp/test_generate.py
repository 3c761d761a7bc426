"""`plansearch/generate`: a whole search with progress and partial results, cancellation by
both paths, and one search per function at a time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.lsp.conftest import Client, area_code, init_options, server_env, session
from tests.support.fake_llm import FakeLLMServer
from tests.support.plansearch_script import PlanSearchScript

pytestmark = pytest.mark.slow  # whole searches through the server, each of a few seconds

GENERATE = "plansearch/generate"
REQUEST_FAILED = -32803


def at_stub(uri: str, **extra: Any) -> dict[str, Any]:
    return {"textDocument": {"uri": uri}, "position": {"line": 4, "character": 4}, **extra}


async def until(condition: Callable[[], object], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


async def test_a_whole_search_reports_progress_and_streams_candidates(client: Client) -> None:
    uri = client.open("geometry.py")
    result = await client.request(GENERATE, at_stub(uri, workDoneToken="work",
                                                   partialResultToken="partial"))
    assert result["target"] == "area" and result["finishReason"] == "completed"
    assert result["strategy"] == "plansearch" and result["runId"]
    candidates = result["candidates"]
    assert len(candidates) == 6 and result["tests"] == 1
    assert [c["rank"] for c in candidates] == [1, 2, 3, 4, 5, 6]
    assert [c["passesAll"] for c in candidates] == [True] * 3 + [False] * 3
    best = candidates[0]
    assert "math.pi * r * r" in best["code"] and best["tally"] == "1/1 docstring examples"
    assert best["plan"]["fixedSketch"] and best["headline"].startswith("fix reply")
    assert candidates[-1]["firstFailure"].startswith("docstring#1")

    work = client.editor.progress["work"]
    assert work[0]["kind"] == "begin" and work[0]["title"] == "PlanSearch: area"
    assert work[0]["cancellable"] is True
    assert work[-1]["kind"] == "end"
    assert work[-1]["message"] == "6 candidates, 3 pass every test (completed)"
    counts = work[-1]["counts"]
    assert counts["stage"] in ("writing code", "testing") and counts["tokens"] > 0
    assert {k: counts[k] for k in ("calls", "failedCalls", "candidates", "tested", "passing")} \
        == {"calls": 19, "failedCalls": 0, "candidates": 6, "tested": 6, "passing": 3}
    messages = [v["message"] for v in work[1:-1]]
    assert any(m.startswith("finding observations ·") for m in messages)
    assert any(m.startswith("writing code ·") for m in messages)
    assert "19 calls" in messages[-1] and "6 tested, 3 passing" in messages[-1]

    partial = client.editor.progress["partial"]
    streamed = [value["candidates"][0] for value in partial]
    assert len(streamed) == 6 and all(item["tested"] for item in streamed)
    assert {item["id"] for item in streamed} == {c["id"] for c in candidates}
    assert client.editor.created_tokens == [], "the client's own token was used"


async def test_the_server_creates_a_progress_token_when_the_client_has_none(
    client: Client,
) -> None:
    uri = client.open("geometry.py")
    result = await client.request(GENERATE, at_stub(uri))
    assert len(result["candidates"]) == 6
    (token,) = client.editor.created_tokens
    kinds = [value["kind"] for value in client.editor.progress[token]]
    assert kinds[0] == "begin" and kinds[-1] == "end" and "report" in kinds


@pytest.fixture
async def slow(workspace: Path, tmp_path: Path) -> AsyncIterator[tuple[Client, FakeLLMServer]]:
    """A search that takes many seconds: a bigger tree, slow replies, two at a time."""
    script = PlanSearchScript("area", first=4, derived=3, code_for=area_code)
    with FakeLLMServer(script, latency=0.15) as fake:
        options = init_options(fake, budget="default", concurrency=2)
        async with session(workspace, env=server_env(tmp_path), options=options) as client:
            yield client, fake


async def assert_stopped(client: Client, fake: FakeLLMServer, uri: str) -> None:
    """The search is over, not only its request: the model calls the cancel cut have all
    ended, and the server takes a new search of the function (it refuses one while a search
    of it runs), which is then cancelled in turn."""
    await until(lambda: fake.in_flight == 0)
    again = asyncio.create_task(client.request(
        GENERATE, at_stub(uri, workDoneToken="again"), msg_id="again"))
    await until(lambda: client.editor.progress.get("again") or again.done())
    if again.done():
        raise AssertionError(f"a new search was not taken: {again.exception()!r}")
    client.lsp.cancel_request(types.CancelParams(id="again"))
    assert (await again)["finishReason"] == "cancelled"


async def test_cancel_request_stops_the_search_and_keeps_what_finished(
    slow: tuple[Client, FakeLLMServer],
) -> None:
    client, fake = slow
    uri = client.open("geometry.py")
    pending = asyncio.create_task(client.request(
        GENERATE, at_stub(uri, workDoneToken="w", partialResultToken="p"), msg_id="gen-1"))
    await until(lambda: client.editor.progress.get("p"))
    client.lsp.cancel_request(types.CancelParams(id="gen-1"))
    result = await pending
    assert result["finishReason"] == "cancelled"
    assert result["candidates"], "the candidates that were tested are kept"
    assert result["message"] == "Cancelled; finished candidates were kept."
    assert client.editor.progress["w"][-1]["kind"] == "end"
    await assert_stopped(client, fake, uri)
    assert len(await client.code_actions(uri, (4, 4))) == 1, "the server still serves"


async def test_progress_cancel_stops_the_search(slow: tuple[Client, FakeLLMServer]) -> None:
    client, fake = slow
    uri = client.open("geometry.py")
    pending = asyncio.create_task(client.request(GENERATE, at_stub(uri, partialResultToken="p")))
    await until(lambda: client.editor.progress.get("p"))
    (token,) = client.editor.created_tokens
    client.lsp.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    result = await pending
    assert result["finishReason"] == "cancelled" and result["candidates"]
    await assert_stopped(client, fake, uri)
    await client.responsive()


async def test_cancel_while_the_client_holds_the_progress_token_reply(
    slow: tuple[Client, FakeLLMServer],
) -> None:
    """pygls 2.1.1 reported "Error in server" when a reply came to a request nobody waited
    for any more; the reply must be dropped quietly."""
    client, fake = slow
    client.editor.hold_create = asyncio.Event()
    uri = client.open("geometry.py")
    pending = asyncio.create_task(client.request(GENERATE, at_stub(uri), msg_id="gen-held"))
    await asyncio.wait_for(client.editor.create_requested.wait(), 10)
    client.lsp.cancel_request(types.CancelParams(id="gen-held"))
    result = await pending
    assert result["finishReason"] == "cancelled"
    client.editor.hold_create.set()  # the late reply goes out now, during this round trip
    await client.responsive()
    await client.responsive()  # sent after the late reply: the server has read that one
    errors = [m.message for m in client.lsp.messages if m.type == types.MessageType.Error]
    assert errors == []
    await assert_stopped(client, fake, uri)


async def test_two_searches_of_one_function_at_once(slow: tuple[Client, FakeLLMServer]) -> None:
    client, _ = slow
    uri = client.open("geometry.py")
    first = asyncio.create_task(client.request(GENERATE, at_stub(uri), msg_id="first"))
    second = asyncio.create_task(client.request(
        GENERATE, {"textDocument": {"uri": uri}, "range": {
            "start": {"line": 6, "character": 0}, "end": {"line": 8, "character": 0}}}))
    with pytest.raises(JsonRpcException) as error:
        await second
    assert error.value.code == REQUEST_FAILED
    assert "A search for area in geometry.py is already running" in error.value.message
    client.lsp.cancel_request(types.CancelParams(id="first"))
    assert (await first)["finishReason"] == "cancelled"
