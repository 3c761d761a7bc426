"""A change to a test file that a stored run used re-runs and re-ranks that run."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from tests.lsp.conftest import Client
from tests.lsp.test_apply import apply, search
from tests.lsp.test_generate import until

TESTS = """\
import math

from geometry import area


def test_area_of_three():
    assert round(area(3.0), 3) == {expected}
"""
RIGHT = "28.274"  # pi * 3 * 3
WRONG = "18.85"  # 2 * pi * 3: what the candidates written without a fix return


@pytest.mark.slow
async def test_a_changed_test_file_reranks_the_run_and_hover_follows(
    client: Client, workspace: Path
) -> None:
    tests = workspace / "tests" / "test_geometry.py"
    tests.parent.mkdir()
    tests.write_text(TESTS.format(expected=RIGHT), encoding="utf-8")
    uri = client.open("geometry.py")
    result = await search(client, uri)
    assert result["tests"] == 2
    tallies = {c["id"]: c["tally"] for c in result["candidates"]}
    best = result["candidates"][0]["id"]
    assert tallies[best] == "1/1 docstring examples, 1/1 of tests/test_geometry.py"
    await apply(client, result)

    tests.write_text(TESTS.format(expected=WRONG), encoding="utf-8")
    notifications = client.editor.notifications
    await until(lambda: notifications.get("plansearch/rankingChanged"), seconds=40)
    (changed,) = notifications["plansearch/rankingChanged"]
    assert changed["runId"] == result["runId"] and changed["uri"] == uri
    assert changed["qualname"] == "area" and changed["testFile"] == "tests/test_geometry.py"
    now = {c["id"]: c for c in changed["candidates"]}
    assert now[best]["tally"] == "1/1 docstring examples, 0/1 of tests/test_geometry.py"
    assert not any(c["passesAll"] for c in changed["candidates"]), "each fails one test now"
    assert "re-ranked area after tests/test_geometry.py changed" in client.log_text()

    hover = await client.hover(uri, 4)
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "0/1 of tests/test_geometry.py" in hover.contents.value
    assert "| ✗ | `tests/test_geometry.py::test_area_of_three`" in hover.contents.value
