"""Neovim (Debian's 0.7) as the client of the real server: the code action list, the menu
choice through `vim.ui.select`, the applied and saved edit, progress, and hover.

`drive.lua` does the editor's part in a headless Neovim and writes what it saw to a JSON
file; these tests check that file and the workspace on disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_llm import FakeCall, FakeLLMServer
from tests.support.plansearch_script import PlanSearchScript

NVIM = shutil.which("nvim")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        NVIM is None, reason="nvim is not on PATH (Debian package `neovim`; see scripts/setup.sh)"),
]

DRIVER = Path(__file__).with_name("drive.lua")
KEY = "sk-ant-nvim-test-0123456789abcdef"
RUN_SECONDS = 60.0
"""The whole Neovim session, server included."""

PREFIX = '''\
"""Geometry helpers."""
import math


'''
DOCSTRING = '''\
    """Area of a circle of radius r.

    >>> area(1.0)
    3.141592653589793
    """
'''
TAIL = '''

def done(x: int) -> int:
    return x + 1
'''
TESTS = '''\
import math

from geometry import area


def test_unit_circle():
    assert area(1.0) == math.pi


def test_radius_two():
    assert abs(area(2.0) - 4 * math.pi) < 1e-9
'''
RIGHT = "math.pi * r ** 2"
WRONG = "2 * math.pi * r"
STUB = {"line": 10, "character": 4}
"""The `...` of `area` (0-based)."""
IMPLEMENTED = {"line": 14, "character": 4}
"""The body of `done`."""
HEADER = {"line": 4, "character": 4}
"""`def area`."""


def area_code(call: FakeCall) -> str:
    """Right code when written from a fixed sketch, wrong otherwise."""
    fixed = "fix reply" in call.messages[-1][1]
    return f"```python\nimport math\n\ndef area(r):\n    return {RIGHT if fixed else WRONG}\n```"


@dataclass(frozen=True)
class Session:
    """What one Neovim run left behind."""

    seen: dict[str, Any]
    workspace: Path
    server_log: Path
    console: str
    """What Neovim printed."""


def run_neovim(tmp_path: Path, fake: FakeLLMServer) -> Session:
    """Write the workspace, run Neovim on it with drive.lua, and collect what it saw."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "geometry.py").write_text(
        PREFIX + "def area(r: float) -> float:\n" + DOCSTRING + "    ...\n" + TAIL,
        encoding="utf-8")
    (workspace / "test_geometry.py").write_text(TESTS, encoding="utf-8")
    (workspace / "pyproject.toml").write_text("[project]\nname = 'ws'\n", encoding="utf-8")
    output, server_log = tmp_path / "seen.json", tmp_path / "lsp.log"
    config = {
        "python": sys.executable,
        "log_file": str(server_log),
        "init_options": {"baseUrl": fake.base_url_anthropic, "budget": "quick", "timeout": 10,
                         "maxRetries": 0, "isolation": "rlimits", "direct": False},
        "output": str(output),
        "timeout_ms": 15_000,
        "search_timeout_ms": 40_000,
        "action_title": "Generate via PlanSearch",
        "stub": STUB, "implemented": IMPLEMENTED, "hover": HEADER,
    }
    config_file = tmp_path / "drive.json"
    config_file.write_text(json.dumps(config), encoding="utf-8")
    home = tmp_path / "nvim-home"
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("ANTHROPIC_", "OPENAI_", "PLANSEARCH_", "NVIM"))}
    env.update({
        "ANTHROPIC_API_KEY": KEY,
        "PLANSEARCH_CONFIG": str(tmp_path / "no-config.toml"),
        "PLANSEARCH_CACHE_PATH": str(tmp_path / "cache" / "responses.sqlite3"),
        "PLANSEARCH_NVIM_CONFIG": str(config_file),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"), "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"), "XDG_STATE_HOME": str(home / "state"),
        "NVIM_LOG_FILE": str(home / "nvim.log"),
    })
    console = tmp_path / "nvim-console.txt"
    assert NVIM is not None
    with console.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(
            [NVIM, "--headless", "--clean", "-u", "NONE", "-c", f"luafile {DRIVER}",
             "geometry.py"],
            cwd=workspace, env=env, stdin=subprocess.DEVNULL, stdout=sink,
            stderr=subprocess.STDOUT, start_new_session=True)
        try:
            process.wait(timeout=RUN_SECONDS)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            _kill_group(process.pid)  # the server too, if Neovim left it behind
            process.wait()
    said = console.read_text(encoding="utf-8", errors="replace")
    assert not timed_out, f"Neovim did not finish in {RUN_SECONDS:.0f} s; it said:\n{said}"
    assert output.exists(), f"drive.lua wrote nothing (exit {process.returncode}):\n{said}"
    seen = json.loads(output.read_text(encoding="utf-8"))
    assert "failure" not in seen, (
        f"{seen['failure']}\nserver messages: {seen['messages']}\n{said}")
    assert process.returncode == 0, said
    return Session(seen, workspace, server_log, said)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    """One Neovim run, shared by the tests below (each checks one part of it)."""
    script = PlanSearchScript("area", first=2, derived=2, code_for=area_code)
    with FakeLLMServer(script, api_key=KEY) as fake:
        return run_neovim(tmp_path_factory.mktemp("nvim"), fake)


