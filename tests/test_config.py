"""Settings precedence: flags over environment over config file over defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from plansearch.config import Settings, load_settings


def write_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("PLANSEARCH_CONFIG", str(path))
    return path


def test_defaults_without_file_or_environment() -> None:
    settings = load_settings()
    assert (settings.provider, settings.strategy, settings.budget) == (
        "anthropic", "plansearch", "default")
    assert settings.model_name == "claude-sonnet-5-5"


def test_file_then_environment_then_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path, monkeypatch,
                 'provider = "openai"\nmodel = "from-file"\nconcurrency = 3\nbudget = "quick"\n')
    from_file = load_settings()
    assert (from_file.provider, from_file.model, from_file.concurrency) == (
        "openai", "from-file", 3)
    monkeypatch.setenv("PLANSEARCH_MODEL", "from-env")
    from_env = load_settings()
    assert (from_env.model, from_env.concurrency) == ("from-env", 3)
    from_flag = load_settings(model="from-flag", concurrency=None)
    assert (from_flag.model, from_flag.concurrency, from_flag.budget) == (
        "from-flag", 3, "quick")


def test_key_from_settings_wins_over_the_provider_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "env-key")
    assert load_settings().resolved_api_key() == "env-key"
    write_config(tmp_path, monkeypatch, 'api_key = "file-key"\n')
    settings = load_settings()
    assert settings.resolved_api_key() == "file-key"
    assert "file-key" not in repr(settings) and "file-key" not in str(settings.model_dump())


def test_unknown_key_in_the_file_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path, monkeypatch, 'modle = "typo"\n')
    with pytest.raises(ValueError, match="modle"):
        load_settings()


def test_openai_base_url_from_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:11434/v1/")
    settings = Settings(provider="openai")
    assert settings.resolved_base_url() == "http://localhost:11434/v1/"
    assert Settings(provider="openai", base_url="http://x/v1/").resolved_base_url() == "http://x/v1"


def test_every_setting_is_documented() -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "configuration.md").read_text()
    for name in Settings.model_fields:
        assert f"| `{name}` | `PLANSEARCH_{name.upper()}` |" in text, name


def test_settings_of_every_component_keep_their_flat_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path, monkeypatch, 'depth = 3\nisolation = "rlimits"\n')
    monkeypatch.setenv("PLANSEARCH_MEMORY_MB", "256")
    monkeypatch.setenv("PLANSEARCH_WORKSPACE_TESTS", "false")
    monkeypatch.setenv("PLANSEARCH_CACHE", "false")
    settings = load_settings()
    assert (settings.depth, settings.isolation, settings.memory_mb) == (3, "rlimits", 256)
    assert settings.workspace_tests is False and settings.cache is False
