"""End-to-end fixtures: the real server process, a pytest-lsp client acting as an editor,
and the fake model server.

The client keeps its own copy of each open document (text and version), answers
`workspace/applyEdit` the way an editor does (refusing an edit whose version is stale),
records progress and partial results, and answers `window/showMessageRequest` with a
scripted choice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import pytest
from cattrs import Converter
from lsprotocol import types
from pygls.protocol import JsonRPCNotification, JsonRPCResponseMessage, default_converter
from pytest_lsp import LanguageClient
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

from tests.support.fake_llm import FakeCall, FakeLLMServer
from tests.support.plansearch_script import PlanSearchScript

KEY = "sk-ant-lsp-test-0123456789abcdef"
STUB = '''\
"""Geometry helpers."""
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
SERVER_TIMEOUT = 60.0
"""Seconds any single exchange with the server may take in these tests."""


def area_code(call: FakeCall) -> str:
    """Right code when written from a fixed sketch, wrong otherwise."""
    fixed = "fix reply" in call.messages[-1][1]
    body = "math.pi * r * r" if fixed else "2 * math.pi * r"
    return f"```python\nimport math\n\ndef area(r):\n    return {body}\n```"


@dataclass
class Editor:
    """What the client side of the tests keeps and records."""

    documents: dict[str, tuple[int, str]] = field(default_factory=dict)
    progress: dict[types.ProgressToken, list[Any]] = field(default_factory=dict)
    created_tokens: list[types.ProgressToken] = field(default_factory=list)
    hold_create: asyncio.Event | None = None
    """When set, replies to `window/workDoneProgress/create` wait for this event."""
    create_requested: asyncio.Event = field(default_factory=asyncio.Event)
    message_requests: list[types.ShowMessageRequestParams] = field(default_factory=list)
    choose: Callable[[types.ShowMessageRequestParams], types.MessageActionItem | None] = (
        lambda params: params.actions[0] if params.actions else None
    )
    applied_edits: list[types.ApplyWorkspaceEditParams] = field(default_factory=list)
    notifications: dict[str, list[Any]] = field(default_factory=dict)
    timeline: list[tuple[types.ProgressToken, Any]] = field(default_factory=list)
    """Every `$/progress` in the order it came, on all tokens."""


class Client:
    """A pytest-lsp client with an `Editor`, and helpers for the tests."""

    def __init__(self, lsp: LanguageClient, editor: Editor, workspace: Path) -> None:
        self.lsp = lsp
        self.editor = editor
        self.workspace = workspace

    def uri(self, name: str) -> str:
        return (self.workspace / name).as_uri()

    def open(self, name: str, text: str | None = None, language: str = "python") -> str:
        uri = self.uri(name)
        if text is None:
            text = (self.workspace / name).read_text(encoding="utf-8")
        self.editor.documents[uri] = (1, text)
        self.lsp.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id=language, version=1,
                                                 text=text)))
        return uri

    def change(self, uri: str, text: str) -> None:
        version = self.editor.documents[uri][0] + 1
        self.editor.documents[uri] = (version, text)
        self.lsp.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))

    def text(self, uri: str) -> str:
        return self.editor.documents[uri][1]

    async def request(self, method: str, params: Any, msg_id: int | str | None = None) -> Any:
        return await asyncio.wait_for(
            self.lsp.protocol.send_request_async(method, params, msg_id=msg_id),
            SERVER_TIMEOUT)

    async def code_actions(
        self, uri: str, start: tuple[int, int], end: tuple[int, int] | None = None
    ) -> list[types.CodeAction | types.Command]:
        end = end or start
        result = await asyncio.wait_for(self.lsp.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(start=types.Position(line=start[0], character=start[1]),
                                  end=types.Position(line=end[0], character=end[1])),
                context=types.CodeActionContext(diagnostics=[]))), SERVER_TIMEOUT)
        return list(result or [])

    async def hover(self, uri: str, line: int, character: int = 4) -> types.Hover | None:
        return await asyncio.wait_for(self.lsp.text_document_hover_async(types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=character))), SERVER_TIMEOUT)

    async def responsive(self) -> None:
        """The server still answers an ordinary request."""
        await asyncio.wait_for(self.lsp.text_document_hover_async(types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=self.uri("nothing.py")),
            position=types.Position(line=0, character=0))), SERVER_TIMEOUT)

    def log_text(self) -> str:
        """Everything the server said to the user or the log."""
        return "\n".join([*(m.message for m in self.lsp.log_messages),
                          *(m.message for m in self.lsp.messages)])


def capabilities(*, markdown: bool = True) -> types.ClientCapabilities:
    """What the test client says it supports (much like VS Code)."""
    return types.ClientCapabilities(
        workspace=types.WorkspaceClientCapabilities(
            configuration=True,
            workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True),
            apply_edit=True,
        ),
        text_document=types.TextDocumentClientCapabilities(
            hover=types.HoverClientCapabilities(
                content_format=[types.MarkupKind.Markdown, types.MarkupKind.PlainText]
                if markdown else [types.MarkupKind.PlainText]),
            code_action=types.CodeActionClientCapabilities(
                disabled_support=True,
                code_action_literal_support=types.ClientCodeActionLiteralOptions(
                    code_action_kind=types.ClientCodeActionKindOptions(
                        value_set=["refactor.rewrite", "quickfix"])))),
        window=types.WindowClientCapabilities(
            work_done_progress=True,
            show_message=types.ShowMessageRequestClientCapabilities()),
    )


def _features(editor: Editor) -> dict[str, Any]:
    def progress(client: LanguageClient, params: types.ProgressParams) -> None:
        editor.progress.setdefault(params.token, []).append(params.value)
        editor.timeline.append((params.token, params.value))

    async def create(client: LanguageClient, params: types.WorkDoneProgressCreateParams) -> None:
        editor.created_tokens.append(params.token)
        editor.create_requested.set()
        if editor.hold_create is not None:
            await editor.hold_create.wait()

    def apply_edit(
        client: LanguageClient, params: types.ApplyWorkspaceEditParams
    ) -> types.ApplyWorkspaceEditResult:
        editor.applied_edits.append(params)
        for change in params.edit.document_changes or []:
            assert isinstance(change, types.TextDocumentEdit)
            uri = change.text_document.uri
            version, text = editor.documents[uri]
            if change.text_document.version != version:
                return types.ApplyWorkspaceEditResult(
                    applied=False, failure_reason=f"{uri} is at version {version}")
            text = _apply(text, [e for e in change.edits if isinstance(e, types.TextEdit)])
            editor.documents[uri] = (version + 1, text)
            client.text_document_did_change(types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version + 1),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))
        return types.ApplyWorkspaceEditResult(applied=True)

    def message_request(
        client: LanguageClient, params: types.ShowMessageRequestParams
    ) -> types.MessageActionItem | None:
        editor.message_requests.append(params)
        return editor.choose(params)

    def ranking_changed(client: LanguageClient, params: Any) -> None:
        editor.notifications.setdefault("plansearch/rankingChanged", []).append(params)

    return {
        **DEFAULT_CLIENT_FEATURES,
        types.PROGRESS: progress,
        types.WINDOW_WORK_DONE_PROGRESS_CREATE: create,
        types.WORKSPACE_APPLY_EDIT: apply_edit,
        types.WINDOW_SHOW_MESSAGE_REQUEST: message_request,
        "plansearch/rankingChanged": ranking_changed,
    }


def _apply(text: str, edits: list[types.TextEdit]) -> str:
    lines = text.splitlines(keepends=True)

    def offset(position: types.Position) -> int:
        return sum(len(line) for line in lines[: position.line]) + position.character

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character),
                       reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end):]
    return text


def client_converter() -> Converter:
    """lsprotocol's converter, with its code-action hook fixed: it reads every action that
    has a `command` as a Command, although a CodeAction's `command` is an object."""
    converter = default_converter()

    def action(value: Any, _: type) -> types.Command | types.CodeAction:
        is_command = isinstance(value.get("command"), str)
        return converter.structure(value, types.Command if is_command else types.CodeAction)

    converter.register_structure_hook(types.Command | types.CodeAction, action)
    converter.register_structure_hook(Union[types.Command, types.CodeAction], action)  # noqa: UP007
    # The server's own results and notifications stay plain JSON (pygls makes namedtuples).
    for message in (JsonRPCResponseMessage, JsonRPCNotification):
        converter.register_structure_hook(message, lambda data, cls: cls(**data))
    return converter


