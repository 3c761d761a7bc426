"""Settings from initializationOptions and workspace/configuration, re-read on change;
invalid values reported; API keys from the client, never in any log or reply."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.lsp.conftest import area_code, init_options, server_env, session
from tests.lsp.test_generate import GENERATE, REQUEST_FAILED, at_stub, until
from tests.support.fake_llm import FakeLLMServer
from tests.support.plansearch_script import PlanSearchScript

SECRET = "sk-ant-from-secret-storage-5f3a9c1e77"
WRONG = "sk-ant-wrong-key-0000000000000000"


async def test_configuration_is_read_checked_and_reread_on_change(
    workspace: Path, fake: FakeLLMServer, tmp_path: Path
) -> None:
    options = init_options(fake, strategy="sideways", maxCalls=0)
    async with session(workspace, env=server_env(tmp_path), options=options,
                       configuration={"maxCandidates": 2}) as client:
        await until(lambda: client.lsp.messages)
        (warning,) = client.lsp.messages
        assert warning.type == types.MessageType.Warning
        assert "plansearch.strategy: Input should be 'plansearch', 'ideasearch' or " \
               "'repeated' (got 'sideways'); using the default" in warning.message
        assert "plansearch.maxCalls: Input should be greater than or equal to 1" in warning.message
        uri = client.open("geometry.py")
        first = await client.request(GENERATE, at_stub(uri))
        assert first["strategy"] == "plansearch", "the default replaced the invalid value"
        assert len(first["candidates"]) == 2 and first["finishReason"] == "max_candidates"

        client.lsp.set_configuration({"maxCandidates": 4, "budget": "enormous"},
                                     section="plansearch")
        client.lsp.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings=None))
        await until(lambda: len(client.lsp.messages) == 2)  # the settings were read again
        assert "plansearch.budget: Input should be 'quick', 'default' or 'full'" \
               in client.lsp.messages[-1].message
        second = await client.request(GENERATE, at_stub(uri))
        assert len(second["candidates"]) == 4
        override = await client.request(GENERATE, at_stub(uri, overrides={"maxCandidates": 1}))
        assert len(override["candidates"]) == 1
        with pytest.raises(JsonRpcException) as error:
            await client.request(GENERATE, at_stub(uri, overrides={"model": "other"}))
        assert "model cannot be overridden per request" in error.value.message


async def test_no_key_reaches_a_log_a_message_or_a_reply(
    workspace: Path, tmp_path: Path
) -> None:
    script = PlanSearchScript("area", first=1, derived=1, code_for=area_code)
    replies: list[str] = []
    with FakeLLMServer(script, api_key=SECRET) as fake:
        async with session(workspace, env=server_env(tmp_path, key=None),
                           options=init_options(fake, apiKey=WRONG)) as client:
            uri = client.open("geometry.py")
            with pytest.raises(JsonRpcException) as missing:
                await client.request(GENERATE, at_stub(uri))
            assert missing.value.code == REQUEST_FAILED
            assert "ANTHROPIC_API_KEY" in missing.value.message
            replies.append(missing.value.message)

            client.lsp.protocol.notify("plansearch/setApiKey",
                                       {"provider": "anthropic", "key": WRONG})
            rejected = await client.request(GENERATE, at_stub(uri))
            assert rejected["finishReason"] == "error" and not rejected["candidates"]
            replies.append(json.dumps(rejected))

            client.lsp.protocol.notify("plansearch/setApiKey", {"key": SECRET})
            accepted = await client.request(GENERATE, at_stub(uri))
            assert accepted["finishReason"] == "completed" and accepted["candidates"]
            replies.append(json.dumps(accepted))
            client.lsp.protocol.notify("plansearch/setApiKey", {"key": 42})
            await client.responsive()
            said = client.log_text()
    assert "API key for anthropic received" in said
    assert "plansearch.apiKey is not read from settings" in said
    assert "key must be a string" in said
    log_file = (workspace.parent / "ws-lsp.log").read_text(encoding="utf-8")
    assert "search" in log_file
    for text in (said, log_file, *replies):
        assert SECRET not in text and WRONG not in text
