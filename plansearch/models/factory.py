"""Providers from `Settings`: which class, with which options, and when two are the same.

The settings resolve the model, key and endpoint (the provider's environment variables and
defaults, read from the registry); a provider only ever sees its own options.
"""

from __future__ import annotations

import json

from plansearch.config import Settings
from plansearch.models.base import Provider
from plansearch.models.http_provider import ProviderOptions
from plansearch.models.registry import provider_info


def provider_options(settings: Settings) -> ProviderOptions:
    """The options of `settings.provider`: model, key and endpoint resolved, any other option
    taken from the setting of the same name."""
    options_class = provider_info(settings.provider).Options
    values = {
        name: getattr(settings, name)
        for name in options_class.model_fields
        if name in Settings.model_fields
    }
    values.update(
        model=settings.model_name,
        api_key=settings.resolved_api_key(),
        base_url=settings.resolved_base_url(),
    )
    return options_class.model_validate(values)


def make_provider(settings: Settings) -> Provider:
    """The provider `settings.provider` names, made from its options. Raises `MissingKeyError`
    (saying which variable to set) when its endpoint needs a key and none is set."""
    return provider_info(settings.provider)(provider_options(settings))


def provider_key(settings: Settings) -> tuple[str, str | None]:
    """What makes two providers interchangeable: the provider and its options as stable JSON
    without the key, and the key itself (compare it; never log it)."""
    options = provider_options(settings)
    public = options.model_dump(mode="json", exclude={"api_key"})
    key = options.api_key.get_secret_value() if options.api_key is not None else None
    return json.dumps({"provider": settings.provider, **public}, sort_keys=True), key
