"""Settings: flags over environment over config file over defaults.

One pydantic model declares every setting once, with its meaning; the CLI, the LSP server
and the docs all read it from here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ProviderName = Literal["anthropic", "openai"]
StrategyName = Literal["plansearch", "ideasearch", "repeated"]
BudgetName = Literal["quick", "default", "full"]
IsolationName = Literal["auto", "bwrap", "namespaces", "rlimits"]

DEFAULT_MODELS: dict[str, str] = {"anthropic": "claude-sonnet-5-5", "openai": "gpt-4o-mini"}
KEY_ENV_VARS: dict[str, str] = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}
BASE_URL_ENV_VARS: dict[str, str] = {
    "anthropic": "ANTHROPIC_BASE_URL",
    "openai": "OPENAI_BASE_URL",
}


def default_config_path() -> Path:
    """Where the user's config file lives (``plansearch/config.toml`` in the config dir)."""
    env = os.environ.get("PLANSEARCH_CONFIG")
    if env:
        return Path(env)
    return Path(platformdirs.user_config_dir("plansearch")) / "config.toml"


def default_cache_path() -> Path:
    """The response cache's SQLite file under the user cache dir."""
    return Path(platformdirs.user_cache_dir("plansearch")) / "responses.sqlite3"


class Settings(BaseSettings):
    """Every setting of a search. Environment variables are ``PLANSEARCH_<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix="PLANSEARCH_", extra="forbid", validate_default=True,
        hide_input_in_errors=True,  # a key under a misspelt name must not reach a message
    )

    # Provider
    provider: ProviderName = Field("anthropic", description="Model provider.")
    model: str | None = Field(None, description="Model id; the provider's default if unset.")
    base_url: str | None = Field(
        None, description="Endpoint URL (an OpenAI-compatible server's `/v1` URL)."
    )
    api_key: SecretStr | None = Field(
        None, description="API key; by default read from ANTHROPIC_API_KEY / OPENAI_API_KEY."
    )
    timeout: float = Field(120.0, gt=0, description="Seconds to wait for one model reply.")
    max_retries: int = Field(4, ge=0, description="Retries of a failed call (429, 529, 5xx).")
    concurrency: int = Field(16, ge=1, description="Model calls in flight at once.")
    cache: bool = Field(True, description="Re-use cached model replies.")
    cache_path: Path = Field(
        default_factory=default_cache_path, description="SQLite file of the response cache."
    )

    # Search
    strategy: StrategyName = Field("plansearch", description="Search strategy.")
    budget: BudgetName = Field("default", description="Budget preset.")
    max_calls: int | None = Field(None, ge=1, description="Stop after this many model calls.")
    max_output_tokens: int | None = Field(
        None, ge=1, description="Stop after this many output tokens."
    )
    max_candidates: int | None = Field(None, ge=1, description="Stop after this many programs.")
    deadline: float | None = Field(None, gt=0, description="Stop after this many seconds.")

    # PlanSearch tree (unset values come from the budget preset)
    observations: int | None = Field(
        None, ge=1, description="Observations asked for per node."
    )
    subset_size: int | None = Field(
        None, ge=0, description="S: largest subset of observations combined."
    )
    depth: int | None = Field(None, ge=1, description="L: layers of observations.")
    critique: bool | None = Field(
        None, description="Double each sketch by criticising and fixing it."
    )
    pseudocode: bool | None = Field(None, description="Write pseudocode before code.")
    temperature: float = Field(0.9, ge=0, le=2, description="Sampling temperature.")
    top_p: float = Field(0.95, gt=0, le=1, description="Nucleus sampling.")
    max_tokens: int = Field(4096, ge=16, description="Output token limit per call.")
    seed: int = Field(0, description="Seed for shuffling observation subsets.")

    # Tests that rank candidates
    run_tests: bool = Field(True, description="Run every candidate against the tests found.")
    workspace_tests: bool = Field(
        True, description="Use pytest tests in the workspace that call the function."
    )
    tests_file: Path | None = Field(None, description="An explicit file of tests to run.")
    generate_tests: int = Field(
        0, ge=0, le=50, description="Test inputs the model writes (only group candidates)."
    )
    stop_when_passing: int | None = Field(
        None, ge=1, description="End the search once this many candidates pass every test."
    )
    test_timeout: float = Field(5.0, gt=0, description="Seconds one test may run.")
    candidate_timeout: float = Field(
        30.0, gt=0, description="Seconds all tests of one candidate may run."
    )
    memory_mb: int = Field(512, ge=16, description="Memory a candidate may use, in MB.")
    isolation: IsolationName = Field(
        "auto", description="Sandbox for candidates: auto, bwrap, namespaces or rlimits."
    )

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

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

    @property
    def model_name(self) -> str:
        """The model to use: the configured one or the provider's default."""
        return self.model or DEFAULT_MODELS[self.provider]

    def resolved_api_key(self) -> str | None:
        """The key from settings, else from the provider's usual environment variable."""
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        return os.environ.get(KEY_ENV_VARS[self.provider]) or None

    def resolved_base_url(self) -> str | None:
        """The endpoint from settings, else from the provider's usual environment variable."""
        return self.base_url or os.environ.get(BASE_URL_ENV_VARS[self.provider]) or None


def load_settings(**overrides: Any) -> Settings:
    """Settings with `overrides` (from flags; None values ignored) on top of env and file."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
