"""Every provider by name: the one place its facts are read from (key variables, endpoint,
default model, options) by the settings, the factory, the language server and the docs.

A provider is registered by the import path of its `HTTPProvider` subclass, like a plugin's
entry point; the class is imported when its facts are first read. That costs little (a
provider module does not import its SDK until a provider is made) and nothing at all for
commands that never ask, such as `plansearch --help`.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plansearch.models.http_provider import HTTPProvider

    ProviderClass = type[HTTPProvider[Any]]

_REGISTERED: dict[str, str] = {
    "anthropic": "plansearch.models.anthropic_provider:AnthropicProvider",
    "openai": "plansearch.models.openai_provider:OpenAIProvider",
}
"""Each provider's class by import path, the default first."""


def provider_names() -> tuple[str, ...]:
    """The registered providers' names, the default first."""
    return tuple(_REGISTERED)


@cache
def provider_info(name: str) -> ProviderClass:
    """The class registered as `name`; its class attributes are the provider's facts."""
    if name not in _REGISTERED:
        known = ", ".join(_REGISTERED)
        raise ValueError(f"unknown provider {name!r} (known: {known})")
    module, _, attribute = _REGISTERED[name].partition(":")
    provider_class: ProviderClass = getattr(importlib.import_module(module), attribute)
    return provider_class


def key_env_vars() -> tuple[str, ...]:
    """Every environment variable any provider reads a key from."""
    return tuple(var for name in _REGISTERED for var in provider_info(name).key_env_vars)


def import_sdk(name: str) -> None:
    """Import provider `name`'s SDK now (it takes seconds), e.g. before a first search."""
    importlib.import_module(provider_info(name).sdk)
