"""Bad input gets a clear answer, and the server keeps serving."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from plansearch_lsp.documents import document_path
from pygls.exceptions import JsonRpcException
from pygls.workspace import TextDocument

from tests.lsp.conftest import Client, server_env
from tests.lsp.test_generate import GENERATE, REQUEST_FAILED, at_stub
from tests.reliability.fuzz_scenario import RawServer

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
SERVER_NOT_INITIALIZED = -32002


async def error_of(client: Client, method: str, params: Any) -> JsonRpcException:
    with pytest.raises(JsonRpcException) as caught:
        await client.request(method, params)
    return caught.value


async def test_bad_documents_and_malformed_requests(client: Client) -> None:
    markdown = client.open("notes.md", "def f():\n    '''Doc.'''\n    ...\n", language="markdown")
    error = await error_of(client, GENERATE, at_stub(markdown))
    assert error.code == REQUEST_FAILED and error.message == "notes.md is not a Python document"

    broken = client.open("broken.py", 'def f(x:\n    """Add one."""\n    ...\n')
    error = await error_of(client, GENERATE, at_stub(broken))
    assert "broken.py cannot be parsed" in error.message and "syntax error" in error.message

    nothing = await error_of(client, GENERATE, {"textDocument": {"uri": client.open(
        "geometry.py")}, "position": {"line": 0, "character": 0}})
    assert nothing.message.startswith("Nothing to generate here")

    body = "def f(x: int) -> int:\n    return x\n\n"
    huge = client.open("huge.py", body * (5_000_000 // len(body)))
    await client.responsive()  # the server has read the document
    # (that it is never parsed: test_units' test_a_document_over_the_limit_is_never_parsed)
    assert await client.code_actions(huge, (0, 4)) == []
    assert await client.hover(huge, 0) is None
    error = await error_of(client, GENERATE, at_stub(huge))
    assert error.message == "huge.py is too large for PlanSearch (5.0 MB; the limit is 1 MB)"
    await client.responsive()

    error = await error_of(client, "plansearch/unknown", {})
    assert error.code == METHOD_NOT_FOUND and "plansearch/unknown" in error.message

    error = await error_of(client, GENERATE, {"textDocument": 3, "position": {"line": -1}})
    assert error.code == INVALID_PARAMS
    assert error.message.startswith("Invalid params for plansearch/generate: textDocument:")
    assert "position.line" in error.message

    error = await error_of(client, GENERATE, {"textDocument": {"uri": client.uri("geometry.py")}})
    assert "needs a position or a range" in error.message

    error = await error_of(client, "plansearch/apply", {"searchId": "nope", "candidateId": "c1"})
    assert error.code == REQUEST_FAILED and "No search nope in this session" in error.message

    client.lsp.protocol.notify("plansearch/setApiKey", ["not", "an", "object"])
    uri = client.open("geometry.py")
    assert len(await client.code_actions(uri, (4, 4))) == 1, "still serving"


class Raw:
    """A bare JSON-RPC connection: sends what a typed client cannot."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    def send(self, message: dict[str, Any]) -> None:
        self.send_body(json.dumps({"jsonrpc": "2.0", **message}).encode())

    def send_body(self, body: bytes, length: int | None = None) -> None:
        """`body` as a message, with this Content-Length (by default its own)."""
        size = len(body) if length is None else length
        self.writer.write(b"Content-Length: %d\r\n\r\n%s" % (size, body))

    async def reply(self, request_id: int | str | None) -> dict[str, Any]:
        """The response to `request_id` (None: an error about a message without a valid
        id); notifications and server requests are skipped."""
        while True:
            length = 0
            while (line := await self.reader.readline()) != b"\r\n":
                assert line, "the server closed the connection"
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            message: dict[str, Any] = json.loads(await self.reader.readexactly(length))
            if message.get("id") == request_id and "method" not in message:
                return message

    async def request(self, request_id: int | str, method: str, params: Any) -> dict[str, Any]:
        self.send({"id": request_id, "method": method, "params": params})
        return await asyncio.wait_for(self.reply(request_id), 20)


