"""What a person sees in the editor, at the protocol level: the fast first candidate, failures
explained in the client's words, candidates grouped by behaviour with their warnings, one
account of progress, previews of the function as it lands, clean plans, and code actions
answered as soon as the server has answered `initialize`.

The VS Code end-to-end test (vscode-extension/test/e2e) and the Neovim test (tests/nvim) show
the same to a person; these check what the server sends.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.client import LanguageClient

from tests.lsp.conftest import (
    SERVER_TIMEOUT,
    Client,
    area_code,
    capabilities,
    init_options,
    server_env,
    session,
)
from tests.support.fake_llm import FakeCall, FakeLLMServer
from tests.support.plansearch_script import PlanSearchScript, stage_of

pytestmark = pytest.mark.slow  # whole searches through the server

GENERATE = "plansearch/generate"
PREVIEW = "plansearch/preview"
REQUEST_FAILED = -32803
VS_CODE = "Visual Studio Code"
"""How the PlanSearch extension's client introduces itself (with its own command)."""
EXTENSION = {"codeActionCommand": "plansearch.search"}
DIRECT_IDEA = "Use the formula pi times r squared."
TESTS = """\
from geometry import area


def test_radius_two():
    assert abs(area(2.0) - 12.566370614359172) < 1e-9
"""
"""A workspace test: the right code passes it, and so does 2 * pi * r (by chance)."""
SPECIAL = ("```python\nimport math\n\ndef area(r):\n    if r == 3.0:\n"
           "        return 28.274333882308138\n    return 2 * r\n```")
"""Code that holds the docstring's example (area(3.0), see `example_at_three`)."""


def at_stub(uri: str, **extra: Any) -> dict[str, Any]:
    return {"textDocument": {"uri": uri}, "position": {"line": 4, "character": 4}, **extra}


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def is_direct(call: FakeCall) -> bool:
    return call.messages[-1][1].startswith("Solve the problem in Python")


class Scripted:
    """The PlanSearch script, with a direct answer that holds back the tree until the test
    saw it (`release`), and one candidate of the tree that special-cases the example."""

    def __init__(self, *, hold_tree: bool = False, sketch: Callable[[FakeCall], str] | None
                 = None) -> None:
        self.script = PlanSearchScript("area", first=2, derived=2, code_for=self.code)
        self.release = threading.Event()
        if not hold_tree:
            self.release.set()
        self.sketch = sketch
        self.lock = threading.Lock()
        self.wrong = 0

    def code(self, call: FakeCall) -> str:
        if "fix reply" in call.messages[-1][1]:
            return area_code(call)
        with self.lock:
            self.wrong += 1
            first = self.wrong == 1
        return SPECIAL if first else area_code(call)

    def __call__(self, call: FakeCall) -> str:
        if is_direct(call):
            return (f"{DIRECT_IDEA}\n\n```python\nimport math\n\ndef area(r):\n"
                    "    return math.pi * r * r\n```")
        self.release.wait(SERVER_TIMEOUT)
        if self.sketch is not None and stage_of(call) == "sketch":
            return self.sketch(call)
        reply = self.script(call)
        assert isinstance(reply, str)
        return reply


async def until(condition: Callable[[], object], seconds: float = SERVER_TIMEOUT) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


async def test_the_direct_candidate_is_the_first_one_streamed(
    workspace: Path, tmp_path: Path
) -> None:
    responder = Scripted(hold_tree=True)
    with FakeLLMServer(responder) as fake:
        async with session(workspace, env=server_env(tmp_path),
                           options=init_options(fake, direct=True)) as client:
            uri = client.open("geometry.py")
            pending = asyncio.create_task(client.request(
                GENERATE, at_stub(uri, workDoneToken="w", partialResultToken="p")))
            await until(lambda: client.editor.progress.get("p"))
            (first,) = client.editor.progress["p"][0]["candidates"]
            assert first["id"] == "direct" and first["headline"] == DIRECT_IDEA
            assert first["tested"] and first["passesAll"]
            assert first["cluster"] == 1 and first["clusterSize"] == 1
            responder.release.set()  # the tree had not answered a single call until now
            result = await pending
    assert result["finishReason"] == "completed"
    ids = [c["id"] for c in result["candidates"]]
    assert "direct" in ids and len(ids) == 7


