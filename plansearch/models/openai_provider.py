"""OpenAI chat-completions provider: OpenAI itself, or any compatible server.

Local servers (Ollama, vLLM, llama.cpp's server) need no key, so a missing one is sent as a
placeholder. Each sample is its own request because many servers ignore `n`.
`Usage.input_tokens` counts prompt tokens not read from a cache; `cached_input_tokens`
the ones that were.
"""

from __future__ import annotations

import asyncio

import openai
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

from plansearch.config import BASE_URL_ENV_VARS, KEY_ENV_VARS, Settings
from plansearch.models.base import ModelReply, ModelRequest, StopReason, Usage
from plansearch.models.error_mapping import (
    Endpoint,
    connection_error,
    malformed_reply,
    missing_key_message,
    status_error,
    timeout_error,
)
from plansearch.models.errors import MissingKeyError
from plansearch.models.samples import gather_samples

DEFAULT_BASE_URL = "https://api.openai.com/v1"

_STOP_REASONS = {"stop": StopReason.END, "length": StopReason.MAX_TOKENS}


class OpenAIProvider:
    """`Provider` for an OpenAI-compatible `/v1/chat/completions` endpoint."""

    name = "openai"
    label = "the OpenAI-compatible endpoint"

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIProvider:
        """Model, key, endpoint and timeout from settings; a key is needed without a base URL."""
        key = settings.resolved_api_key()
        base_url = settings.resolved_base_url()
        if key is None and base_url is None:
            raise MissingKeyError(
                missing_key_message(
                    "the OpenAI API", KEY_ENV_VARS["openai"], why=" and no --base-url"
                )
            )
        return cls(
            model=settings.model_name, api_key=key, base_url=base_url, timeout=settings.timeout
        )

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 120.0,
    ) -> None:
        self.model = model
        self._url = base_url or DEFAULT_BASE_URL
        self._timeout = timeout
        self._endpoint = Endpoint(
            label=self.label,
            url=self._url,
            model=model,
            key_env_var=KEY_ENV_VARS["openai"],
            base_url_env_var=BASE_URL_ENV_VARS["openai"],
            secret=api_key,
        )
        self._client = openai.AsyncOpenAI(
            api_key=api_key or "not-needed", base_url=self._url, timeout=timeout, max_retries=0
        )

    @property
    def cache_identity(self) -> str:
        return f"openai|{self._url}|{self.model}"

    async def complete(self, request: ModelRequest, n: int = 1) -> list[ModelReply]:
        return await gather_samples(lambda: self._attempt(request), n)

    async def aclose(self) -> None:
        await self._client.close()

    async def _attempt(self, request: ModelRequest) -> ModelReply:
        try:
            async with asyncio.timeout(self._timeout):
                completion = await self._client.chat.completions.create(
                    model=self.model,
                    messages=message_params(request),
                    max_tokens=request.max_tokens,
                    temperature=_given(request.temperature),
                    top_p=_given(request.top_p),
                )
        except (TimeoutError, openai.APITimeoutError) as exc:
            raise timeout_error(self._endpoint, self._timeout) from exc
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
            ) from exc
        except (openai.APIResponseValidationError, ValueError) as exc:
            raise malformed_reply(self._endpoint, "not valid JSON") from exc
        if not isinstance(completion, ChatCompletion):
            raise malformed_reply(self._endpoint, "not JSON")
        try:
            return reply_from_completion(completion)
        except (AttributeError, TypeError) as exc:
            raise malformed_reply(self._endpoint, "JSON of the wrong shape") from exc


def _given(value: float | None) -> float | openai.Omit:
    return openai.omit if value is None else value


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