@pytest.fixture
async def tcp_server(workspace: Path, tmp_path: Path) -> AsyncIterator[Raw]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "plansearch_lsp", "--tcp", "127.0.0.1:0", "--log-file",
        str(tmp_path / "tcp.log"), env=server_env(tmp_path), cwd=str(workspace),
        stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    assert process.stderr is not None
    try:
        line = (await asyncio.wait_for(process.stderr.readline(), 20)).decode()
        assert "language server listening on 127.0.0.1:" in line, line
        reader, writer = await asyncio.open_connection("127.0.0.1", int(line.rsplit(":", 1)[1]))
        raw = Raw(reader, writer)
        init = await raw.request(1, "initialize", {"processId": None, "rootUri": workspace.as_uri(),
                                                   "capabilities": {}})
        assert init["result"]["serverInfo"]["name"] == "plansearch"
        raw.send({"method": "initialized", "params": {}})
        yield raw
        assert (await raw.request(99, "shutdown", None))["result"] is None
        raw.send({"method": "exit"})
        assert await asyncio.wait_for(process.wait(), 20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_malformed_standard_requests_over_tcp(tcp_server: Raw, workspace: Path) -> None:
    """pygls 2.1.1 sent no response at all to a standard request with malformed params."""
    reply = await tcp_server.request(2, "textDocument/hover", {
        "textDocument": {"uri": 5}, "position": {"line": "x"}})
    assert reply["error"]["code"] == INVALID_PARAMS
    assert reply["error"]["message"].startswith("Invalid params for textDocument/hover: ")
    assert "position.line" in reply["error"]["message"]
    tcp_server.send({"method": "textDocument/didOpen", "params": {"textDocument": 7}})
    uri = (workspace / "geometry.py").as_uri()
    tcp_server.send({"method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1,
        "text": (workspace / "geometry.py").read_text()}}})
    actions = await tcp_server.request(3, "textDocument/codeAction", {
        "textDocument": {"uri": uri}, "context": {"diagnostics": []},
        "range": {"start": {"line": 4, "character": 4}, "end": {"line": 4, "character": 4}}})
    assert [a["title"] for a in actions["result"]] == ["Generate via PlanSearch"]
    assert isinstance(actions["result"][0]["command"], dict)


def _at(uri: str, line: int, character: int = 0) -> dict[str, Any]:
    spot = {"line": line, "character": character}
    return {"textDocument": {"uri": uri}, "context": {"diagnostics": []},
            "range": {"start": spot, "end": spot}}


async def test_messages_that_are_no_requests_get_json_rpc_errors(
    tcp_server: Raw, workspace: Path
) -> None:
    """pygls 2.1.1 answered none of these (the client waits for ever), ran a notification
    sent with an id (`exit` then exited), ran `shutdown` sent as a notification, dropped
    open documents on a second `initialize`, and took a change's `"text": null` for the
    text "None"."""
    uri = (workspace / "geometry.py").as_uri()
    tcp_server.send({"method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1,
        "text": (workspace / "geometry.py").read_text()}}})
    tcp_server.send_body(b'{"jsonrpc": "2.0", "id": 5, "method": ')
    reply = await asyncio.wait_for(tcp_server.reply(None), 20)
    assert reply["error"]["code"] == PARSE_ERROR and "id" in reply
    tcp_server.send_body(b'[{"jsonrpc": "2.0", "id": 6, "method": "shutdown"}]')
    reply = await asyncio.wait_for(tcp_server.reply(None), 20)
    assert reply["error"]["code"] == INVALID_REQUEST
    tcp_server.send({"id": [7], "method": "textDocument/hover", "params": {}})
    reply = await asyncio.wait_for(tcp_server.reply(None), 20)
    assert reply["error"]["code"] == INVALID_REQUEST
    for request_id, method in enumerate(("exit", "textDocument/didClose"), start=8):
        reply = await tcp_server.request(request_id, method, {"textDocument": {"uri": uri}})
        assert reply["error"] == {"code": INVALID_REQUEST,
                                  "message": f"{method} is a notification: it takes no id"}
    tcp_server.send({"method": "shutdown"})  # a request without an id: ignored
    tcp_server.send({"method": "$/cancelRequest", "params": {"id": [1]}})  # pygls: TypeError
    tcp_server.send({"method": "textDocument/didChange", "params": {  # pygls: the text "None"
        "textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"range": {
            "start": {"line": 10, "character": 4}, "end": {"line": 10, "character": 7}},
            "text": None}]}})
    reply = await tcp_server.request(10, "initialize", {"processId": None, "rootUri": None,
                                                         "capabilities": {}})
    assert reply["error"]["code"] == INVALID_REQUEST
    reply = await tcp_server.request(11, "textDocument/completion", "not params")
    assert reply["error"]["code"] == METHOD_NOT_FOUND
    huge = 10**30
    reply = await tcp_server.request(huge, "textDocument/codeAction", _at(uri, 4))
    assert reply["id"] == huge
    assert [a["title"] for a in reply["result"]] == ["Generate via PlanSearch"]