async def test_candidates_are_grouped_by_behaviour_with_their_warnings(
    workspace: Path, tmp_path: Path
) -> None:
    example_at_three(workspace)
    (workspace / "test_geometry.py").write_text(TESTS, encoding="utf-8")
    with FakeLLMServer(Scripted()) as fake:
        async with session(workspace, env=server_env(tmp_path),
                           options=init_options(fake)) as client:
            uri = client.open("geometry.py")
            result = await client.request(
                GENERATE, at_stub(uri, workDoneToken="w", partialResultToken="p"))
            timeline = client.editor.timeline
    candidates = result["candidates"]
    assert len(candidates) == 6
    groups: dict[int, list[dict[str, Any]]] = {}
    for item in candidates:
        groups.setdefault(item["cluster"], []).append(item)
    # Three right (the fixed sketches), one that special-cases the example (and fails the
    # workspace test), two wrong (that pass the workspace test).
    assert sorted(len(members) for members in groups.values()) == [1, 2, 3]
    for members in groups.values():
        assert [m["representative"] for m in members] == [True] + [False] * (len(members) - 1)
        assert {m["clusterSize"] for m in members} == {len(members)}
    best = groups[1]
    assert len(best) == 3 and all(m["passesAll"] for m in best)
    (flagged,) = [c for c in candidates if "may special-case the tests" in c["flags"]]
    assert flagged["clusterSize"] == 1 and flagged["representative"]
    assert flagged["firstFailure"].startswith("test_geometry.py::test_radius_two")

    # Each tested candidate is streamed with every candidate's place in the new ranking,
    # before the progress that counts it: what a client shows never runs ahead of its rows.
    streamed = 0
    for token, value in timeline:
        if token == "p":
            streamed += 1
            assert len(value["ranking"]) >= streamed
            assert {p["id"] for p in value["ranking"]} >= {value["candidates"][0]["id"]}
        elif token == "w" and "counts" in value:
            assert value["counts"]["tested"] <= streamed, value
    assert streamed == 6

    work = [value for token, value in timeline if token == "w"]
    reports = [v["message"] for v in work if v["kind"] == "report"]
    assert any(m.startswith("finding observations · ") for m in reports)
    assert any(m.startswith("writing plans · ") for m in reports)
    assert any(m.startswith("writing code · ") for m in reports)
    assert reports[-1].startswith("testing · 19 calls · "), reports
    assert reports[-1].endswith(" tokens · 6 candidates, 6 tested, 3 passing"), reports
    assert work[-1]["message"] == "6 candidates, 3 pass every test (completed)"
    assert work[-1]["counts"]["tested"] == 6 and work[-1]["counts"]["passing"] == 3


async def test_an_unreachable_endpoint_is_explained_in_the_editors_words(
    workspace: Path, tmp_path: Path
) -> None:
    options = {**init_options_for(f"http://127.0.0.1:{closed_port()}"), **EXTENSION}
    async with session(workspace, env=server_env(tmp_path), options=options,
                       client_name=VS_CODE) as client:
        uri = client.open("geometry.py")
        result = await client.request(GENERATE, at_stub(uri, workDoneToken="w"))
    assert result["candidates"] == []
    message = result["message"]
    assert result["finishReason"] == "error"
    assert message.startswith("Cannot reach the Anthropic API at http://127.0.0.1:"), message
    assert "`plansearch.baseUrl`" in message and "--base-url" not in message
    end = client.editor.progress["w"][-1]
    assert end["kind"] == "end" and end["message"] == message
    assert all("--base-url" not in error for error in result["errors"])


def example_at_three(workspace: Path) -> None:
    """The stub's example at r = 3 (special-casing r = 1.0 is not told apart from using 1)."""
    stub = workspace / "geometry.py"
    text = stub.read_text(encoding="utf-8")
    stub.write_text(text.replace(">>> area(1.0)\n    3.141592653589793",
                                 ">>> area(3.0)\n    28.274333882308138"), encoding="utf-8")


def init_options_for(base_url: str) -> dict[str, Any]:
    return {"baseUrl": base_url, "budget": "quick", "timeout": 10, "maxRetries": 0,
            "isolation": "rlimits", "direct": False}


