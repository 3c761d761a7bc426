"""Tests that run at each isolation level this machine offers."""

from __future__ import annotations

import pytest

from plansearch.execution.sandbox import IsolationLevel, level_available


def require_level(level: IsolationLevel) -> None:
    """Skip the calling test, saying why, when `level` cannot run here."""
    available, reason = level_available(level)
    if not available:
        pytest.skip(f"isolation level {level} is not available here: {reason}")
