"""Both providers, through the real SDKs over HTTP, against the loopback fake server."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator

import pytest
from openai.types.chat import ChatCompletion

from plansearch.models.anthropic_provider import AnthropicProvider
from plansearch.models.base import Message, ModelRequest, Provider, StopReason, Usage
from plansearch.models.errors import (
    AuthenticationFailed,
    EndpointUnreachable,
    MalformedReply,
    ModelError,
    ModelNotFound,
    Overloaded,
    QuotaExceeded,
    RateLimited,
    RequestTimedOut,
    ServerError,
)
from plansearch.models.openai_provider import OpenAIProvider, reply_from_completion
from tests.support.fake_llm import FakeCall, FakeLLMServer, FakeReply, Fault

KEY = "sk-test-secret-0123456789"
TIMEOUT = 0.5

REQUEST = ModelRequest(
    system="You are terse.",
    messages=(Message(role="user", content="hello there"),),
    temperature=0.7,
    top_p=0.9,
    max_tokens=64,
)


def make(api: str, server: FakeLLMServer, *, key: str | None = KEY) -> Provider:
    if api == "anthropic":
        assert key is not None
        return AnthropicProvider(AnthropicProvider.Options(
            model="claude-test", api_key=key, base_url=server.base_url_anthropic, timeout=TIMEOUT
        ))
    return OpenAIProvider(OpenAIProvider.Options(
        model="local-test", api_key=key, base_url=server.base_url_openai, timeout=TIMEOUT
    ))


@pytest.fixture(params=["anthropic", "openai"])
async def provider(
    request: pytest.FixtureRequest, fake_llm: FakeLLMServer
) -> AsyncIterator[Provider]:
    made = make(request.param, fake_llm)
    yield made
    await made.aclose()


async def test_plain_reply(provider: Provider, fake_llm: FakeLLMServer) -> None:
    [reply] = await provider.complete(REQUEST)
    assert reply.text == f"{provider.model} says: hello there"
    assert reply.stop_reason is StopReason.END
    assert not reply.from_cache
    assert reply.usage == Usage(input_tokens=5, output_tokens=4)  # word counts
    [call] = fake_llm.calls
    assert (call.model, call.system, call.messages) == (
        provider.model,
        "You are terse.",
        [("user", "hello there")],
    )
    assert call.max_tokens == 64


async def test_usage_counts_cached_and_cache_written_tokens(
    provider: Provider, fake_llm: FakeLLMServer
) -> None:
    fake_llm.responder = lambda call: FakeReply(
        "ok",
        input_tokens=10,
        output_tokens=3,
        cache_read_input_tokens=100,
        cache_creation_input_tokens=7 if call.api == "anthropic" else 0,
    )
    [reply] = await provider.complete(REQUEST)
    expected_input = 17 if provider.name == "anthropic" else 10
    assert reply.usage == Usage(
        input_tokens=expected_input, output_tokens=3, cached_input_tokens=100
    )


async def test_n_samples_are_n_requests(provider: Provider, fake_llm: FakeLLMServer) -> None:
    replies = await provider.complete(REQUEST, n=3)
    assert len(replies) == 3
    assert fake_llm.request_count == 3


async def test_anthropic_marks_cache_breakpoints(fake_llm: FakeLLMServer) -> None:
    request = ModelRequest(
        system="instructions",
        messages=(
            Message(role="user", content="problem", cache_prefix=True),
            Message(role="assistant", content="observations", cache_prefix=True),
            Message(role="user", content="now a sketch"),
        ),
    )
    provider = make("anthropic", fake_llm)
    await provider.complete(request)
    await provider.aclose()
    body = fake_llm.calls[0].body
    assert body["system"] == [
        {"type": "text", "text": "instructions", "cache_control": {"type": "ephemeral"}}
    ]
    marks = [
        "cache_control" in block for message in body["messages"] for block in message["content"]
    ]
    assert marks == [False, True, False]


async def test_anthropic_sends_no_sampling_parameters(fake_llm: FakeLLMServer) -> None:
    provider = make("anthropic", fake_llm)
    [reply] = await provider.complete(REQUEST)  # the fake rejects them, like the real API
    await provider.aclose()
    body = fake_llm.calls[0].body
    assert not {"temperature", "top_p", "top_k"} & body.keys()
    assert body["max_tokens"] == 64
    assert reply.text


async def test_openai_sends_sampling_parameters(fake_llm: FakeLLMServer) -> None:
    provider = make("openai", fake_llm, key=None)
    await provider.complete(REQUEST)
    await provider.complete(ModelRequest(messages=REQUEST.messages))
    await provider.aclose()
    first, second = fake_llm.calls
    assert (first.temperature, first.top_p, first.max_tokens) == (0.7, 0.9, 64)
    assert first.body["messages"][0] == {"role": "system", "content": "You are terse."}
    assert not {"temperature", "top_p"} & second.body.keys()
    assert second.body["messages"][0]["role"] == "user"


@pytest.mark.parametrize(
    ("api", "wire", "expected"),
    [
        ("anthropic", "end_turn", StopReason.END),
        ("anthropic", "stop_sequence", StopReason.END),
        ("anthropic", "max_tokens", StopReason.MAX_TOKENS),
        ("anthropic", "refusal", StopReason.OTHER),
        ("openai", "stop", StopReason.END),
        ("openai", "length", StopReason.MAX_TOKENS),
        ("openai", "content_filter", StopReason.OTHER),
    ],
)
async def test_stop_reasons(
    api: str, wire: str, expected: StopReason, fake_llm: FakeLLMServer
) -> None:
    fake_llm.responder = lambda call: FakeReply("partial", stop_reason=wire)
    provider = make(api, fake_llm)
    [reply] = await provider.complete(REQUEST)
    await provider.aclose()
    assert reply.stop_reason is expected
    assert reply.text == "partial"


async def test_empty_content_is_an_empty_reply(provider: Provider, fake_llm: FakeLLMServer) -> None:
    fake_llm.inject(Fault.EMPTY)
    [reply] = await provider.complete(REQUEST)
    assert reply.is_empty
    assert reply.text == ""


def test_openai_without_choices_or_usage_is_empty() -> None:
    completion = ChatCompletion(
        id="x", choices=[], created=0, model="m", object="chat.completion", usage=None
    )
    reply = reply_from_completion(completion)
    assert reply.is_empty
    assert reply.usage == Usage()


FAULTS: list[tuple[Fault, type[ModelError], str]] = [
    (Fault.RATE_LIMIT, RateLimited, "429"),
    (Fault.OVERLOADED, Overloaded, "overloaded"),
    (Fault.SERVER_ERROR, ServerError, "500"),
    (Fault.HANG, RequestTimedOut, "within 0.5 s"),
    (Fault.TRUNCATED, MalformedReply, "cut off"),
    (Fault.MALFORMED, MalformedReply, "not valid JSON"),
    (Fault.AUTH, AuthenticationFailed, "export {env}="),
    (Fault.NOT_FOUND, ModelNotFound, "'{model}'"),
    (Fault.QUOTA, QuotaExceeded, "{env}"),
]


@pytest.mark.parametrize(("fault", "error_type", "says"), FAULTS, ids=[f[0] for f in FAULTS])
async def test_faults_become_typed_errors(
    provider: Provider,
    fake_llm: FakeLLMServer,
    fault: Fault,
    error_type: type[ModelError],
    says: str,
) -> None:
    fake_llm.inject(fault, retry_after=0.25)
    with pytest.raises(error_type) as caught:
        await provider.complete(REQUEST)
    error = caught.value
    env = "ANTHROPIC_API_KEY" if provider.name == "anthropic" else "OPENAI_API_KEY"
    assert says.format(env=env, model=provider.model) in error.message
    assert "\n" not in error.message
    assert KEY not in error.message and KEY not in str(error)
    assert type(error) is error_type
    if fault is Fault.RATE_LIMIT:
        assert error.retry_after == pytest.approx(0.25)


async def test_wrong_key_is_rejected_and_never_shown() -> None:
    with FakeLLMServer(api_key=KEY) as server:
        for api in ("anthropic", "openai"):
            good = make(api, server)
            [reply] = await good.complete(REQUEST)
            assert reply.text
            bad = make(api, server, key="sk-wrong-key-987")
            with pytest.raises(AuthenticationFailed) as caught:
                await bad.complete(REQUEST)
            assert "sk-wrong-key-987" not in caught.value.message
            await good.aclose()
            await bad.aclose()
        assert all(call.headers["authorization"] == "<redacted>" for call in server.calls)


@pytest.mark.parametrize("api", ["anthropic", "openai"])
async def test_unreachable_endpoint_names_the_url(api: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    if api == "anthropic":
        provider: Provider = AnthropicProvider(
            AnthropicProvider.Options(model="m", api_key=KEY, base_url=url, timeout=2))
    else:
        provider = OpenAIProvider(
            OpenAIProvider.Options(model="m", base_url=f"{url}/v1", timeout=2))
    with pytest.raises(EndpointUnreachable) as caught:
        await provider.complete(REQUEST)
    await provider.aclose()
    assert url in caught.value.message


def test_cache_identity_names_endpoint_and_model(fake_llm: FakeLLMServer) -> None:
    a = make("openai", fake_llm)
    b = OpenAIProvider(
        OpenAIProvider.Options(model="local-test", base_url="http://127.0.0.1:1/v1"))
    assert fake_llm.base_url_openai in a.cache_identity and "local-test" in a.cache_identity
    assert a.cache_identity != b.cache_identity
    assert a.cache_identity != make("anthropic", fake_llm).cache_identity


async def test_two_hundred_requests_are_in_flight_at_once() -> None:
    together = threading.Barrier(200)

    def answer_once_all_arrived(call: FakeCall) -> str:
        together.wait(timeout=60)  # broken (a server error) unless all 200 wait here at once
        return "ok"

    with FakeLLMServer(answer_once_all_arrived) as server:
        provider = AnthropicProvider(AnthropicProvider.Options(
            model="m", api_key=KEY, base_url=server.base_url_anthropic, timeout=90
        ))
        replies = await asyncio.gather(*(provider.complete(REQUEST) for _ in range(200)))
        await provider.aclose()
        assert server.request_count == 200
    assert all(reply.text == "ok" for [reply] in replies)


async def _faults_served(seed: int) -> list[str]:
    with FakeLLMServer(fault_rate=0.5, seed=seed) as server:
        provider = make("openai", server)
        for _ in range(12):
            with contextlib.suppress(ModelError):
                await provider.complete(REQUEST)
        await provider.aclose()
        return [call.fault.value if call.fault else "none" for call in server.calls]


async def test_random_faults_are_seeded() -> None:
    first = await _faults_served(seed=3)
    assert first == await _faults_served(seed=3)
    assert "none" in first and len(set(first)) > 1


async def test_broken_responder_is_reported_not_hidden(fake_llm: FakeLLMServer) -> None:
    def broken(call: object) -> str:
        raise RuntimeError("oops")

    fake_llm.responder = broken
    provider = make("openai", fake_llm)
    with pytest.raises(ServerError, match="responder failed"):
        await provider.complete(REQUEST)
    await provider.aclose()


async def test_stop_is_bounded_even_with_a_request_hanging() -> None:
    server = FakeLLMServer(hang_seconds=30).start()
    server.inject(Fault.HANG)
    provider = AnthropicProvider(AnthropicProvider.Options(
        model="m", api_key=KEY, base_url=server.base_url_anthropic, timeout=20
    ))
    pending = asyncio.create_task(provider.complete(REQUEST))
    while server.request_count == 0:
        await asyncio.sleep(0.01)
    await asyncio.to_thread(server.stop)
    with pytest.raises(EndpointUnreachable):  # cut off, not timed out after 20 s
        await pending
    await provider.aclose()
