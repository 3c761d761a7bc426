"""Model providers behind one async protocol, with retries and a response cache.

`registry` knows every provider by name (its SDK loads only when one is made);
`factory.make_provider` makes the one `Settings` name.
"""

from plansearch.models.base import Message, ModelReply, ModelRequest, Provider, StopReason, Usage
from plansearch.models.cache import CacheError, ResponseCache
from plansearch.models.errors import (
    AuthenticationFailed,
    BadRequest,
    ContextTooLong,
    EndpointUnreachable,
    MalformedReply,
    MissingKeyError,
    ModelError,
    ModelNotFound,
    Overloaded,
    QuotaExceeded,
    RateLimited,
    RequestTimedOut,
    ServerError,
)
from plansearch.models.http_provider import HTTPProvider, ProviderOptions
from plansearch.models.registry import provider_info, provider_names
from plansearch.models.retry import RetryPolicy, call_with_retries

__all__ = [
    "AuthenticationFailed",
    "BadRequest",
    "CacheError",
    "ContextTooLong",
    "EndpointUnreachable",
    "HTTPProvider",
    "MalformedReply",
    "Message",
    "MissingKeyError",
    "ModelError",
    "ModelNotFound",
    "ModelReply",
    "ModelRequest",
    "Overloaded",
    "Provider",
    "ProviderOptions",
    "QuotaExceeded",
    "RateLimited",
    "RequestTimedOut",
    "ResponseCache",
    "RetryPolicy",
    "ServerError",
    "StopReason",
    "Usage",
    "call_with_retries",
    "provider_info",
    "provider_names",
]