@pytest.mark.parametrize(
    ("client", "extension", "hint"),
    [
        ("Visual Studio Code", True, 'the command "PlanSearch: Set API Key"'),
        ("Neovim", False, "`ANTHROPIC_API_KEY` in the environment Neovim is started from"),
    ],
)
async def test_a_missing_key_is_explained_as_the_client_sets_one(
    workspace: Path, tmp_path: Path, client: str, extension: bool, hint: str
) -> None:
    options = {**init_options_for("http://127.0.0.1:9"), **(EXTENSION if extension else {}),
               "apiKey": "in-the-settings"}
    async with session(workspace, env=server_env(tmp_path, key=None), options=options,
                       client_name=client) as editor:
        uri = editor.open("geometry.py")
        with pytest.raises(JsonRpcException) as missing:
            await editor.request(GENERATE, at_stub(uri))
        assert missing.value.code == REQUEST_FAILED
        assert hint in missing.value.message, missing.value.message
        assert "--provider" not in missing.value.message
        assert "`plansearch.baseUrl` = http://localhost:11434/v1" in missing.value.message
        if not extension:  # the server's own command, as Neovim runs it: told with showMessage
            (action,) = await editor.code_actions(uri, (4, 4))
            assert isinstance(action, types.CodeAction) and action.command is not None
            with pytest.raises(JsonRpcException):
                await editor.lsp.workspace_execute_command_async(types.ExecuteCommandParams(
                    command=action.command.command, arguments=action.command.arguments))
            errors = [m.message for m in editor.lsp.messages
                      if m.type == types.MessageType.Error]
            assert errors and hint in errors[-1]
        await editor.responsive()
        settings = [m.message for m in editor.lsp.messages if "apiKey" in m.message]
    assert settings and hint in settings[0], settings


async def test_a_preview_has_the_function_as_it_lands(client: Client) -> None:
    uri = client.open("geometry.py")
    result = await client.request(GENERATE, at_stub(uri))
    best = result["candidates"][0]
    preview = await client.request(PREVIEW, {"searchId": result["searchId"],
                                             "candidateId": best["id"]})
    function = preview["function"]
    assert function.startswith("def area(r: float) -> float:\n    \"\"\"Area of a circle")
    assert function.endswith("    return math.pi * r * r\n")
    assert function in preview["after"] and best["code"] not in preview["after"]
    before, after = preview["before"].splitlines(), preview["after"].splitlines()
    first_change = next(i for i, (a, b) in enumerate(zip(before, after, strict=False))
                        if a != b)
    assert before[first_change].strip() == "..."  # the stub's body, below its docstring


async def test_a_plan_is_prose_without_code_that_is_not_the_candidate(
    workspace: Path, tmp_path: Path
) -> None:
    def sketch(call: FakeCall) -> str:
        return ("Here is the sketch:\n\nSquare the radius and multiply by pi.\n\n"
                "```python\ndef area(r):\n    return 0  # a first try\n```\n\n"
                "That is all it takes.")

    with FakeLLMServer(Scripted(sketch=sketch)) as fake:
        async with session(workspace, env=server_env(tmp_path),
                           options=init_options(fake)) as client:
            uri = client.open("geometry.py")
            result = await client.request(GENERATE, at_stub(uri))
            unfixed = next(c for c in result["candidates"] if not c["plan"]["fixedSketch"])
            assert unfixed["plan"]["sketch"] == ("Square the radius and multiply by pi.\n\n"
                                                 "That is all it takes.")
            assert unfixed["headline"] == "Square the radius and multiply by pi."
            best = result["candidates"][0]
            await client.request("plansearch/apply", {"searchId": result["searchId"],
                                                      "candidateId": best["id"]})
            hover = await client.hover(uri, 4)
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    text = hover.contents.value
    assert "Square the radius and multiply by pi." in text
    assert "a first try" not in text and "Here is the sketch" not in text


async def test_a_code_action_asked_right_after_initialize_is_answered(
    workspace: Path, tmp_path: Path
) -> None:
    """Before `initialized`, before the settings are read: the action is there."""
    lsp = LanguageClient("early-client", "1")
    await lsp.start_io(sys.executable, "-m", "plansearch_lsp", "--log-file",
                       str(tmp_path / "early.log"), env=server_env(tmp_path),
                       cwd=str(workspace))
    try:
        await asyncio.wait_for(lsp.initialize_async(types.InitializeParams(
            capabilities=capabilities(), root_uri=workspace.as_uri(),
            client_info=types.ClientInfo(name="Neovim"))), SERVER_TIMEOUT)
        uri = (workspace / "geometry.py").as_uri()
        lsp.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1,
                text=(workspace / "geometry.py").read_text(encoding="utf-8"))))
        actions = await asyncio.wait_for(lsp.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(start=types.Position(line=10, character=4),
                                  end=types.Position(line=10, character=4)),
                context=types.CodeActionContext(diagnostics=[]))), SERVER_TIMEOUT)
        assert [a.title for a in actions or []] == ["Generate via PlanSearch"]
        lsp.initialized(types.InitializedParams())
    finally:
        await asyncio.wait_for(lsp.shutdown_async(None), SERVER_TIMEOUT)
        lsp.exit(None)
        await asyncio.wait_for(lsp.stop(), SERVER_TIMEOUT)

