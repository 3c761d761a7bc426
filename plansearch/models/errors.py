"""Typed model errors. Each maps to one message a user can act on."""

from __future__ import annotations


class ModelError(Exception):
    """Base of every error a provider raises.

    `retryable` says whether the same request may succeed later; `fatal` says whether the
    whole search should stop (nothing else will work either, e.g. a bad key); `congestion`
    says that the endpoint has more calls than it can take (the in-flight limit comes down);
    `backoff` whether a retry waits first.
    """

    retryable: bool = False
    fatal: bool = False
    congestion: bool = False
    backoff: bool = True
    kind: str = "error"
    """Short name of the failure, for counts by kind (e.g. "rate_limited")."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class MissingKeyError(ModelError):
    """No API key was configured for a provider that needs one."""

    kind = "missing_key"
    fatal = True


class AuthenticationFailed(ModelError):
    """The endpoint rejected the key."""

    kind = "auth_failed"
    fatal = True


class ModelNotFound(ModelError):
    """The endpoint does not know the model."""

    kind = "model_not_found"
    fatal = True


class QuotaExceeded(ModelError):
    """The account is out of credit or quota (not a transient rate limit)."""

    kind = "quota_exceeded"
    fatal = True


class RateLimited(ModelError):
    """429: too many requests; retry after a pause."""

    kind = "rate_limited"
    retryable = True
    congestion = True


class Overloaded(ModelError):
    """529 or 503: the service is overloaded; retry after a pause."""

    kind = "overloaded"
    retryable = True
    congestion = True


class ServerError(ModelError):
    """5xx from the endpoint."""

    kind = "server_error"
    retryable = True


class RequestTimedOut(ModelError):
    """No complete reply within the timeout."""

    kind = "timed_out"
    retryable = True
    congestion = True


class EndpointUnreachable(ModelError):
    """The endpoint could not be reached (connection refused, DNS, reset)."""

    kind = "unreachable"
    retryable = True


class MalformedReply(ModelError):
    """The endpoint answered with something that is not a valid reply (bad JSON, cut body)."""

    kind = "malformed_reply"
    retryable = True


class EmptyReply(ModelError):
    """A successful reply without any text that was not cut off by max_tokens: asked again,
    and never cached."""

    kind = "empty_reply"
    retryable = True


class BadRequest(ModelError):
    """The endpoint refused this request (e.g. prompt too long); retrying will not help."""

    kind = "bad_request"


class ContextTooLong(BadRequest):
    """The prompt plus `max_tokens` exceed the model's context window. What the endpoint said
    is kept: `window` (its context size) and `prompt_tokens`, or the `requested` total; the
    provider learns from them and, when a shorter `max_tokens` fits, marks the error
    `retryable`, to be asked again at once."""

    kind = "context_too_long"
    backoff = False

    def __init__(
        self,
        message: str,
        *,
        window: int | None = None,
        prompt_tokens: int | None = None,
        requested: int | None = None,
    ) -> None:
        super().__init__(message)
        self.window = window
        self.prompt_tokens = prompt_tokens
        self.requested = requested
