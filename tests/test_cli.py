"""`plansearch` as a user runs it: a real process, the real SDK, the fake server."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from plansearch.result import FinishReason, SearchResult
from tests.support.fake_llm import FakeCall, FakeLLMServer
from tests.support.plansearch_script import PlanSearchScript

STUB = '''\
"""A module with a stub."""
import math


def area(r: float) -> float:
    """Area of a circle of radius r.

    >>> area(1.0)
    3.141592653589793
    """
    ...


def done(x: int) -> int:
    return x + 1
'''


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "geometry.py").write_text(STUB, encoding="utf-8")
    return tmp_path


def area_code(call: FakeCall) -> str:
    """Right code when written from a fixed sketch, wrong otherwise."""
    fixed = "fix reply" in call.messages[-1][1]
    body = "math.pi * r * r" if fixed else "2 * math.pi * r"
    return f"```python\nimport math\n\ndef area(r):\n    return {body}\n```"


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(PlanSearchScript("area", first=2, derived=2, code_for=area_code)) as fake:
        yield fake


def cli_env(server: FakeLLMServer | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANTHROPIC_", "OPENAI_"))}
    env["COLUMNS"] = "250"  # rich wraps table cells to the terminal width
    env["PLANSEARCH_DIRECT"] = "false"  # the tree alone: its candidates are known in advance
    if server is not None:
        env["ANTHROPIC_API_KEY"] = "sk-cli-test"
        env["ANTHROPIC_BASE_URL"] = server.base_url_anthropic
    return env


def default_sigint() -> None:
    """For `preexec_fn`: Ctrl-C does in the child what it does in a terminal's foreground.
    A shell starts a background job (`pytest &`, a CI step sent to the background) with
    SIGINT ignored, and an ignored signal stays ignored in every process started below it:
    the program under test then rightly ignores it too, and a test's SIGINT does nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def plansearch(
    *args: str, cwd: Path, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "plansearch", *args], cwd=cwd, env=env,
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )


def test_missing_key_says_how_to_provide_one(workspace: Path) -> None:
    run = plansearch("solve", "geometry.py::area", cwd=workspace, env=cli_env())
    assert run.returncode == 2
    assert "ANTHROPIC_API_KEY" in run.stderr
    assert "--provider openai --base-url http://localhost:11434/v1" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.slow
def test_solve_prints_a_table_of_candidates(workspace: Path, server: FakeLLMServer) -> None:
    run = plansearch("solve", "geometry.py::area", "--budget", "quick", cwd=workspace,
                     env=cli_env(server))
    assert run.returncode == 0, run.stderr
    assert "candidates for area" in run.stdout
    assert "sketch reply" in run.stdout  # the first line of each plan
    assert "1/1 docstring examples" in run.stdout and "0/1 docstring examples" in run.stdout
    table = run.stdout[run.stdout.index("candidates for area"):]
    assert table.index("1/1 docstring") < table.index("0/1 docstring"), "passing ones first"
    assert "3 of 6 tested candidates pass all 1 trusted test;" in run.stderr
    assert "explored its whole tree" in run.stderr
    assert server.request_count > 0


@pytest.mark.slow
def test_show_prints_the_whole_plan(workspace: Path, server: FakeLLMServer) -> None:
    env = cli_env(server)
    args = ("solve", "geometry.py::area", "--budget", "quick")
    assert plansearch(*args, cwd=workspace, env=env).returncode == 0
    requests = server.request_count
    run = plansearch(*args, "--show", "1", cwd=workspace, env=env)
    assert run.returncode == 0, run.stderr
    assert server.request_count == requests, "the repeat is answered from the cache"
    for title in ("Sketch", "Criticism", "Fixed sketch", "Code", "Tests"):
        assert title in run.stdout
    assert "math.pi * r * r" in run.stdout
    assert "docstring#1" in run.stdout and "pass" in run.stdout
    last = plansearch(*args, "--show", "6", cwd=workspace, env=env)
    assert "2 * math.pi * r" in last.stdout and "fail" in last.stdout
    out_of_range = plansearch(*args, "--show", "99", cwd=workspace, env=env)
    assert out_of_range.returncode == 2
    assert "there are 6 candidates" in out_of_range.stderr