async def test_a_wrong_content_length_costs_one_message(tcp_server: Raw, workspace: Path) -> None:
    """pygls 2.1.1 read every later header glued to the rest of the short body, and never
    found one again."""
    uri = (workspace / "nowhere.py").as_uri()
    body = json.dumps({"jsonrpc": "2.0", "id": 20, "method": "textDocument/hover", "params": {
        "textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}}).encode()
    tcp_server.send_body(body, len(body) - 7)
    assert (await asyncio.wait_for(tcp_server.reply(None), 20))["error"]["code"] == PARSE_ERROR
    reply = await tcp_server.request(21, "textDocument/codeAction", _at(uri, 0))
    assert reply["result"] is None


def test_requests_before_initialize_and_after_shutdown_are_refused(
    workspace: Path, tmp_path: Path
) -> None:
    """The specification's answers; pygls 2.1.1 served the first and never answered the
    second."""
    server = RawServer(workspace, tmp_path / "lsp.log", tmp_path / "stderr.txt",
                       server_env(tmp_path))
    server.spawn()
    hover = {"textDocument": {"uri": (workspace / "geometry.py").as_uri()},
             "position": {"line": 4, "character": 0}}
    try:
        reply, _ = server.call("textDocument/hover", hover, timeout=30)
        assert reply is not None and reply["error"]["code"] == SERVER_NOT_INITIALIZED
        reply, _ = server.call("initialize", {"processId": None, "rootUri": None,
                                              "capabilities": {}})
        assert reply is not None and "capabilities" in reply["result"]
        reply, _ = server.call("shutdown", None)
        assert reply == {"jsonrpc": "2.0", "id": reply and reply["id"], "result": None}
        reply, _ = server.call("textDocument/hover", hover)
        assert reply is not None and reply["error"]["code"] == INVALID_REQUEST
        server.send({"jsonrpc": "2.0", "method": "exit"})
        server.close_input()
        assert server.process is not None and server.process.wait(20) == 0
    finally:
        server.stop()


async def test_edits_land_where_lsp_counts_lines_and_columns(client: Client) -> None:
    """pygls 2.1.1 split lines at form feeds and U+2028 too (an edit below one landed on
    another line), mangled a range given end first, and kept an analysis whose version
    number the client did not raise."""
    text = ('"""Feeds.\x0c\u2028"""\n'
            "def f(x: int) -> int:  # \x0c\u2028 \U0001f600\n"
            '    """Add one."""\n'
            "    return x + 1\n\n\n"
            "def g(x: int) -> int:\n"
            '    """Add two."""\n'
            "    return x + 2\n")
    uri = client.open("feeds.py", text)
    assert await client.code_actions(uri, (6, 0)) == []

    def change(version: int, start: tuple[int, int], end: tuple[int, int], new: str) -> None:
        client.lsp.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangePartial(
                range=types.Range(start=types.Position(line=start[0], character=start[1]),
                                  end=types.Position(line=end[0], character=end[1])),
                text=new)]))

    change(2, (8, 16), (8, 4), "...")  # g's body, the range end first
    assert len(await client.code_actions(uri, (6, 0))) == 1
    assert await client.code_actions(uri, (1, 0)) == []
    change(2, (3, 4), (3, 1000), "...")  # f's body, to a column past the end of its line
    assert len(await client.code_actions(uri, (1, 0))) == 1, "the version was not raised"


async def test_files_that_are_not_open_are_read_only_when_they_are_text(
    client: Client, workspace: Path
) -> None:
    """pygls 2.1.1 read any path: a FIFO blocked the server for good, and a file that is not
    UTF-8 made hover and code actions fail with InternalError."""
    (workspace / "binary.py").write_bytes(b"def f():\n    return '\xff'\n")
    os.mkfifo(workspace / "pipe.py")
    (workspace / "folder.py").mkdir()
    for name in ("binary.py", "pipe.py", "folder.py"):
        uri = client.uri(name)
        assert await asyncio.wait_for(client.hover(uri, 0), 10) is None
        assert await asyncio.wait_for(client.code_actions(uri, (0, 4)), 10) == []
    error = await error_of(client, GENERATE, at_stub(client.uri("binary.py")))
    assert error.code == REQUEST_FAILED and error.message.startswith("binary.py cannot be read")
    odd = "file:///nowhere/%00odd.py"  # a path no file can have: hover failed with ValueError
    client.lsp.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=odd, language_id="python", version=1,
                                             text="def f(x):\n    return x\n")))
    assert await client.hover(odd, 0) is None


async def test_hover_never_creates_a_run_store(client: Client, tmp_path: Path) -> None:
    """A hover in a file outside any project created `.plansearch/` in its folder: the
    fuzzer's hover on `file:///` made one at the root of the file system."""
    folder = tmp_path / "loose"
    folder.mkdir()
    uri = (folder / "loose.py").as_uri()
    client.lsp.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1,
                                             text="def f(x):\n    return x\n")))
    assert await client.hover(uri, 0) is None
    assert not (folder / ".plansearch").exists()
    remote = TextDocument("file://host/share/x.py")  # pygls: the local /host/share/x.py
    assert document_path(remote) is None