def test_the_action_is_listed_in_the_stub_only(session: Session) -> None:
    (action,) = session.seen["actions_at_stub"]
    assert action == {"title": "Generate via PlanSearch", "kind": "refactor.rewrite.plansearch",
                      "command": "plansearch.generate"}
    assert session.seen["actions_at_implemented"] == []
    assert session.seen["select_items"] == ["Generate via PlanSearch"]


def test_the_chosen_candidate_replaces_the_stub_on_disk(session: Session) -> None:
    result = session.seen["command"]["result"]
    assert result["target"] == "area" and result["finishReason"] == "completed"
    best = result["candidates"][0]
    assert best["passesAll"] and RIGHT in best["code"]

    (request,) = session.seen["message_requests"]
    assert request["message"].startswith("PlanSearch: 6 candidates for area")
    offered = [action["title"] for action in request["actions"]]
    assert len(offered) == 6 and session.seen["chosen"] == offered[0]
    assert offered[0].startswith(f"1. [{best['tally']}] ")
    assert session.seen["apply_results"] == [{"applied": True}]

    # The stub's lines now hold the candidate's function with the stub's docstring (the
    # splice rules); every other line is as it was.
    text = (session.workspace / "geometry.py").read_text(encoding="utf-8")
    signature = "def area(r: float) -> float:\n"  # the stub's own, kept
    assert text == PREFIX + signature + DOCSTRING + f"    return {RIGHT}\n" + TAIL


def test_progress_was_reported(session: Session) -> None:
    progress = session.seen["progress"]
    values = [item["value"] for item in progress]
    assert len({item["token"] for item in progress}) == 1
    assert values[0]["kind"] == "begin" and values[0]["title"] == "PlanSearch: area"
    assert values[-1] == {"kind": "end",
                          "message": "6 candidates, 3 pass every test (completed)"}
    reports = [v["message"] for v in values if v["kind"] == "report"]
    assert any(m.startswith("code ·") for m in reports)
    assert "6 tested, 3 passing" in reports[-1]


def test_hover_shows_the_plan_and_the_tests(session: Session) -> None:
    best = session.seen["command"]["result"]["candidates"][0]
    hover = session.seen["hover"]
    assert session.seen["hover_kind"] == "markdown"
    assert best["plan"]["sketch"] and best["plan"]["sketch"].strip() in hover
    assert best["plan"]["fixedSketch"].strip() in hover
    assert f"Tests: {best['tally']}" in hover
    assert "2/2 of test_geometry.py" in best["tally"], best["tally"]
    assert "test_geometry.py::test_radius_two" in hover

    shown = "\n".join(session.seen["hover_window"])  # what vim.lsp.buf.hover() displays
    assert best["plan"]["fixedSketch"].strip() in shown and best["tally"] in shown


def test_the_server_exits_cleanly_and_never_shows_the_key(session: Session) -> None:
    assert session.seen["exit"] == {"code": 0, "signal": 0}
    assert KEY not in json.dumps(session.seen)
    assert KEY not in session.server_log.read_text(encoding="utf-8")
    assert KEY not in session.console
