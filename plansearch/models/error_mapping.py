"""Turn what went wrong on the wire into our typed errors, each with one actionable line.

SDK-neutral: each provider pulls the status, headers and error fields out of its own SDK's
exception and hands them here, so the rules live in one table-like function.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path

from plansearch.models.errors import (
    AuthenticationFailed,
    BadRequest,
    ContextTooLong,
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

QUOTA_CODES = frozenset(
    {
        "insufficient_quota",
        "billing_error",
        "contract_spend_limit_reached",
        "enforced_spend_limit_reached",
    }
)
_QUOTA_WORDS = re.compile(r"credit balance|billing|insufficient.quota", re.IGNORECASE)
_MODEL_MISSING = re.compile(r"model\b.*\b(not found|does not exist|not exist)", re.IGNORECASE)
_CONTEXT_CODES = frozenset({"context_length_exceeded", "exceed_context_size_error"})
_CONTEXT_WINDOW = (
    # OpenAI, vLLM, llama.cpp: "maximum context length is 4096 tokens"
    re.compile(r"maximum context length is (?P<window>\d+)", re.IGNORECASE),
    # Anthropic: "input length and `max_tokens` exceed context limit: 197000 + 8192 > 200000"
    re.compile(r"(?P<prompt>\d+) \+ \d+ > (?P<window>\d+)"),
    # Anthropic: "prompt is too long: 207000 tokens > 200000 maximum"
    re.compile(r"prompt is too long: (?P<prompt>\d+) tokens > (?P<window>\d+)", re.IGNORECASE),
)
_CONTEXT_PROMPT = re.compile(
    r"(?P<prompt>\d+) in the messages|(?:has|contains at least) (?P<input>\d+) input tokens",
    re.IGNORECASE,
)
_CONTEXT_REQUESTED = re.compile(r"you requested (?P<requested>\d+) tokens", re.IGNORECASE)


@dataclass(frozen=True)
class Endpoint:
    """Who a request went to, for the wording of errors. `secret` is only used to scrub text."""

    label: str
    url: str
    model: str
    key_env_var: str
    base_url_env_var: str
    secret: str | None = field(default=None, repr=False)

    def detail(self, text: str | None) -> str:
        """The endpoint's own message as one short line, with any key scrubbed out."""
        line = " ".join((text or "").split())
        if self.secret:
            line = line.replace(self.secret, "***")
        return line[:200]


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `retry-after` (seconds or an HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def status_error(
    endpoint: Endpoint,
    status: int,
    *,
    headers: Mapping[str, str],
    error_type: str | None,
    code: str | None,
    api_message: str | None,
    fields: Mapping[str, object] | None = None,
) -> ModelError:
    """The typed error for an HTTP error status and the error fields of its body (`fields`:
    any others, such as llama.cpp's `n_ctx` and `n_prompt_tokens`)."""
    detail = endpoint.detail(api_message)
    said = f": {detail}" if detail else ""
    where = f"{endpoint.label} at {endpoint.url}"
    kinds = {error_type, code}
    text = api_message or ""
    if status in (400, 413) and (
        kinds & _CONTEXT_CODES or any(pattern.search(text) for pattern in _CONTEXT_WINDOW)
    ):
        return context_too_long(f"{where} refused the request ({status}){said}.", text,
                                fields or {})
    if status in (401, 403) or kinds & {"authentication_error", "permission_error"}:
        return AuthenticationFailed(
            f"{where} rejected the API key ({status}){said}. Set a valid key with "
            f"`export {endpoint.key_env_var}=...` or `api_key` in {_config_file()}."
        )
    if kinds & QUOTA_CODES or (status in (400, 402) and _QUOTA_WORDS.search(detail)):
        return QuotaExceeded(
            f"The account behind {endpoint.key_env_var} is out of credit or quota "
            f"({status}){said}. Add credit or raise the limit in the provider's billing page."
        )
    if status == 404 or code == "model_not_found" or _MODEL_MISSING.search(detail):
        return ModelNotFound(
            f"Model '{endpoint.model}' was not found at {endpoint.url} ({status}){said}. "
            "Check --model, and that an OpenAI-compatible --base-url ends in /v1."
        )
    retry_after = parse_retry_after(headers)
    if status == 429:
        return RateLimited(
            f"Rate limited by {where} (429){said}. Wait, or lower the concurrency setting.",
            retry_after=retry_after,
        )
    if status in (503, 529) or error_type == "overloaded_error":
        return Overloaded(
            f"{where} is overloaded ({status}){said}. Try again in a while.",
            retry_after=retry_after,
        )
    if status >= 500:
        return ServerError(
            f"{where} failed with a server error ({status}){said}. Try again later.",
            retry_after=retry_after,
        )
    return BadRequest(f"{where} refused the request ({status}){said}.")


def context_too_long(message: str, text: str, fields: Mapping[str, object]) -> ContextTooLong:
    """A context-length refusal, with the numbers its `text` or `fields` give."""
    numbers: dict[str, int] = {}
    for pattern in (*_CONTEXT_WINDOW, _CONTEXT_PROMPT, _CONTEXT_REQUESTED):
        found = pattern.search(text)
        if found:
            numbers.update((k, int(v)) for k, v in found.groupdict().items() if v is not None)
    for name, field_name in (("window", "n_ctx"), ("prompt", "n_prompt_tokens")):
        value = fields.get(field_name)
        if isinstance(value, int) and not isinstance(value, bool):
            numbers[name] = value
    return ContextTooLong(
        message,
        window=numbers.get("window"),
        prompt_tokens=numbers.get("prompt", numbers.get("input")),
        requested=numbers.get("requested"),
    )


def timeout_error(endpoint: Endpoint, timeout: float) -> RequestTimedOut:
    """No complete reply within `timeout` seconds."""
    return RequestTimedOut(
        f"No reply from {endpoint.label} at {endpoint.url} within {timeout:g} s. "
        "Try again, or raise the timeout (PLANSEARCH_TIMEOUT)."
    )


def connection_error(endpoint: Endpoint, cause: BaseException | None) -> ModelError:
    """A transport failure: a body cut short is a malformed reply, anything else unreachable."""
    if cause is not None and "message body" in str(cause):
        return malformed_reply(endpoint, "the body was cut off")
    return EndpointUnreachable(
        f"Cannot reach {endpoint.label} at {endpoint.url}. Is the server running and the URL "
        f"right? Set it with --base-url or {endpoint.base_url_env_var}."
    )


def malformed_reply(endpoint: Endpoint, what: str) -> MalformedReply:
    """A 200 whose body is not a valid reply."""
    return MalformedReply(
        f"{endpoint.label} at {endpoint.url} sent an invalid reply ({what}). "
        "If this repeats, check that the URL points at the right kind of server."
    )


def missing_key_message(label: str, url: str, key_env_var: str) -> str:
    """How to give `label` at `url` a key, or to use a local OpenAI-compatible server instead."""
    return (
        f"No API key for {label} at {url}. Set one with `export {key_env_var}=...`, "
        f'or add `api_key = "..."` to {_config_file()}.\n'
        "Or use a local OpenAI-compatible server, which needs no key; for Ollama:\n"
        "  --provider openai --base-url http://localhost:11434/v1 --model llama3.1\n"
        "(vLLM serves http://localhost:8000/v1, llama.cpp's llama-server "
        "http://localhost:8080/v1.)"
    )


def _config_file() -> Path:
    """The config file a key may be put in. Imported on use: `plansearch.config` imports the
    provider registry, and so this package, which imports this module."""
    from plansearch.config import default_config_path

    return default_config_path()
