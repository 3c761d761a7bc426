"""The server's settings: the client's `plansearch` section, checked key by key.

The keys are the camelCase names of the `plansearch.config.Settings` fields an editor may set
(declared there once, with their meaning and scope) plus the server's own `ServerOptions`.
A value that does not validate is reported and replaced by the default; it never stops the
server.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any, get_type_hints

from pydantic import Field, TypeAdapter, ValidationError

from plansearch.config import Expose, Settings, camel_case, declared_settings

SETTING_FIELDS = tuple(s.name for s in declared_settings() if s.expose.editor is not None)
"""`Settings` fields a client may set (the key is never one of them)."""

OVERRIDE_FIELDS = tuple(s.name for s in declared_settings() if s.expose.per_request)
"""`Settings` fields one `plansearch/generate` request may override."""

DEFAULT_COMMAND = "plansearch.generate"


@dataclass(frozen=True)
class ServerOptions:
    """Settings of the server itself, beside the search settings. A field's `Expose` gives
    its scope in an editor's settings, as `Settings` fields do."""

    store_path: Path | None = field(default=None, metadata={
        "expose": Expose(editor="machine-overridable"),
        "doc": "The run store's SQLite file (default `.plansearch/runs.sqlite3` in the "
               "file's project folder, found as `plansearch solve` finds it).",
    })  # fmt: skip
    watch_tests: bool = field(default=True, metadata={
        "expose": Expose(editor="window"),
        "doc": "Re-rank stored runs when a test file they used changes.",
    })  # fmt: skip
    code_action_command: Annotated[str, Field(min_length=1)] = DEFAULT_COMMAND
    """The command a code action runs: the server's own `plansearch.generate` (search,
    then a menu of candidates), or a client-side command an editor extension registers.
    Not a person's setting: an extension sends it itself."""


_SERVER_FIELDS: dict[str, Any] = get_type_hints(ServerOptions, include_extras=True)


@dataclass(frozen=True)
class Options:
    """Validated settings: `Settings` values to apply, and the server's own options."""

    settings: Mapping[str, Any] = field(default_factory=dict)
    server: ServerOptions = field(default_factory=ServerOptions)


def snake_case(key: str) -> str:
    """``maxCalls`` -> ``max_calls`` (snake_case keys pass through)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


def parse_options(raw: object) -> tuple[Options, list[str]]:
    """Options from a client's section, and one message per value that was not used."""
    if raw is None:
        return Options(), []
    if not isinstance(raw, Mapping):
        return Options(), [f"plansearch: expected an object of settings, got {_kind(raw)}; "
                           "using the defaults"]
    settings: dict[str, Any] = {}
    server: dict[str, Any] = {}
    messages: list[str] = []
    for key, value in raw.items():
        name = snake_case(str(key))
        if value is None:
            continue
        if name == "api_key":
            variable = ("OPENAI_API_KEY" if raw.get("provider") == "openai"
                        else "ANTHROPIC_API_KEY")
            messages.append(f"plansearch.{key} is not read from settings (keys do not belong "
                            f"in settings files): set the key with `export {variable}=...`")
        elif name in SETTING_FIELDS:
            _keep(settings, name, _settings_adapter(name), value, key, messages)
        elif name in _SERVER_FIELDS:
            _keep(server, name, _server_adapter(name), value, key, messages)
        else:
            messages.append(f"plansearch.{key} is not a setting; ignored")
    if "store_path" in server:
        server["store_path"] = server["store_path"].expanduser()
    return Options(settings=settings, server=ServerOptions(**server)), messages


def parse_overrides(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Per-request overrides (camelCase keys); raises ValueError naming a bad one."""
    overrides: dict[str, Any] = {}
    for key, value in raw.items():
        name = snake_case(key)
        if value is None:
            continue
        if name not in OVERRIDE_FIELDS:
            allowed = ", ".join(camel_case(f) for f in OVERRIDE_FIELDS)
            raise ValueError(f"{key} cannot be overridden per request (allowed: {allowed})")
        try:
            overrides[name] = _settings_adapter(name).validate_python(value)
        except ValidationError as error:
            raise ValueError(f"{key}: {_first(error)}") from None
    return overrides


def _keep(
    into: dict[str, Any], name: str, adapter: TypeAdapter[Any], value: object, key: str,
    messages: list[str],
) -> None:
    try:
        into[name] = adapter.validate_python(value)
    except ValidationError as error:
        messages.append(f"plansearch.{key}: {_first(error)} (got {_shown(value)}); "
                        "using the default")


def _first(error: ValidationError) -> str:
    return str(error.errors()[0]["msg"])


@cache
def _settings_adapter(name: str) -> TypeAdapter[Any]:
    info = Settings.model_fields[name]
    annotation: Any = info.annotation
    if info.metadata:
        annotation = Annotated[annotation, *info.metadata]
    return TypeAdapter(annotation)


@cache
def _server_adapter(name: str) -> TypeAdapter[Any]:
    return TypeAdapter(_SERVER_FIELDS[name])


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _kind(value: object) -> str:
    return type(value).__name__
