"""Choosing and configuring a provider from settings, and the missing-key advice."""

from __future__ import annotations

import subprocess
import sys

import pytest

from plansearch.config import Settings, default_config_path
from plansearch.models import PROVIDERS, MissingKeyError, ModelRequest, make_provider
from plansearch.models.base import Message
from tests.support.fake_llm import FakeLLMServer

REQUEST = ModelRequest(messages=(Message(role="user", content="hi"),))


def test_anthropic_without_key_says_how_to_fix_it() -> None:
    with pytest.raises(MissingKeyError) as caught:
        make_provider(Settings(provider="anthropic"))
    message = caught.value.message
    assert "export ANTHROPIC_API_KEY=..." in message
    assert "api_key" in message and str(default_config_path()) in message
    assert "--provider openai --base-url http://localhost:11434/v1 --model llama3.1" in message
    assert "Ollama" in message and "vLLM" in message and "llama.cpp" in message
    assert caught.value.fatal


def test_openai_without_key_or_url_says_how_to_fix_it() -> None:
    with pytest.raises(MissingKeyError) as caught:
        make_provider(Settings(provider="openai"))
    message = caught.value.message
    assert "export OPENAI_API_KEY=..." in message
    assert "--base-url http://localhost:11434/v1" in message


async def test_local_openai_server_needs_no_key(fake_llm: FakeLLMServer) -> None:
    provider = make_provider(
        Settings(provider="openai", base_url=fake_llm.base_url_openai, model="llama3.1")
    )
    assert (provider.name, provider.model) == ("openai", "llama3.1")
    [reply] = await provider.complete(REQUEST)
    await provider.aclose()
    assert reply.text == "llama3.1 says: hi"


async def test_anthropic_key_and_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeLLMServer(api_key="sk-from-env") as server:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-from-env")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url_anthropic)
        provider = make_provider(Settings())
        assert provider.name == "anthropic"
        assert provider.model == Settings().model_name
        assert server.base_url_anthropic in provider.cache_identity
        [reply] = await provider.complete(REQUEST)  # the server checks the key
        await provider.aclose()
    assert reply.text


async def test_key_in_settings_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    with FakeLLMServer(api_key="sk-settings") as server:
        settings = Settings(
            provider="openai", base_url=server.base_url_openai, api_key="sk-settings"
        )
        provider = make_provider(settings)
        [reply] = await provider.complete(REQUEST)
        await provider.aclose()
    assert reply.text


def test_every_registered_provider_builds_under_its_name() -> None:
    for name in PROVIDERS:
        settings = Settings(provider=name, api_key="k", base_url="http://127.0.0.1:9/v1")
        assert make_provider(settings).name == name


def test_importing_the_package_does_not_load_the_sdks() -> None:
    code = (
        "import sys, plansearch.models; print('anthropic' in sys.modules, 'openai' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["False", "False"]
