"""A client that vanishes mid-search: the server stops the search, leaves no process behind
and exits on its own, over stdio and over TCP."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.vanish_scenario import Departure, run_vanish

pytestmark = pytest.mark.slow

EXIT_WAIT = 60.0
"""How long the scenario waits for the server to exit on its own: a bounded wait, not a
target (it takes well under a second; `benchmarks/bench_reliability.py` reports how long)."""


@pytest.mark.parametrize("how", ["stdio", "stdout", "tcp"])
async def test_the_server_exits_when_its_client_vanishes(how: Departure, tmp_path: Path) -> None:
    figures = await run_vanish(how, searches=2, workdir=tmp_path, exit_limit=EXIT_WAIT)
    # the errors would include: still running after EXIT_WAIT, no "the client is gone" in
    # its log, a traceback, fewer candidates running than workers when the client went
    assert figures.errors == []
    assert "exit status 0" in figures.notes, "it exited on its own, and cleanly"
    assert figures.lost == 0, "no candidate or worker process is left"
