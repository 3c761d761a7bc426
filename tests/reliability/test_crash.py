"""`kill -9` of the server mid-search: the run store and the response cache survive whole,
no process is left, a restart asks the model only what was never answered, and two editor
windows share the workspace without "database is locked"."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.crash_scenario import run_crash

pytestmark = pytest.mark.slow


async def test_a_killed_server_loses_nothing_and_two_windows_share_the_workspace(
    tmp_path: Path,
) -> None:
    figures = await run_crash(windows=2, workdir=tmp_path)
    assert figures.errors == []
    assert figures.lost == 0
    notes = "\n".join(figures.notes)
    assert "0 already answered" in notes
    assert "hover after the restart shows the finished run: True" in notes
    assert "runs in the store: finished, interrupted, window_1" in notes