def server_env(tmp_path: Path, *, key: str | None = KEY) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("ANTHROPIC_", "OPENAI_", "PLANSEARCH_"))}
    env["PLANSEARCH_CONFIG"] = str(tmp_path / "no-config.toml")
    env["PLANSEARCH_CACHE_PATH"] = str(tmp_path / "cache" / "responses.sqlite3")
    if key is not None:
        env["ANTHROPIC_API_KEY"] = key
    return env


def init_options(fake: FakeLLMServer, **extra: Any) -> dict[str, Any]:
    """The tree alone (no direct candidate) unless `extra` says otherwise."""
    return {"baseUrl": fake.base_url_anthropic, "budget": "quick", "timeout": 10,
            "maxRetries": 0, "isolation": "rlimits", "direct": False, **extra}


@contextlib.asynccontextmanager
async def session(
    workspace: Path,
    *,
    env: dict[str, str],
    options: dict[str, Any] | None = None,
    configuration: dict[str, Any] | None = None,
    caps: types.ClientCapabilities | None = None,
    editor: Editor | None = None,
    command: list[str] | None = None,
    client_name: str | None = None,
) -> AsyncIterator[Client]:
    """A server process for `workspace`, initialised; shut down (or killed) at the end."""
    editor = editor or Editor()
    lsp = LanguageClient(converter_factory=client_converter,
                         configuration={"": {"plansearch": configuration or {}}})
    register_lsp_features(lsp, _features(editor))
    log_file = workspace.parent / f"{workspace.name}-lsp.log"
    argv = command or [sys.executable, "-m", "plansearch_lsp", "--stdio", "--log-file",
                       str(log_file)]
    await lsp.start_io(*argv, env=env, cwd=str(workspace))
    try:
        await asyncio.wait_for(lsp.initialize_session(types.InitializeParams(
            capabilities=caps or capabilities(), root_uri=workspace.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="ws")],
            initialization_options=options,
            client_info=types.ClientInfo(name=client_name) if client_name else None)),
            SERVER_TIMEOUT)
        yield Client(lsp, editor, workspace)
    finally:
        try:
            await asyncio.wait_for(lsp.shutdown_session(), SERVER_TIMEOUT)
        except (TimeoutError, RuntimeError):
            if lsp._server is not None and lsp._server.returncode is None:
                lsp._server.kill()
        await asyncio.wait_for(lsp.stop(), SERVER_TIMEOUT)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "geometry.py").write_text(STUB, encoding="utf-8")
    (folder / "pyproject.toml").write_text("[project]\nname = 'ws'\n", encoding="utf-8")
    return folder


@pytest.fixture
def fake() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(PlanSearchScript("area", first=2, derived=2, code_for=area_code)) as server:
        yield server


@pytest.fixture
async def client(
    workspace: Path, fake: FakeLLMServer, tmp_path: Path
) -> AsyncIterator[Client]:
    async with session(workspace, env=server_env(tmp_path), options=init_options(fake)) as c:
        yield c
