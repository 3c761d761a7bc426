"""Malformed LSP traffic against the real server: the fuzzer, damaged framing, and a stream
that ends inside a message (issue 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lsp.conftest import server_env
from tests.reliability.fuzz_scenario import FRAMING_CASES, RawServer, run_framing, run_fuzz

pytestmark = pytest.mark.slow

SEED = 6
"""Fixed, so that CI runs the same inputs every time; the benchmark may try others."""


@pytest.mark.timeout(900)
def test_fuzzed_traffic_gets_proper_answers_and_the_server_keeps_serving(
    tmp_path: Path,
) -> None:
    # every one of the 150 examples runs, however slow the machine: the counts below then
    # do not depend on its speed (the time limit only guards against a hang)
    figures = run_fuzz(150, SEED, time_limit=600.0, root=tmp_path)
    assert not figures.errors, "\n".join(figures.errors + figures.notes)
    assert figures.lost == 0
    assert figures.inputs_tried is not None and figures.inputs_tried >= 300
    assert figures.requests_served >= 500
    assert figures.notes[-1].endswith("0 restarts, exit code 0"), figures.notes


def test_damaged_framing_costs_only_the_damaged_message(tmp_path: Path) -> None:
    """After a wrong or missing Content-Length the server finds the next header: only the
    damaged message (and with a length too long, the one it swallowed) goes unanswered."""
    outcomes = run_framing(tmp_path)
    assert [o.case for o in outcomes] == list(FRAMING_CASES)
    wrong = [f"{o.case.name}: answered {o.answered}, {o.parse_errors} parse errors, "
             f"alive {o.alive}" for o in outcomes if not o.ok]
    assert not wrong, "\n".join(wrong)


def test_a_stream_that_ends_inside_a_message_ends_the_server(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    server = RawServer(workspace, tmp_path / "lsp.log", tmp_path / "stderr.txt",
                       server_env(tmp_path))
    server.start({})
    server.write(b'Content-Length: 100000\r\n\r\n{"jsonrpc": "2.0", "method": ')
    server.close_input()
    assert server.process is not None
    assert server.process.wait(15) == 0
    assert "Traceback" not in (tmp_path / "stderr.txt").read_text(encoding="utf-8")
    assert "the stream ended inside a message" in (tmp_path / "lsp.log").read_text(
        encoding="utf-8")