@pytest.mark.slow
def test_json_output_follows_the_schema(workspace: Path, server: FakeLLMServer) -> None:
    run = plansearch("solve", "geometry.py::area", "--budget", "quick", "--json",
                     "--no-pseudocode", cwd=workspace, env=cli_env(server))
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    result = SearchResult.model_validate(data)
    assert data["schema_version"] == 1
    assert result.finish_reason is FinishReason.COMPLETED
    assert result.problem == "area"
    assert len(result.candidates) == 6
    assert all(c.plan.pseudocode is None for c in result.candidates)
    schema = plansearch("schema", cwd=workspace, env=cli_env())
    assert json.loads(schema.stdout)["title"] == "SearchResult"


def test_openai_compatible_endpoint_without_a_key(workspace: Path) -> None:
    with FakeLLMServer(PlanSearchScript("area", first=1, derived=1)) as server:
        run = plansearch("solve", "geometry.py::area", "--provider", "openai", "--base-url",
                         server.base_url_openai, "--model", "llama3.1", "--budget", "quick",
                         "--json", cwd=workspace, env=cli_env())
        # the scripted code fails the docstring's example: candidates, none passing
        assert run.returncode == 1, run.stderr
        assert {call.api for call in server.calls} == {"openai"}
        assert {call.model for call in server.calls} == {"llama3.1"}
    assert json.loads(run.stdout)["provider"] == "openai"


@pytest.mark.parametrize(
    ("target", "source", "expected"),
    [
        ("missing.py::f", None, "missing.py"),
        ("broken.py::f", "def f(:\n    pass\n", "broken.py:1:7: syntax error"),
        ("geometry.py::aera", STUB, "area"),
        ("geometry.py::done", STUB, "--force"),
        ("bare.py::f", "def f(x):\n    pass\n", "docstring"),
    ],
)
def test_problem_errors_are_one_clear_line(
    workspace: Path, target: str, source: str | None, expected: str
) -> None:
    if source is not None:
        (workspace / target.split("::")[0]).write_text(source, encoding="utf-8")
    run = plansearch("solve", target, cwd=workspace, env=cli_env())
    assert run.returncode == 2
    assert expected in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.slow
