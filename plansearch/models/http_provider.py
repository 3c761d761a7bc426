"""What every provider shares: the facts it declares, its options, and the work around one
HTTP attempt (the timeout, the wording of errors, n samples, closing), and what it learns of
its endpoint: the in-flight limit it sustains and its context window.

A provider subclasses `HTTPProvider`, sets the facts, and supplies two things: its SDK's
client (`_make_client`) and one attempt (`_send`: the request, and the SDK's replies and
errors mapped to ours); a provider whose endpoint can say what it is (a local server) also
supplies `_probe`. The SDK is imported there, when a provider is made, never when the
module is: reading a class's facts costs no SDK import.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from plansearch.models.base import ModelReply, ModelRequest
from plansearch.models.context_window import ContextWindow
from plansearch.models.discovery import EndpointFacts
from plansearch.models.error_mapping import (
    Endpoint,
    malformed_reply,
    missing_key_message,
    timeout_error,
)
from plansearch.models.errors import ContextTooLong, MissingKeyError
from plansearch.models.samples import gather_samples
from plansearch.scheduling import AdaptiveLimiter

logger = logging.getLogger("plansearch.models")

PROBE_SECONDS = 2.0
"""The longest the endpoint is asked what it is, once, before the first call."""


class ProviderOptions(BaseModel):
    """What a provider is made from. Strict: an unknown option is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1, description="Model id requests go to.")
    api_key: SecretStr | None = Field(None, description="API key; a local server needs none.")
    base_url: str | None = Field(None, description="Endpoint; the provider's own if unset.")
    timeout: float = Field(120.0, gt=0, description="Seconds to wait for one reply.")


class _Client(Protocol):
    async def close(self) -> None: ...


ClientT = TypeVar("ClientT", bound=_Client)
WireT = TypeVar("WireT")


class HTTPProvider(ABC, Generic[ClientT]):
    """A `Provider` over one vendor SDK's async client."""

    name: str
    """Short id: the value of the `provider` setting."""
    label: ClassVar[str]
    """How messages name it, e.g. "the Anthropic API"."""
    key_env_vars: ClassVar[tuple[str, ...]]
    """Environment variables a key is read from, the first one set winning."""
    base_url_env_var: ClassVar[str]
    """Environment variable an endpoint is read from."""
    default_model: ClassVar[str]
    default_base_url: ClassVar[str]
    sdk: ClassVar[str]
    """The SDK's module (and distribution) name."""
    Options: ClassVar[type[ProviderOptions]]
    """What it is made from: `ProviderOptions`, or a subclass with options of its own."""

    @classmethod
    def needs_key(cls, base_url: str | None) -> bool:
        """Whether requests to `base_url` (None: the default endpoint) need a key."""
        return True

    def __init__(self, options: ProviderOptions) -> None:
        """Raises `MissingKeyError` when the endpoint needs a key and `options` has none."""
        self.options = options
        self.model = options.model
        self._url = options.base_url or self.default_base_url
        key = options.api_key.get_secret_value() if options.api_key is not None else None
        if key is None and self.needs_key(options.base_url):
            raise MissingKeyError(missing_key_message(self.label, self._url, self.key_env_vars[0]))
        self._endpoint = Endpoint(
            label=self.label,
            url=self._url,
            model=options.model,
            key_env_var=self.key_env_vars[0],
            base_url_env_var=self.base_url_env_var,
            secret=key,
        )
        self._client = self._make_client(key)
        where = f"{self.label} at {self._url}"
        self.limiter = AdaptiveLimiter(where)
        self.context_window = ContextWindow(where)
        self._discovery: asyncio.Task[None] | None = None

    @property
    def cache_identity(self) -> str:
        return f"{self.name}|{self._url}|{self.model}"

    async def complete(self, request: ModelRequest, n: int = 1) -> list[ModelReply]:
        return await gather_samples(lambda: self._attempt(request), n)

    async def discover(self) -> None:
        if self._discovery is None:
            self._discovery = asyncio.create_task(self._discover())
        await asyncio.shield(self._discovery)

    async def aclose(self) -> None:
        if self._discovery is not None:
            self._discovery.cancel()
        await self._client.close()

    async def _attempt(self, request: ModelRequest) -> ModelReply:
        sent = self.context_window.fit(request)
        try:
            async with asyncio.timeout(self.options.timeout):
                return await self._send(sent)
        except TimeoutError as exc:
            raise timeout_error(self._endpoint, self.options.timeout) from exc
        except ContextTooLong as error:
            raise self.context_window.learn(error, sent) from error

    async def _discover(self) -> None:
        """Ask the endpoint what it is, within `PROBE_SECONDS`; whatever goes wrong, calls go
        on without the figures."""
        try:
            async with asyncio.timeout(PROBE_SECONDS):
                facts = await self._probe()
        except Exception as exc:  # any failure only means the endpoint did not say
            logger.debug("%s did not say what it is: %r", self._url, exc)
            return
        if facts.context_window:
            self.context_window.know(facts.context_window, facts.window_source)
        if facts.slots:
            self.limiter.cap(f"the server's parallel slots ({facts.slots_source})", facts.slots)

    async def _probe(self) -> EndpointFacts:
        """What the endpoint says of itself; nothing unless a provider knows where to ask."""
        return EndpointFacts()

    def _reply(self, convert: Callable[[WireT], ModelReply], wire: WireT) -> ModelReply:
        """`convert(wire)`, a reply of the wrong shape raised as `MalformedReply`."""
        try:
            return convert(wire)
        except (AttributeError, TypeError) as exc:
            raise malformed_reply(self._endpoint, "JSON of the wrong shape") from exc

    @abstractmethod
    def _make_client(self, api_key: str | None) -> ClientT:
        """The SDK's async client for `self._url`, without retries of its own."""

    @abstractmethod
    async def _send(self, request: ModelRequest) -> ModelReply:
        """One request; the SDK's errors raised as `ModelError`s (see `error_mapping`)."""
