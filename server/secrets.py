"""API keys the editor hands over (`plansearch/setApiKey`), held in memory only.

A key is never logged, echoed or written anywhere: `Redactor` scrubs every key it has seen
from log records, in case one ever reaches a message by accident, and also whatever looks
like one: a value named like a key (a key put in the editor's settings arrives in
`initialize`, which pygls logs at debug level) and an `sk-...` token.
"""

from __future__ import annotations

import logging
import re

from pydantic import SecretStr

from plansearch.models.registry import provider_names

_REDACTED = "[redacted]"
_MIN_SECRET = 8
"""Shorter keys are not scrubbed from logs (they would match ordinary words)."""
_NAMED_SECRET = re.compile(
    r"""(?<![\w-])(["']?(?:api[_-]?key|x-api-key|key|authorization)["']?\s*[:=]\s*["']?"""
    r"""(?:bearer\s+)?)[^\s"',})\]]{8,}""", re.IGNORECASE)
_KEY_SHAPED = re.compile(r"(?<![\w-])sk-[\w-]{16,}")


class KeyStore:
    """Keys by provider, set by the client; the environment is the fallback."""

    def __init__(self) -> None:
        self._keys: dict[str, SecretStr] = {}
        self._seen: set[str] = set()

    def set(self, provider: str, key: str) -> None:
        """Hold `key` for `provider`; an empty key forgets it."""
        if key:
            self._keys[provider] = SecretStr(key)
        else:
            self._keys.pop(provider, None)

    def get(self, provider: str) -> SecretStr | None:
        return self._keys.get(provider)

    def remember(self, key: SecretStr) -> None:
        """Scrub `key` too: one the settings found elsewhere (a config file, say)."""
        self._seen.add(key.get_secret_value())

    def values(self) -> list[str]:
        """Every key held or seen, for scrubbing."""
        return [*(key.get_secret_value() for key in self._keys.values()), *self._seen]


def parse_set_key(params: object) -> tuple[str, str]:
    """(provider, key) from the notification's params; ValueError says what is wrong.

    The message never contains the key."""
    if not isinstance(params, dict):
        raise ValueError("plansearch/setApiKey expects {provider, key}")
    provider = params.get("provider", "anthropic")
    key = params.get("key")
    if provider not in provider_names():
        raise ValueError("plansearch/setApiKey: provider must be one of "
                         + ", ".join(provider_names()))
    if not isinstance(key, str):
        raise ValueError("plansearch/setApiKey: key must be a string")
    return provider, key.strip()


class Redactor(logging.Filter):
    """Replaces every known secret in a record's message by "[redacted]"."""

    def __init__(self, keys: KeyStore, extra: list[str] | None = None) -> None:
        super().__init__()
        self._keys = keys
        self._extra = [value for value in (extra or []) if value]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        clean = self.scrub(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        return True

    def scrub(self, text: str) -> str:
        for secret in [*self._keys.values(), *self._extra]:
            if len(secret) >= _MIN_SECRET:
                text = text.replace(secret, _REDACTED)
        text = _NAMED_SECRET.sub(lambda match: match.group(1) + _REDACTED, text)
        return _KEY_SHAPED.sub(_REDACTED, text)