def test_statement_from_stdin_with_a_signature(workspace: Path, server: FakeLLMServer) -> None:
    env = cli_env(server)
    run = subprocess.run(
        [sys.executable, "-m", "plansearch", "solve", "--statement", "-", "--signature",
         "def area(r: float) -> float", "--budget", "quick", "--json"],
        cwd=workspace, env=env, input="Compute the area of a circle.", capture_output=True,
        text=True, timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["problem"] == "area"
    assert "Compute the area of a circle." in server.calls[0].system


@pytest.mark.slow
def test_ctrl_c_stops_the_search_and_keeps_candidates(workspace: Path) -> None:
    with FakeLLMServer(PlanSearchScript("area", first=3, derived=3), latency=0.15) as server:
        process = subprocess.Popen(
            [sys.executable, "-m", "plansearch", "solve", "geometry.py::area",
             "--budget", "full", "--concurrency", "4"],
            cwd=workspace, env=cli_env(server), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
            preexec_fn=default_sigint,
        )
        assert process.stderr is not None
        for line in process.stderr:
            if re.search(r"\bcandidate c\d+ ", line):  # the first candidate is in
                break
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    # the process has exited: nothing of the search is left to call the model
    assert process.returncode == 130
    assert re.search(r"^[1-9]\d* candidates? for area", stdout, re.MULTILINE), stdout
    assert "Cancelled" in stderr
    assert "Traceback" not in stderr


@pytest.mark.slow
def test_two_solves_at_once_share_the_cache(workspace: Path) -> None:
    with FakeLLMServer(PlanSearchScript("area", first=2, derived=2), latency=0.01) as server:
        env = cli_env(server)
        command = [sys.executable, "-m", "plansearch", "solve", "geometry.py::area",
                   "--budget", "full", "--json"]
        processes = [subprocess.Popen(command, cwd=workspace, env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                     for _ in range(2)]
        outputs = [p.communicate(timeout=90) for p in processes]
        # the scripted code fails the docstring's example: candidates, none passing (1)
        assert [p.returncode for p in processes] == [1, 1], [o[1] for o in outputs]
        before = server.request_count
        third = plansearch(*command[3:], cwd=workspace, env=env)
        assert third.returncode == 1
        assert server.request_count == before
    results = [json.loads(out) for out, _ in outputs] + [json.loads(third.stdout)]
    assert len({len(r["candidates"]) for r in results}) == 1
    assert results[2]["stats"]["cached_calls"] == results[2]["stats"]["calls"]


@pytest.mark.slow
def test_no_cache_and_cache_clear(workspace: Path, server: FakeLLMServer) -> None:
    env = cli_env(server)
    args = ("solve", "geometry.py::area", "--budget", "quick", "--json")
    plansearch(*args, cwd=workspace, env=env)
    first = server.request_count
    plansearch(*args, "--no-cache", cwd=workspace, env=env)
    assert server.request_count == 2 * first
    info = plansearch("cache", "info", cwd=workspace, env=env)
    assert f"{first} cached replies" in info.stdout
    cleared = plansearch("cache", "clear", cwd=workspace, env=env)
    assert f"Removed {first} cached replies" in cleared.stdout
    plansearch(*args, cwd=workspace, env=env)
    assert server.request_count == 3 * first


WORKSPACE_TEST = '''\
from geometry import area


def test_unit_circle():
    assert abs(area(1.0) - 3.14159) < 1e-4


def test_radius_three():
    assert abs(area(3.0) - 28.27433) < 1e-4
'''


@pytest.mark.slow
def test_workspace_tests_rank_candidates(workspace: Path, server: FakeLLMServer) -> None:
    (workspace / "pyproject.toml").write_text("[project]\nname = 'geo'\n", encoding="utf-8")
    (workspace / "tests").mkdir()
    (workspace / "tests" / "test_geometry.py").write_text(WORKSPACE_TEST, encoding="utf-8")
    before = (workspace / "geometry.py").read_text(encoding="utf-8")
    run = plansearch("solve", "geometry.py::area", "--budget", "quick", cwd=workspace,
                     env=cli_env(server))
    assert run.returncode == 0, run.stderr
    assert "1 from docstring, 2 from tests/test_geometry.py" in run.stderr
    assert "1/1 docstring examples, 2/2 of tests/test_geometry.py" in run.stdout
    assert "0/1 docstring examples, 0/2 of tests/test_geometry.py" in run.stdout
    assert (workspace / "geometry.py").read_text(encoding="utf-8") == before


@pytest.mark.slow
def test_stop_when_passing_and_no_tests(workspace: Path) -> None:
    with FakeLLMServer(PlanSearchScript("area", first=3, derived=3, code_for=area_code),
                       latency=0.02) as server:
        env = cli_env(server)
        run = plansearch("solve", "geometry.py::area", "--budget", "full", "--json",
                         "--stop-when-passing", "1", "--concurrency", "4", cwd=workspace, env=env)
        assert run.returncode == 0, run.stderr
        result = json.loads(run.stdout)
        assert result["finish_reason"] == "enough_passing"
        assert result["ranking"]["passing"] >= 1
        untested = plansearch("solve", "geometry.py::area", "--budget", "quick", "--json",
                              "--no-tests", cwd=workspace, env=env)
    data = json.loads(untested.stdout)
    assert data["ranking"] is None and data["runs"] == {} and data["isolation"] is None


def test_doctor_reports_the_sandbox_and_the_missing_key(workspace: Path) -> None:
    run = plansearch("doctor", cwd=workspace, env=cli_env())
    assert run.returncode == 1
    assert "sandbox level:" in run.stdout
    assert "ANTHROPIC_API_KEY" in run.stdout
    with_key = plansearch("doctor", cwd=workspace, env={**cli_env(), "ANTHROPIC_API_KEY": "x"})
    assert with_key.returncode == 0, with_key.stdout
    assert "key set" in with_key.stdout and "x" not in with_key.stdout.split("key set")[1][:3]


def test_serve_over_tcp_answers_initialize(workspace: Path) -> None:
    import re
    import socket

    process = subprocess.Popen(
        [sys.executable, "-m", "plansearch", "serve", "--tcp", "127.0.0.1:0"], cwd=workspace,
        env=cli_env(), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.search(r"127\.0\.0\.1:(\d+)", line)
        assert match, line
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                           "params": {"processId": None, "rootUri": None, "capabilities": {}}})
        with socket.create_connection(("127.0.0.1", int(match.group(1))), timeout=20) as conn:
            conn.sendall(f"Content-Length: {len(body)}\r\n\r\n{body}".encode())
            received = b""
            while b'"capabilities"' not in received:
                chunk = conn.recv(65536)
                assert chunk, received
                received += chunk
        assert b"codeActionProvider" in received
    finally:
        process.kill()
        process.wait(timeout=10)
