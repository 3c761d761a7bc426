"""The provider protocol: what every model backend takes and returns."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from plansearch.scheduling import AdaptiveLimiter


class Message(BaseModel):
    """One turn of a conversation.

    `cache_prefix` marks the end of a prefix that many calls of one search share
    (instructions plus problem statement); providers that support prompt caching put a
    cache breakpoint there.
    """

    model_config = ConfigDict(frozen=True)

    role: Literal["user", "assistant"]
    content: str
    cache_prefix: bool = False


class ModelRequest(BaseModel):
    """Everything that determines a reply, and so everything the response cache keys on."""

    model_config = ConfigDict(frozen=True)

    system: str = ""
    messages: tuple[Message, ...]
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int = 4096


class StopReason(StrEnum):
    """Why the model stopped writing."""

    END = "end"
    MAX_TOKENS = "max_tokens"
    OTHER = "other"


class Usage(BaseModel):
    """Token counts of one call (or a sum of calls)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
        )


class ModelReply(BaseModel):
    """One sample returned by a provider. An empty or cut-off reply is a valid outcome."""

    text: str
    stop_reason: StopReason = StopReason.END
    usage: Usage = Field(default_factory=Usage)
    from_cache: bool = False

    @property
    def is_empty(self) -> bool:
        return not self.text.strip()


class Provider(Protocol):
    """A model backend. Implementations raise `plansearch.models.errors.ModelError` subclasses."""

    name: str
    """Short provider id, e.g. "anthropic" or "openai"."""
    model: str
    """The model id requests go to."""
    limiter: AdaptiveLimiter
    """The in-flight limit the endpoint sustains, shared by every search that calls it."""

    @property
    def cache_identity(self) -> str:
        """What distinguishes this backend's answers in the cache (provider, endpoint, model)."""
        ...

    async def complete(self, request: ModelRequest, n: int = 1) -> list[ModelReply]:
        """Return `n` independent samples for `request` (one HTTP attempt each, no retries;
        `max_tokens` shortened to fit the context window when it is known)."""
        ...

    async def discover(self) -> None:
        """Learn, once, what the endpoint says of itself (its context window, its parallel
        slots); bounded in time, and never raises for an endpoint that does not say."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
