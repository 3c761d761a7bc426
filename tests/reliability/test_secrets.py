"""An API key given by any route reaches the model server and appears nowhere else: no log,
no message to the client, no run store or cache file, no candidate's environment."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.reliability.secrets_scenario import ROUTES, figures_of, secrets_session

pytestmark = pytest.mark.slow


async def test_a_key_from_any_route_appears_nowhere_after_a_faulty_verbose_session(
    tmp_path: Path,
) -> None:
    runs = await asyncio.gather(*(
        secrets_session(route, workdir=tmp_path / str(index), fault_rate=0.3, seed=5,
                        observations=1)
        for index, route in enumerate(ROUTES)))
    for run in runs:
        assert run.leaks == [], f"{run.route}: the key leaked into {run.leaks}"
        # The hunt could have found something: the key was used, logging was verbose,
        # candidates looked at their environment, and the store's WAL was read.
        assert run.model_requests > 0 and run.authorized_requests == run.model_requests, \
            f"{run.route}: every model request carried the key"
        assert run.faults > 0
        assert run.result["candidates"], run.route
        assert run.candidate_views >= 1 and run.proc_views == run.candidate_views
        assert {"pygls", "anthropic"} <= run.debug_loggers
        places = list(run.sources)
        assert any(p.endswith("runs.sqlite3-wal (during the session)") for p in places)
        assert any(p.endswith("responses.sqlite3") for p in places)
        assert any(p.startswith("server stderr") for p in places)
        assert run.sources["messages to the client"] > 0
    by_route = {run.route: run for run in runs}
    assert "API key for anthropic received" in by_route["notification"].log_text
    refused = by_route["config file"].refused
    assert refused is not None and "anthropic_api_key" in refused, \
        "a key under a misspelt name makes the settings invalid, and the answer names it"
    assert figures_of(list(runs)).errors == []
