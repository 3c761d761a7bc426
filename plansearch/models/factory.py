"""Build the configured provider. Providers are registered by name in `PROVIDERS`.

Each entry names a class by import path; it is imported on first use (the SDKs take
seconds to import), and builds itself from `Settings` through `from_settings`.
"""

from __future__ import annotations

import importlib
from typing import Protocol, cast

from plansearch.config import Settings
from plansearch.models.base import Provider

PROVIDERS: dict[str, str] = {
    "anthropic": "plansearch.models.anthropic_provider:AnthropicProvider",
    "openai": "plansearch.models.openai_provider:OpenAIProvider",
}


class ProviderClass(Protocol):
    """What a registered class offers: a constructor from settings."""

    def from_settings(self, settings: Settings) -> Provider:
        """Build the provider; raise `MissingKeyError` if it needs a key that is not set."""
        ...


def make_provider(settings: Settings) -> Provider:
    """The provider `settings.provider` names, configured from `settings`."""
    module_name, _, class_name = PROVIDERS[settings.provider].partition(":")
    provider_class = cast(ProviderClass, getattr(importlib.import_module(module_name), class_name))
    return provider_class.from_settings(settings)
