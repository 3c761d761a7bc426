"""Bad input gets a clear answer, and the server keeps serving."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException

from tests.lsp.conftest import Client, server_env
from tests.lsp.test_generate import GENERATE, REQUEST_FAILED, at_stub

INVALID_PARAMS = -32602
METHOD_NOT_FOUND = -32601


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
    started = time.monotonic()
    assert await client.code_actions(huge, (0, 4)) == []
    assert await client.hover(huge, 0) is None
    error = await error_of(client, GENERATE, at_stub(huge))
    assert error.message == "huge.py is too large for PlanSearch (5.0 MB; the limit is 1 MB)"
    assert time.monotonic() - started < 3, "the large document is never parsed"
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
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    async def reply(self, request_id: int) -> dict[str, Any]:
        """The response to `request_id`; notifications and server requests are skipped."""
        while True:
            length = 0
            while (line := await self.reader.readline()) != b"\r\n":
                assert line, "the server closed the connection"
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            message: dict[str, Any] = json.loads(await self.reader.readexactly(length))
            if message.get("id") == request_id and "method" not in message:
                return message

    async def request(self, request_id: int, method: str, params: Any) -> dict[str, Any]:
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
