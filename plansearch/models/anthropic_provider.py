"""Anthropic Messages API provider, through the official SDK (imported when a provider is made).

No sampling parameters are ever sent: the API version the SDK speaks (2026-10-21) rejects
`temperature`, `top_p` and `top_k` on every model, so `ModelRequest.temperature` and `top_p`
only reach OpenAI-compatible endpoints. Samples differ because each is its own request.

The system prompt and the last message marked `cache_prefix` carry prompt-cache breakpoints.
`Usage.input_tokens` counts uncached input plus tokens written to the cache;
`cached_input_tokens` counts tokens read from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plansearch.models.base import Message, ModelReply, ModelRequest, StopReason, Usage
from plansearch.models.error_mapping import (
    connection_error,
    malformed_reply,
    status_error,
    timeout_error,
)
from plansearch.models.http_provider import HTTPProvider, ProviderOptions

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic
    from anthropic.types import Message as WireMessage
    from anthropic.types import MessageParam, TextBlockParam

_STOP_REASONS = {
    "end_turn": StopReason.END,
    "stop_sequence": StopReason.END,
    "max_tokens": StopReason.MAX_TOKENS,
}


class AnthropicProvider(HTTPProvider["AsyncAnthropic"]):
    """`Provider` for the Anthropic Messages API (or anything that speaks it)."""

    name = "anthropic"
    label = "the Anthropic API"
    key_env_vars = ("ANTHROPIC_API_KEY",)
    base_url_env_var = "ANTHROPIC_BASE_URL"
    default_model = "claude-sonnet-5-5"
    default_base_url = "https://api.anthropic.com"
    sdk = "anthropic"
    Options = ProviderOptions

    def _make_client(self, api_key: str | None) -> AsyncAnthropic:
        import anthropic

        return anthropic.AsyncAnthropic(
            api_key=api_key, base_url=self._url, timeout=self.options.timeout, max_retries=0
        )

    async def _send(self, request: ModelRequest) -> ModelReply:
        import anthropic
        from anthropic.types import Message as WireMessage

        try:
            reply = await self._client.messages.create(
                model=self.model,
                max_tokens=request.max_tokens,
                system=system_blocks(request.system) or anthropic.omit,
                messages=message_params(request.messages),
            )
        except anthropic.APITimeoutError as exc:
            raise timeout_error(self._endpoint, self.options.timeout) from exc
        except anthropic.APIConnectionError as exc:
            raise connection_error(self._endpoint, exc.__cause__) from exc
        except anthropic.APIStatusError as exc:
            raise status_error(
                self._endpoint,
                exc.status_code,
                headers=exc.response.headers,
                error_type=exc.type,
                code=exc.error_code,
                api_message=exc.api_message,
            ) from exc
        except (anthropic.APIResponseValidationError, ValueError) as exc:
            raise malformed_reply(self._endpoint, "not valid JSON") from exc
        if not isinstance(reply, WireMessage):
            raise malformed_reply(self._endpoint, "not JSON")
        return self._reply(reply_from_message, reply)


def system_blocks(system: str) -> list[TextBlockParam]:
    """The system prompt as one cached text block (none if empty)."""
    if not system:
        return []
    return [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}]


def message_params(messages: tuple[Message, ...]) -> list[MessageParam]:
    """Wire messages; the last one marked `cache_prefix` ends a cached prefix."""
    marked = [i for i, message in enumerate(messages) if message.cache_prefix]
    breakpoint_at = marked[-1] if marked else None
    params: list[MessageParam] = []
    for i, message in enumerate(messages):
        block: TextBlockParam = {"type": "text", "text": message.content}
        if i == breakpoint_at:
            block["cache_control"] = {"type": "ephemeral"}
        if message.role == "user":
            params.append({"role": "user", "content": [block]})
        else:
            params.append({"role": "assistant", "content": [block]})
    return params


def reply_from_message(message: WireMessage) -> ModelReply:
    """Our reply from the SDK's: text blocks joined, usage and stop reason mapped."""
    usage = message.usage
    return ModelReply(
        text="".join(block.text for block in message.content if block.type == "text"),
        stop_reason=_STOP_REASONS.get(message.stop_reason or "", StopReason.OTHER),
        usage=Usage(
            input_tokens=usage.input_tokens + (usage.cache_creation_input_tokens or 0),
            output_tokens=usage.output_tokens,
            cached_input_tokens=usage.cache_read_input_tokens or 0,
        ),
    )
