"""Choosing and configuring a provider from settings, the registry of their facts, and the
missing-key advice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import get_args

import pytest
from pydantic import ValidationError

from plansearch.config import ProviderName, Settings, default_config_path
from plansearch.models import MissingKeyError, ModelRequest
from plansearch.models.base import Message
from plansearch.models.factory import make_provider, provider_key, provider_options
from plansearch.models.registry import key_env_vars, provider_info, provider_names
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
    for name in provider_names():
        settings = Settings(provider=name, api_key="k", base_url="http://127.0.0.1:9/v1")
        assert make_provider(settings).name == name


def test_the_provider_setting_takes_exactly_the_registered_names() -> None:
    assert get_args(ProviderName) == provider_names()
    assert Settings.model_fields["provider"].default == provider_names()[0]


def test_facts_come_from_the_provider_classes(monkeypatch: pytest.MonkeyPatch) -> None:
    anthropic, openai = provider_info("anthropic"), provider_info("openai")
    assert key_env_vars() == ("ANTHROPIC_API_KEY", "OPENAI_API_KEY")
    assert anthropic.needs_key(None) and anthropic.needs_key("http://localhost:8080")
    assert openai.needs_key(None) and not openai.needs_key("http://localhost:11434/v1")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:11434/v1")
    options = provider_options(Settings(provider="openai"))
    assert (options.model, options.base_url, options.api_key) == (
        openai.default_model, "http://localhost:11434/v1", None)
    with pytest.raises(ValueError, match="known: anthropic, openai"):
        provider_info("cohere")


def test_options_are_strict() -> None:
    with pytest.raises(ValidationError, match="modle"):
        provider_info("openai").Options(model="m", modle="typo")
    with pytest.raises(ValidationError, match="timeout"):
        provider_info("openai").Options(model="m", timeout=0)


def test_provider_key_is_the_options_without_the_key_and_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-env-secret")
    settings = Settings(model="m", budget="quick")
    public, key = provider_key(settings)
    assert key == "sk-env-secret" and "sk-env-secret" not in public
    assert json.loads(public) == {"provider": "anthropic", "model": "m", "base_url": None,
                                  "timeout": 120.0}
    assert provider_key(settings.model_copy(update={"strategy": "repeated"})) == (public, key)
    assert provider_key(Settings(model="m", timeout=5))[0] != public
    assert provider_key(Settings(model="m", api_key="sk-other")) == (public, "sk-other")


def test_importing_the_package_does_not_load_the_sdks() -> None:
    code = (
        "import sys, plansearch.models, plansearch.models.factory, plansearch.config\n"
        "from plansearch.models.registry import provider_info\n"
        "assert provider_info('openai').default_model\n"
        "print('anthropic' in sys.modules, 'openai' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["False", "False"]


def test_a_missing_key_is_found_before_the_sdk_loads() -> None:
    code = (
        "import os, sys\n"
        "from plansearch.config import Settings\n"
        "from plansearch.models import MissingKeyError\n"
        "from plansearch.models.factory import make_provider\n"
        "try:\n"
        "    make_provider(Settings())\n"
        "except MissingKeyError:\n"
        "    print('anthropic' in sys.modules)"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANTHROPIC_")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True, env=env)
    assert result.stdout.split() == ["False"]
