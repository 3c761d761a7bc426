"""Model providers behind one async protocol, with retries and a response cache.

The provider classes themselves load on demand through `make_provider` (their SDKs are slow
to import).
"""

from plansearch.models.base import Message, ModelReply, ModelRequest, Provider, StopReason, Usage
from plansearch.models.cache import CacheError, ResponseCache
from plansearch.models.errors import (
    AuthenticationFailed,
    BadRequest,
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
from plansearch.models.factory import PROVIDERS, make_provider
from plansearch.models.retry import RetryPolicy, call_with_retries

__all__ = [
    "PROVIDERS",
    "AuthenticationFailed",
    "BadRequest",
    "CacheError",
    "EndpointUnreachable",
    "MalformedReply",
    "Message",
    "MissingKeyError",
    "ModelError",
    "ModelNotFound",
    "ModelReply",
    "ModelRequest",
    "Overloaded",
    "Provider",
    "QuotaExceeded",
    "RateLimited",
    "RequestTimedOut",
    "ResponseCache",
    "RetryPolicy",
    "ServerError",
    "StopReason",
    "Usage",
    "call_with_retries",
    "make_provider",
]
