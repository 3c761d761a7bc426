"""Fitting requests to a model's context window: what is known of the window, and
`max_tokens` shortened so that the prompt and the reply fit in it.

The prompt's length is estimated from its characters, conservatively (`CHARS_PER_TOKEN`);
a refusal that states the real count lowers the ratio for every call after it. Only the
request sent is changed: the response cache keys on the request asked for.
"""

from __future__ import annotations

import logging
import math

from plansearch.models.base import ModelRequest
from plansearch.models.errors import ContextTooLong

logger = logging.getLogger("plansearch.models")

CHARS_PER_TOKEN = 3.0
"""Characters per token assumed until a refusal says otherwise (English runs about 4, code
about 3.5)."""
TOKENS_PER_MESSAGE = 8
"""What a chat template adds around each message."""
MIN_ROOM = 64
"""The fewest output tokens worth asking for."""
ADVICE = "Serve the model with a larger context (llama.cpp: --ctx-size; Ollama: num_ctx)."


class ContextWindow:
    """What is known of one endpoint's context window. `name` says which in log lines."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tokens: int | None = None
        self._chars_per_token = CHARS_PER_TOKEN

    def know(self, tokens: int, source: str) -> None:
        """The window is `tokens` long, as `source` says."""
        if tokens != self.tokens:
            self.tokens = tokens
            logger.info("%s: a context window of %d tokens (%s); max_tokens is shortened to "
                        "fit it", self.name, tokens, source)

    def prompt_tokens(self, request: ModelRequest) -> int:
        """A generous estimate of the prompt's tokens."""
        return (math.ceil(_chars(request) / self._chars_per_token)
                + TOKENS_PER_MESSAGE * (len(request.messages) + 1))

    def fit(self, request: ModelRequest) -> ModelRequest:
        """`request` itself when it fits (or the window is unknown), else a copy with
        `max_tokens` shortened to the room left (at least `MIN_ROOM`)."""
        if self.tokens is None:
            return request
        room = self.tokens - self.prompt_tokens(request)
        if room >= request.max_tokens:
            return request
        return request.model_copy(update={"max_tokens": max(room, MIN_ROOM)})

    def learn(self, error: ContextTooLong, sent: ModelRequest) -> ContextTooLong:
        """Take in what the refusal of `sent` says; return the error to raise: retryable when
        a shorter `max_tokens` now fits, with advice when the prompt alone leaves no room."""
        if error.window is not None:
            self.know(error.window, "from its refusal")
        prompt = error.prompt_tokens
        if prompt is None and error.requested is not None:
            prompt = error.requested - sent.max_tokens
        if prompt is not None and prompt > 0:
            self._chars_per_token = min(self._chars_per_token, _chars(sent) / prompt)
        if self.tokens is None:
            return error
        room = self.tokens - self.prompt_tokens(sent)
        if room < MIN_ROOM:
            return ContextTooLong(
                f"{error.message} The prompt alone (about {self.prompt_tokens(sent)} tokens) "
                f"leaves no room for a reply in a context window of {self.tokens}. {ADVICE}",
                window=self.tokens, prompt_tokens=prompt)
        if room >= sent.max_tokens:
            return error  # nothing learned that would change the request
        again = ContextTooLong(
            f"{error.message} Asking again with max_tokens {room}, to fit the context "
            f"window of {self.tokens} tokens.", window=self.tokens, prompt_tokens=prompt)
        again.retryable = True
        return again


def _chars(request: ModelRequest) -> int:
    return len(request.system) + sum(len(message.content) for message in request.messages)
