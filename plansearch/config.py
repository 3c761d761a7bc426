"""Settings: flags over environment over config file over defaults.

Every setting is declared once, here, in the model of the component it configures; `Settings`
combines them, flat (`PLANSEARCH_<NAME>` in the environment, `<name>` in the config file).
Each field says, in an `Expose`, where else it may be given: its command-line flag, whether
an editor may set it (at which scope), whether one search request may override it. The flags
(`cli/settings_args.py`), the language server's keys (`server/options.py`) and the tables of
`docs/configuration.md` (`scripts/settings_docs.py`) are made from this declaration, and tests
hold the VS Code extension's copies to it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import platformdirs
from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from plansearch.models.registry import provider_info

ProviderName = Literal["anthropic", "openai"]
"""The registered providers (`plansearch.models.registry`; a test holds the two together)."""
StrategyName = Literal["plansearch", "ideasearch", "repeated"]
BudgetName = Literal["quick", "default", "full"]
IsolationName = Literal["auto", "bwrap", "namespaces", "rlimits"]
EditorScope = Literal["application", "machine", "machine-overridable", "window", "resource"]
"""Where an editor setting may be set (VS Code's configuration scopes)."""


@dataclass(frozen=True)
class Expose:
    """Where a setting may be given besides the config file and the environment."""

    flag: str | None = None
    """Its command-line flag; a `--no-...` flag sets a boolean setting to false."""
    help: str | None = None
    """The flag's help when the description does not fit it (always for a `--no-...` flag)."""
    metavar: str | None = None
    editor: EditorScope | None = None
    """The scope at which an editor may set it; None: an editor may not."""
    per_request: bool = False
    """One search request (`plansearch/generate`) may override it."""


def default_config_path() -> Path:
    """Where the user's config file lives (``plansearch/config.toml`` in the config dir)."""
    env = os.environ.get("PLANSEARCH_CONFIG")
    if env:
        return Path(env)
    return Path(platformdirs.user_config_dir("plansearch")) / "config.toml"


def default_cache_path() -> Path:
    """`responses.sqlite3` in the user cache folder (`~/.cache/plansearch` on Linux)."""
    return Path(platformdirs.user_cache_dir("plansearch")) / "responses.sqlite3"


class ProviderSettings(BaseModel):
    """Which model answers, and how it is called. See the providers' table for each one's key
    variables, endpoint variable and default model."""

    provider: Annotated[ProviderName, Expose(flag="--provider", editor="window")] = Field(
        "anthropic", description="Model provider."
    )
    model: Annotated[str | None, Expose(flag="--model", editor="window")] = Field(
        None, description="Model id; the provider's default if unset."
    )
    base_url: Annotated[
        str | None,
        Expose(flag="--base-url", help="endpoint, e.g. http://localhost:11434/v1",
               editor="machine-overridable"),
    ] = Field(
        None,
        description="Endpoint URL (an OpenAI-compatible server's `/v1` URL); the provider's "
        "variable or its own endpoint if unset.",
    )
    api_key: SecretStr | None = Field(
        None, description="API key; the provider's key variable if unset."
    )
    timeout: Annotated[float, Expose(flag="--timeout", editor="window")] = Field(
        120.0, gt=0, description="Seconds to wait for one model reply."
    )
    max_retries: Annotated[int, Expose(flag="--max-retries", editor="window")] = Field(
        4, ge=0, description="Retries of a failed call (429, 529, 5xx)."
    )
    concurrency: Annotated[int, Expose(flag="--concurrency", editor="window")] = Field(
        512, ge=1, description="Most model calls in flight at once. The limit starts at 16 "
        "(or this, if lower) and adapts to what the endpoint sustains."
    )

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @property
    def model_name(self) -> str:
        """The model to use: the configured one or the provider's default."""
        return self.model or provider_info(self.provider).default_model

    def resolved_api_key(self) -> str | None:
        """The key from settings, else from the provider's key variables."""
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        variables = provider_info(self.provider).key_env_vars
        return next((os.environ[var] for var in variables if os.environ.get(var)), None)

    def resolved_base_url(self) -> str | None:
        """The endpoint from settings, else from the provider's endpoint variable."""
        variable = provider_info(self.provider).base_url_env_var
        return self.base_url or os.environ.get(variable) or None


class CacheSettings(BaseModel):
    """Every model reply is kept, keyed by provider, model, request and sample, so that a
    repeated or resumed search costs nothing for what was already answered."""

    cache: Annotated[
        bool, Expose(flag="--no-cache", help="ignore the response cache", editor="window")
    ] = Field(True, description="Re-use cached model replies.")
    cache_path: Path = Field(
        default_factory=default_cache_path, description="SQLite file of the response cache."
    )


class SearchSettings(BaseModel):
    """What a search does and when it stops. Unset limits come from the budget preset."""

    strategy: Annotated[
        StrategyName, Expose(flag="--strategy", editor="window", per_request=True)
    ] = Field("plansearch", description="Search strategy.")
    budget: Annotated[
        BudgetName,
        Expose(flag="--budget", help="preset: quick, default or full (the paper's tree)",
               editor="window", per_request=True),
    ] = Field("default", description="Budget preset (`full` is the paper's tree).")
    max_calls: Annotated[
        int | None, Expose(flag="--max-calls", editor="window", per_request=True)
    ] = Field(None, ge=1, description="Stop after this many model calls.")
    max_output_tokens: Annotated[
        int | None, Expose(flag="--max-output-tokens", editor="window", per_request=True)
    ] = Field(None, ge=1, description="Stop after this many output tokens.")
    max_candidates: Annotated[
        int | None, Expose(flag="--max-candidates", editor="window", per_request=True)
    ] = Field(None, ge=1, description="Stop after this many programs.")
    deadline: Annotated[
        float | None, Expose(flag="--deadline", editor="window", per_request=True)
    ] = Field(None, gt=0, description="Stop after this many seconds.")
    direct: Annotated[
        bool,
        Expose(flag="--no-direct", editor="window", per_request=True,
               help="no fast first candidate written straight from the problem"),
    ] = Field(
        True,
        description="Beside the search, ask at once for one program straight from the problem: "
        "a first tested candidate in one call's time.",
    )
    run_tests: Annotated[
        bool, Expose(flag="--no-tests", help="do not run candidates", editor="resource")
    ] = Field(True, description="Run every candidate against the tests found.")
    generate_tests: Annotated[
        int,
        Expose(flag="--generate-tests", metavar="N", editor="resource",
               help="ask the model for N test inputs (they only group candidates)"),
    ] = Field(
        0, ge=0, le=50,
        description="Test inputs the model writes; they only group candidates by behaviour.",
    )
    stop_when_passing: Annotated[
        int | None,
        Expose(flag="--stop-when-passing", metavar="K", editor="resource",
               help="end the search once K candidates pass every trusted test"),
    ] = Field(None, ge=1, description="End the search once this many candidates pass every test.")


class TreeSettings(BaseModel):
    """The shape of the PlanSearch tree and of each model call. Unset values come from the
    budget preset; `temperature` and `top_p` only reach OpenAI-compatible endpoints."""

    observations: Annotated[int | None, Expose(flag="--observations")] = Field(
        None, ge=1, description="Observations asked for per node."
    )
    subset_size: Annotated[int | None, Expose(flag="--subset-size")] = Field(
        None, ge=0, description="S: largest subset of observations combined."
    )
    depth: Annotated[int | None, Expose(flag="--depth")] = Field(
        None, ge=1, description="L: layers of observations."
    )
    critique: Annotated[
        bool | None, Expose(flag="--no-critique", help="skip criticism and fix")
    ] = Field(None, description="Double each sketch by criticising and fixing it.")
    pseudocode: Annotated[
        bool | None, Expose(flag="--no-pseudocode", help="code straight from the sketch")
    ] = Field(None, description="Write pseudocode before code.")
    temperature: Annotated[float, Expose(flag="--temperature")] = Field(
        0.9, ge=0, le=2, description="Sampling temperature."
    )
    top_p: Annotated[float, Expose(flag="--top-p")] = Field(
        0.95, gt=0, le=1, description="Nucleus sampling."
    )
    max_tokens: Annotated[int, Expose(flag="--max-tokens")] = Field(
        4096, ge=16, description="Output token limit per call; shortened to fit the model's "
        "context window when the endpoint says it."
    )
    seed: Annotated[int, Expose(flag="--seed")] = Field(
        0, description="Seed for shuffling observation subsets."
    )


class TrustedTestSettings(BaseModel):
    """Where the trusted tests that rank candidates come from, besides the examples in the
    docstring."""

    tests_file: Annotated[
        Path | None,
        Expose(flag="--tests", metavar="FILE", editor="resource",
               help="an explicit file of tests (pytest functions or asserts)"),
    ] = Field(None, description="An explicit file of tests to run.")
    workspace_tests: Annotated[
        bool,
        Expose(flag="--no-workspace-tests", help="ignore pytest tests in the workspace",
               editor="resource"),
    ] = Field(True, description="Use pytest tests in the workspace that call the function.")


class SandboxSettings(BaseModel):
    """How candidates run: separate processes with limits, isolated as far as the machine
    allows."""

    test_timeout: Annotated[float, Expose(flag="--test-timeout", editor="resource")] = Field(
        5.0, gt=0, description="Seconds one test may run."
    )
    candidate_timeout: Annotated[
        float, Expose(flag="--candidate-timeout", editor="resource")
    ] = Field(30.0, gt=0, description="Seconds all tests of one candidate may run.")
    memory_mb: Annotated[int, Expose(flag="--memory-mb", editor="resource")] = Field(
        512, ge=16, description="Memory a candidate may use, in MB."
    )
    isolation: Annotated[
        IsolationName,
        Expose(flag="--isolation", help="sandbox level (default: the strongest available)",
               editor="machine-overridable"),
    ] = Field("auto", description="Sandbox for candidates; `auto` picks the strongest.")


COMPONENTS: dict[str, type[BaseModel]] = {
    "provider": ProviderSettings,
    "response cache": CacheSettings,
    "search": SearchSettings,
    "PlanSearch tree": TreeSettings,
    "tests": TrustedTestSettings,
    "sandbox": SandboxSettings,
}
"""Each component's settings under its title, in the order flags and docs list them."""


class Settings(
    ProviderSettings,
    CacheSettings,
    SearchSettings,
    TreeSettings,
    TrustedTestSettings,
    SandboxSettings,
    BaseSettings,
):
    """Every setting of a search. Environment variables are ``PLANSEARCH_<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix="PLANSEARCH_", extra="forbid", validate_default=True,
        hide_input_in_errors=True,  # a key under a misspelt name must not reach a message
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=default_config_path()),
        )


def load_settings(**overrides: Any) -> Settings:
    """Settings with `overrides` (from flags; None values ignored) on top of env and file."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


@dataclass(frozen=True)
class Declared:
    """One setting as declared: its component, its field and where it is exposed."""

    name: str
    component: str
    field: FieldInfo
    expose: Expose

    @property
    def env_var(self) -> str:
        return f"PLANSEARCH_{self.name.upper()}"

    @property
    def editor_key(self) -> str:
        """Its key in an editor's `plansearch` section."""
        return camel_case(self.name)

    @property
    def value_type(self) -> Any:
        """The type of its value: `int` for `int | None`."""
        return value_type(self.field.annotation)

    @property
    def choices(self) -> tuple[str, ...] | None:
        """The values it may take, if they are a fixed few."""
        kind = self.value_type
        return get_args(kind) if get_origin(kind) is Literal else None


@cache
def declared_settings() -> tuple[Declared, ...]:
    """Every setting, component by component, in declaration order."""
    return tuple(
        Declared(name, component, info, _expose(info))
        for component, model in COMPONENTS.items()
        for name, info in model.model_fields.items()
    )


def _expose(info: FieldInfo) -> Expose:
    return next((item for item in info.metadata if isinstance(item, Expose)), Expose())


def value_type(annotation: Any) -> Any:
    """The type of a value that may be unset: `int | None` -> `int`."""
    if get_origin(annotation) in (Union, UnionType):
        [kind] = [arg for arg in get_args(annotation) if arg is not NoneType]
        return kind
    return annotation


def camel_case(name: str) -> str:
    """``max_calls`` -> ``maxCalls``."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
