"""OpenAI chat-completions provider: OpenAI itself, or any compatible server, through the
official SDK (imported when a provider is made).

Local servers (Ollama, vLLM, llama.cpp's server) need no key, so a missing one is sent as a
placeholder, and are asked what they are (`discovery`) before the first call. Each sample is
its own request because many servers ignore `n`. `Usage.input_tokens` counts prompt tokens
not read from a cache; `cached_input_tokens` the ones that were.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

from plansearch.models.base import ModelReply, ModelRequest, StopReason, Usage
from plansearch.models.discovery import (
    EndpointFacts,
    combine,
    from_llama_props,
    from_models,
    from_ollama_show,
)
from plansearch.models.error_mapping import (
    connection_error,
    malformed_reply,
    status_error,
    timeout_error,
)
from plansearch.models.http_provider import PROBE_SECONDS, HTTPProvider, ProviderOptions

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

_STOP_REASONS = {"stop": StopReason.END, "length": StopReason.MAX_TOKENS}


class OpenAIProvider(HTTPProvider["AsyncOpenAI"]):
    """`Provider` for an OpenAI-compatible `/v1/chat/completions` endpoint."""

    name = "openai"
    label = "the OpenAI-compatible endpoint"
    key_env_vars = ("OPENAI_API_KEY",)
    base_url_env_var = "OPENAI_BASE_URL"
    default_model = "gpt-4o-mini"
    default_base_url = "https://api.openai.com/v1"
    sdk = "openai"
    Options = ProviderOptions

    @classmethod
    def needs_key(cls, base_url: str | None) -> bool:
        """OpenAI's own endpoint needs a key; another (a local server) may not."""
        return base_url is None

    def _make_client(self, api_key: str | None) -> AsyncOpenAI:
        import openai

        return openai.AsyncOpenAI(
            api_key=api_key or "not-needed",
            base_url=self._url,
            timeout=self.options.timeout,
            max_retries=0,
        )

    async def _send(self, request: ModelRequest) -> ModelReply:
        import openai
        from openai.types.chat import ChatCompletion

        try:
            completion = await self._client.chat.completions.create(
                model=self.model,
                messages=message_params(request),
                max_tokens=request.max_tokens,
                temperature=openai.omit if request.temperature is None else request.temperature,
                top_p=openai.omit if request.top_p is None else request.top_p,
            )
        except openai.APITimeoutError as exc:
            raise timeout_error(self._endpoint, self.options.timeout) from exc
        except openai.APIConnectionError as exc:
            raise connection_error(self._endpoint, exc.__cause__) from exc
        except openai.APIStatusError as exc:
            body = exc.body if isinstance(exc.body, dict) else {}
            message = body.get("message")
            raise status_error(
                self._endpoint,
                exc.status_code,
                headers=exc.response.headers,
                error_type=exc.type,
                code=exc.code,
                api_message=message if isinstance(message, str) else None,
                fields=body,
            ) from exc
        except (openai.APIResponseValidationError, ValueError) as exc:
            raise malformed_reply(self._endpoint, "not valid JSON") from exc
        if not isinstance(completion, ChatCompletion):
            raise malformed_reply(self._endpoint, "not JSON")
        return self._reply(reply_from_completion, completion)

    async def _probe(self) -> EndpointFacts:
        """Another endpoint than OpenAI's own may be a local server: ask llama.cpp's, vLLM's
        and Ollama's routes at once."""
        if self.options.base_url is None:
            return EndpointFacts()
        url = self._url.rstrip("/")
        root = url.removesuffix("/v1")
        props, models, show = await asyncio.gather(
            self._ask(f"{root}/props"),
            self._ask(f"{url}/models"),
            self._ask(f"{root}/api/show", {"model": self.model}),
        )
        return combine(from_llama_props(props), from_ollama_show(show),
                       from_models(models, self.model))

    async def _ask(self, url: str, body: dict[str, str] | None = None) -> object:
        """The JSON `url` answers a GET (or a POST of `body`) with; None if it does not."""
        import openai

        options: openai.RequestOptions = {"max_retries": 0, "timeout": PROBE_SECONDS}
        try:
            if body is None:
                text = await self._client.get(url, cast_to=str, options=options)
            else:
                text = await self._client.post(url, cast_to=str, body=body, options=options)
            return json.loads(text)
        except (openai.APIError, ValueError):
            return None


def message_params(request: ModelRequest) -> list[ChatCompletionMessageParam]:
    """The system prompt (if any) followed by the conversation."""
    params: list[ChatCompletionMessageParam] = []
    if request.system:
        params.append({"role": "system", "content": request.system})
    for message in request.messages:
        if message.role == "user":
            params.append({"role": "user", "content": message.content})
        else:
            params.append({"role": "assistant", "content": message.content})
    return params


def reply_from_completion(completion: ChatCompletion) -> ModelReply:
    """Our reply from the SDK's; no choices or no content is an empty reply."""
    usage = Usage()
    if completion.usage is not None:
        details = completion.usage.prompt_tokens_details
        cached = (details.cached_tokens or 0) if details is not None else 0
        usage = Usage(
            input_tokens=completion.usage.prompt_tokens - cached,
            output_tokens=completion.usage.completion_tokens,
            cached_input_tokens=cached,
        )
    if not completion.choices:
        return ModelReply(text="", stop_reason=StopReason.OTHER, usage=usage)
    choice = completion.choices[0]
    return ModelReply(
        text=choice.message.content or "",
        stop_reason=_STOP_REASONS.get(choice.finish_reason or "", StopReason.OTHER),
        usage=usage,
    )
