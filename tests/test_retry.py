"""Retries through a real provider against the fake server, plus the policy's arithmetic."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from email.utils import formatdate
from types import SimpleNamespace

import pytest

from plansearch.models import retry as retry_module
from plansearch.models.anthropic_provider import AnthropicProvider
from plansearch.models.base import Message, ModelReply, ModelRequest
from plansearch.models.error_mapping import parse_retry_after
from plansearch.models.errors import (
    AuthenticationFailed,
    ContextTooLong,
    ModelError,
    Overloaded,
    RateLimited,
    ServerError,
)
from plansearch.models.retry import RetryPolicy, call_with_retries
from tests.support.fake_llm import FakeLLMServer, Fault

FAST = RetryPolicy(max_retries=4, base_delay=0.01, max_delay=0.05, jitter=0.0)
REQUEST = ModelRequest(messages=(Message(role="user", content="hi"),))

Retries = list[tuple[ModelError, float, int]]


@pytest.fixture
async def provider(fake_llm: FakeLLMServer) -> AsyncIterator[AnthropicProvider]:
    made = AnthropicProvider(AnthropicProvider.Options(
        model="m", api_key="sk-k", base_url=fake_llm.base_url_anthropic, timeout=5
    ))
    yield made
    await made.aclose()


async def _complete(
    provider: AnthropicProvider, policy: RetryPolicy, seen: Retries
) -> list[ModelReply]:
    return await call_with_retries(
        lambda: provider.complete(REQUEST),
        policy,
        lambda error, wait, retry: seen.append((error, wait, retry)),
    )


async def test_retry_after_is_honoured(
    provider: AnthropicProvider, fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:  # the waits, without waiting
        slept.append(seconds)

    monkeypatch.setattr(retry_module, "asyncio", SimpleNamespace(sleep=sleep))
    fake_llm.inject(Fault.RATE_LIMIT, times=2, retry_after=0.2)
    seen: Retries = []
    [reply] = await _complete(provider, FAST, seen)
    assert reply.text
    assert [(type(e), round(wait, 3), n) for e, wait, n in seen] == [
        (RateLimited, 0.2, 1),
        (RateLimited, 0.2, 2),
    ]
    assert slept == [0.2, 0.2], "each retry waited what the server asked"
    assert fake_llm.request_count == 3


async def test_overloaded_then_success(
    provider: AnthropicProvider, fake_llm: FakeLLMServer
) -> None:
    fake_llm.inject(Fault.OVERLOADED)
    seen: Retries = []
    [reply] = await _complete(provider, FAST, seen)
    assert reply.text
    assert [type(error) for error, _, _ in seen] == [Overloaded]
    assert fake_llm.request_count == 2


async def test_fatal_error_is_not_retried(
    provider: AnthropicProvider, fake_llm: FakeLLMServer
) -> None:
    fake_llm.inject(Fault.AUTH, times=3)
    seen: Retries = []
    with pytest.raises(AuthenticationFailed):
        await _complete(provider, FAST, seen)
    assert seen == []
    assert fake_llm.request_count == 1


async def test_gives_up_after_max_retries(
    provider: AnthropicProvider, fake_llm: FakeLLMServer
) -> None:
    fake_llm.inject(Fault.SERVER_ERROR, times=5)
    seen: Retries = []
    policy = RetryPolicy(max_retries=2, base_delay=0.01, jitter=0.0)
    with pytest.raises(ServerError):
        await _complete(provider, policy, seen)
    assert [retry for _, _, retry in seen] == [1, 2]
    assert fake_llm.request_count == 3


async def test_other_exceptions_pass_through() -> None:
    calls = 0

    async def broken() -> int:
        nonlocal calls
        calls += 1
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await call_with_retries(broken, FAST)
    assert calls == 1


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0, jitter=0.0)
    assert [policy.backoff(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 8.0]


def test_jitter_only_shortens() -> None:
    policy = RetryPolicy(base_delay=1.0, jitter=0.25)
    waits = [policy.backoff(1) for _ in range(200)]
    assert all(0.75 <= wait <= 1.0 for wait in waits)
    assert len(set(waits)) > 1


def test_retry_after_wins_when_longer_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=0.1, max_retry_after=5.0, jitter=0.0)
    assert policy.delay(RateLimited("x", retry_after=2.0), 1) == 2.0
    assert policy.delay(RateLimited("x", retry_after=600.0), 1) == 5.0
    assert policy.delay(RateLimited("x", retry_after=0.01), 1) == 0.1
    assert policy.delay(RateLimited("x"), 2) == 0.2


def test_parse_retry_after_forms() -> None:
    now = time.time()
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after": formatdate(now + 30, usegmt=True)}, now) == (
        pytest.approx(30, abs=1)
    )
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_an_error_the_provider_adapted_to_is_asked_again_at_once() -> None:
    error = ContextTooLong("too long", window=4096, prompt_tokens=100)
    error.retryable = True  # the provider shortened max_tokens to fit
    assert FAST.delay(error, 1) == FAST.delay(error, 3) == 0.0
