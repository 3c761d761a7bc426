"""Context windows: learnt where a local server says them, `max_tokens` shortened to fit, a
context-length refusal taken in and asked again, and the response cache keyed as before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from plansearch.budget import Limits
from plansearch.context import SearchContext, Stage
from plansearch.models.anthropic_provider import AnthropicProvider
from plansearch.models.base import Message, ModelRequest, Provider
from plansearch.models.cache import ResponseCache
from plansearch.models.discovery import (
    EndpointFacts,
    combine,
    from_llama_props,
    from_models,
    from_ollama_show,
)
from plansearch.models.error_mapping import Endpoint, status_error
from plansearch.models.errors import ContextTooLong, ModelError
from plansearch.models.openai_provider import OpenAIProvider
from plansearch.models.retry import RetryPolicy, call_with_retries
from plansearch.models.samples import gather_samples
from tests.support.fake_llm import FakeLLMServer, Family, Local

ENDPOINT = Endpoint(label="the endpoint", url="http://127.0.0.1:1/v1", model="m",
                    key_env_var="OPENAI_API_KEY", base_url_env_var="OPENAI_BASE_URL")
PROMPT = " ".join(["word"] * 300)
REQUEST = ModelRequest(messages=(Message(role="user", content=PROMPT),), max_tokens=4096)
FAST = RetryPolicy(max_retries=2, base_delay=0.01, max_delay=0.02)


def _refusal(message: str, **fields: object) -> ModelError:
    return status_error(ENDPOINT, 400, headers={}, error_type="invalid_request_error",
                        code=None, api_message=message, fields=fields)


@pytest.mark.parametrize(("message", "fields", "window", "prompt", "requested"), [
    ("This model's maximum context length is 4096 tokens. However, you requested 8242 tokens "
     "(4146 in the messages, 4096 in the completion). Please reduce the length of the "
     "messages or completion.", {}, 4096, 4146, 8242),
    ("maximum context length is 4096 tokens; you requested 8242 tokens", {}, 4096, None, 8242),
    ("'max_tokens' or 'max_completion_tokens' is too large: 4096. This model's maximum "
     "context length is 4096 tokens and your request has 146 input tokens (4096 > 4096 - "
     "146).", {}, 4096, 146, None),
    ("the request exceeds the available context size, try increasing it",
     {"type": "exceed_context_size_error", "n_prompt_tokens": 5000, "n_ctx": 4096},
     4096, 5000, None),
    ("input length and `max_tokens` exceed context limit: 197000 + 8192 > 200000, decrease "
     "input length or `max_tokens` and try again", {}, 200000, 197000, None),
    ("prompt is too long: 207000 tokens > 200000 maximum", {}, 200000, 207000, None),
])
def test_context_refusals_are_recognised_with_their_numbers(
    message: str, fields: dict[str, object], window: int, prompt: int | None,
    requested: int | None,
) -> None:
    error = status_error(ENDPOINT, 400, headers={}, error_type=str(fields.pop("type", "")),
                         code=None, api_message=message, fields=fields)
    assert isinstance(error, ContextTooLong)
    assert (error.window, error.prompt_tokens, error.requested) == (window, prompt, requested)
    assert not error.retryable, "only the provider, having learnt from it, makes it retryable"


def test_other_bad_requests_are_not_context_refusals() -> None:
    assert not isinstance(_refusal("temperature must be at most 2"), ContextTooLong)


def test_what_servers_say_of_themselves() -> None:
    props = {"default_generation_settings": {"n_ctx": 4096}, "total_slots": 2}
    assert from_llama_props(props) == EndpointFacts(4096, "llama.cpp /props", 2,
                                                    "llama.cpp /props")
    vllm = {"data": [{"id": "other"}, {"id": "m", "max_model_len": 8192}]}
    assert from_models(vllm, "m").context_window == 8192
    llama = {"data": [{"id": "gemma.gguf", "meta": {"n_ctx_train": 32768}}]}
    assert from_models(llama, "m").context_window == 32768, "the only entry is the model"
    assert from_models({"data": [{"id": "a"}, {"id": "b"}]}, "m") == EndpointFacts()
    ollama = {"model_info": {"gemma3.context_length": 32768}, "parameters": "num_ctx 2048"}
    assert from_ollama_show(ollama).context_window == 2048, "what it runs with comes first"
    del ollama["parameters"]
    assert from_ollama_show(ollama).context_window == 32768
    for nothing in (None, "not json", [], {"data": "x"}, {"total_slots": True}):
        assert from_llama_props(nothing) == from_models(nothing, "m") == EndpointFacts()
        assert from_ollama_show(nothing) == EndpointFacts()
    assert combine(from_llama_props({"total_slots": 1}), from_models(vllm, "m")) == \
        EndpointFacts(8192, "/v1/models", 1, "llama.cpp /props")


def _openai(server: FakeLLMServer, key: str | None = None) -> OpenAIProvider:
    return OpenAIProvider(OpenAIProvider.Options(model="local-model", api_key=key,
                                                 base_url=server.base_url_openai, timeout=5))


@pytest.fixture
async def closing() -> AsyncIterator[list[Provider]]:
    made: list[Provider] = []
    yield made
    for provider in made:
        await provider.aclose()


@pytest.mark.parametrize(("family", "slots"), [("llama.cpp", 2), ("vllm", None),
                                                ("ollama", None)])
async def test_the_window_is_learnt_before_the_first_call(
    family: Family, slots: int | None, closing: list[Provider]
) -> None:
    with FakeLLMServer(local=Local(family=family, context_window=1024, slots=slots)) as server:
        provider = _openai(server)
        closing.append(provider)
        await provider.discover()
        await provider.discover()  # once only
        [reply] = await provider.complete(REQUEST)
        [call] = server.calls
        probes = server.probes
    assert reply.text
    assert provider.context_window.tokens == 1024
    assert call.max_tokens is not None and 300 + call.max_tokens <= 1024
    assert server.context_refusals == 0
    assert sorted(probes) == ["/api/show", "/props", "/v1/models"]
    assert provider.limiter.limit == (slots or 16)


async def test_openais_own_endpoint_and_anthropic_are_not_probed(
    closing: list[Provider],
) -> None:
    with FakeLLMServer(api_key="sk-k") as server:
        provider = AnthropicProvider(AnthropicProvider.Options(
            model="m", api_key="sk-k", base_url=server.base_url_anthropic))
        closing.append(provider)
        await provider.discover()
        assert server.probes == []


async def test_a_server_that_says_nothing_costs_nothing(
    closing: list[Provider],
) -> None:
    with FakeLLMServer(local=Local(family="other")) as server:
        provider = _openai(server)
        closing.append(provider)
        await provider.discover()
        [reply] = await provider.complete(REQUEST)
        [call] = server.calls
    assert reply.text and call.max_tokens == 4096
    assert provider.context_window.tokens is None and provider.limiter.limit == 16


@pytest.mark.parametrize("api", ["openai", "anthropic"])
async def test_a_context_refusal_is_learnt_from_and_asked_again_at_once(
    api: str, closing: list[Provider],
) -> None:
    with FakeLLMServer(api_key="sk-k", local=Local(family="other",
                                                   context_window=1024)) as server:
        provider: Provider
        if api == "openai":
            provider = _openai(server, "sk-k")
        else:
            provider = AnthropicProvider(AnthropicProvider.Options(
                model="m", api_key="sk-k", base_url=server.base_url_anthropic))
        closing.append(provider)
        await provider.discover()
        retries: list[tuple[ModelError, float, int]] = []
        [reply] = await call_with_retries(lambda: provider.complete(REQUEST), FAST,
                                          lambda *retry: retries.append(retry))
        [(error, wait, _)] = retries
        assert reply.text
        assert isinstance(error, ContextTooLong) and error.retryable and wait == 0.0
        assert "Asking again with max_tokens" in error.message
        # what the refusal said holds for the calls after it: no refusal again
        await gather_samples(lambda: provider.complete(REQUEST), 3)
        sent = [call.max_tokens for call in server.calls]
        assert sent[0] == 4096 and all(m is not None and 300 + m <= 1024 for m in sent[1:])
        assert server.context_refusals == 1


async def test_a_prompt_that_alone_overflows_fails_with_advice(
    closing: list[Provider],
) -> None:
    with FakeLLMServer(local=Local(family="other", context_window=200)) as server:
        provider = _openai(server)
        closing.append(provider)
        with pytest.raises(ContextTooLong) as caught:
            await call_with_retries(lambda: provider.complete(REQUEST), FAST)
        assert server.request_count == 1
    assert not caught.value.retryable
    assert "--ctx-size" in caught.value.message and "num_ctx" in caught.value.message


async def test_the_cache_keys_on_the_request_asked_for(
    tmp_path: Path, closing: list[Provider],
) -> None:
    """Shortening max_tokens changes what is sent, never the cache key: a call that needed
    no shortening keys as it always did, and one that did keys on what it asked for."""
    short = REQUEST.model_copy(update={"max_tokens": 200})
    with FakeLLMServer(local=Local(family="llama.cpp", context_window=1024)) as server:
        provider = _openai(server)
        closing.append(provider)
        with ResponseCache(tmp_path / "cache.sqlite3") as cache:
            ctx = SearchContext(provider=provider, strategy="test", concurrency=4,
                                limits=Limits(max_calls=None, max_output_tokens=None,
                                              max_candidates=None, deadline=None),
                                emit=lambda event: None, cache=cache)
            await ctx.ask(Stage.CODE, REQUEST)
            await ctx.ask(Stage.CODE, short)
            sent = [call.max_tokens for call in server.calls]
            assert cache.get(provider.cache_identity, REQUEST, 0) is not None
            assert cache.get(provider.cache_identity, short, 0) is not None
    assert sent[0] is not None and sent[0] < 4096 and sent[1] == 200
