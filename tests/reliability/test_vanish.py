"""A client that vanishes mid-search: the server stops the search, leaves no process behind
and exits within seconds, over stdio and over TCP."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.vanish_scenario import Departure, run_vanish

EXIT_LIMIT = 10.0


@pytest.mark.parametrize("how", ["stdio", "stdout", "tcp"])
async def test_the_server_exits_when_its_client_vanishes(how: Departure, tmp_path: Path) -> None:
    figures = await run_vanish(how, searches=2, workdir=tmp_path, exit_limit=EXIT_LIMIT)
    assert figures.errors == []
    assert figures.seconds < EXIT_LIMIT
    assert figures.lost == 0, "no candidate or worker process is left"
