"""The server ends with the editor that started it, and probes silent TCP connections."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lsprotocol import types
from plansearch_lsp import lifeline
from plansearch_lsp.lifeline import KEEPALIVE_IDLE, keep_alive, process_alive
from pytest_lsp import LanguageClient

from tests.lsp.conftest import SERVER_TIMEOUT, capabilities, client_converter, server_env


async def _start(workspace: Path, tmp_path: Path, process_id: int | None) -> LanguageClient:
    lsp = LanguageClient(converter_factory=client_converter)
    await lsp.start_io(sys.executable, "-m", "plansearch_lsp", "--stdio", "--log-file",
                       str(tmp_path / "lsp.log"), env=server_env(tmp_path), cwd=str(workspace))
    await asyncio.wait_for(lsp.initialize_session(types.InitializeParams(
        capabilities=capabilities(), process_id=process_id, root_uri=workspace.as_uri())),
        SERVER_TIMEOUT)
    return lsp


async def _exit_code(lsp: LanguageClient, within: float) -> int | None:
    assert lsp._server is not None
    try:
        return await asyncio.wait_for(lsp._server.wait(), within)
    except TimeoutError:
        return None


@pytest.mark.slow
async def test_the_server_exits_when_the_editor_process_ends(
    workspace: Path, tmp_path: Path
) -> None:
    editor = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    lsp = await _start(workspace, tmp_path, editor.pid)
    try:
        # the editor is alive: the server serves (that its watch leaves it be while the
        # editor lives: test_the_watch_looks_again_while_the_process_lives)
        hover = await asyncio.wait_for(lsp.text_document_hover_async(types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=(workspace / "x.py").as_uri()),
            position=types.Position(line=0, character=0))), SERVER_TIMEOUT)
        assert hover is None
        assert lsp._server is not None and lsp._server.returncode is None
        editor.kill()
        editor.wait()
        assert await _exit_code(lsp, 60.0) == 0  # a bounded wait: it looks every second
        log = (tmp_path / "lsp.log").read_text(encoding="utf-8")
        assert f"the editor's process {editor.pid} ended" in log
    finally:
        editor.kill()
        if lsp._server is not None and lsp._server.returncode is None:
            lsp._server.kill()
        await lsp.stop()


async def test_a_process_id_that_is_not_alive_here_is_not_watched(
    workspace: Path, tmp_path: Path
) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # reaped: this pid names no process now
    lsp = await _start(workspace, tmp_path, gone.pid)
    try:
        # Watched, it would be found ended at the first look, right after `initialize`:
        # the server would log that and exit instead of answering.
        hover = await asyncio.wait_for(lsp.text_document_hover_async(types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=(workspace / "x.py").as_uri()),
            position=types.Position(line=0, character=0))), SERVER_TIMEOUT)
        assert hover is None
        await asyncio.wait_for(lsp.shutdown_session(), SERVER_TIMEOUT)
        assert await _exit_code(lsp, 60.0) == 0
        log = (tmp_path / "lsp.log").read_text(encoding="utf-8")
        assert f"process {gone.pid} ended" not in log
    finally:
        if lsp._server is not None and lsp._server.returncode is None:
            lsp._server.kill()
        await lsp.stop()


def test_a_zombie_counts_as_ended() -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    try:
        for _ in range(6000):  # a bounded wait (about a minute) for the child to end
            if not process_alive(pid):
                break
            time.sleep(0.01)
        assert not process_alive(pid)  # ended, though not reaped yet
        assert Path(f"/proc/{pid}").exists()
    finally:
        os.waitpid(pid, 0)
    assert process_alive(os.getpid())


def test_tcp_connections_are_probed_when_silent() -> None:
    with (socket.create_server(("127.0.0.1", 0)) as listener,
          socket.create_connection(listener.getsockname(), timeout=5)):
        accepted, _ = listener.accept()
        with accepted:
            assert accepted.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
            keep_alive(accepted)
            assert accepted.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            if hasattr(socket, "TCP_KEEPIDLE"):
                idle = accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE)
                assert idle == KEEPALIVE_IDLE


async def test_the_watch_looks_again_while_the_process_lives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The watch of a live process never reports it gone, however often it looks; once the
    process ends, it reports that once."""
    editor = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    looks: list[bool] = []
    alive = lifeline.process_alive

    def look(pid: int) -> bool:
        looks.append(alive(pid))
        if len(looks) == 5:
            editor.kill()
            editor.wait()
        return looks[-1]

    monkeypatch.setattr(lifeline, "process_alive", look)
    reports: list[str] = []
    try:
        await asyncio.wait_for(lifeline.watch_process(editor.pid, reports.append, 0.001), 60)
    finally:
        editor.kill()
        editor.wait()
    assert looks == [True] * 5 + [False]
    assert reports == [f"the editor's process {editor.pid} ended"]
