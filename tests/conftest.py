"""Shared fixtures: a fake model server, and an environment no developer setting leaks into."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fake_llm import FakeLLMServer

_LEAKY_PREFIXES = ("ANTHROPIC_", "OPENAI_", "PLANSEARCH_")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No config file, a cache under tmp, and none of the developer's provider variables."""
    for name in list(os.environ):
        if name.startswith(_LEAKY_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PLANSEARCH_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("PLANSEARCH_CACHE_PATH", str(tmp_path / "cache" / "responses.sqlite3"))


@pytest.fixture
def fake_llm() -> Iterator[FakeLLMServer]:
    """A started fake server answering with `echo_responder`; set `.responder` to change it."""
    with FakeLLMServer() as server:
        yield server
