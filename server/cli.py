"""`plansearch serve` (and `python -m plansearch_lsp`): run the language server.

Over stdio by default, or over TCP with ``--tcp HOST:PORT``. ``--stdio``, which
vscode-languageclient appends, is accepted and changes nothing. On stdio the protocol gets
the real standard output to itself: anything else printed goes to standard error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import threading
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from .lifeline import keep_alive

if TYPE_CHECKING:  # imported when serving, so that `plansearch --help` stays fast
    from .server import PlanSearchServer

_LINE_LIMIT = 1 << 24
"""Longest header line read from standard input (a header line is a few dozen bytes)."""
_READ_AHEAD = 1 << 20
"""Bytes of standard input read before the server asks for them."""
DESCRIPTION = "Run the PlanSearch language server (stdio unless --tcp is given)."


def add_serve_parser(commands: Any) -> None:
    """Add `serve` to the subcommands of `plansearch` (an argparse subparsers object)."""
    serve = commands.add_parser("serve", help="run the language server",
                                description=DESCRIPTION)
    _add_arguments(serve)


def run_serve(args: argparse.Namespace) -> int:
    """Serve until the client leaves; returns the exit code."""
    from plansearch.hardening import hide_process_memory

    from .server import build_server

    hide_process_memory()  # the key stays out of reach of candidates run without a sandbox
    server = build_server(Path(args.log_file).expanduser() if args.log_file else None)
    try:
        if args.tcp:
            host, port = _address(args.tcp)
            asyncio.run(_serve_tcp(server, host, port))
        else:
            _serve_stdio(server)
    except SystemExit as exit_:  # `exit` from the client ends the loop this way
        return exit_.code if isinstance(exit_.code, int) else 0
    except KeyboardInterrupt:
        return 130
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m plansearch_lsp [--tcp HOST:PORT] [--log-file FILE]`."""
    parser = argparse.ArgumentParser(prog="plansearch_lsp", description=DESCRIPTION)
    _add_arguments(parser)
    return run_serve(parser.parse_args(argv))


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    transport = parser.add_mutually_exclusive_group()
    transport.add_argument("--stdio", action="store_true",
                           help="talk over standard input/output (the default)")
    transport.add_argument("--tcp", metavar="HOST:PORT",
                           help="listen on HOST:PORT for one client (port 0: any free port)")
    parser.add_argument("--log-file", metavar="FILE",
                        help="log file (default: lsp.log in the user log directory)")


def _address(text: str) -> tuple[str, int]:
    host, separator, port = text.rpartition(":")
    if not separator or not port.isdigit():
        raise SystemExit(f"plansearch serve: --tcp wants HOST:PORT, got {text!r}")
    return host or "127.0.0.1", int(port)


def _serve_stdio(server: PlanSearchServer) -> None:
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not corrupt LSP
    sys.stdout = sys.stderr
    server.protocol.set_writer(_Output(protocol_out, server.client_gone))
    server.watch_editor_process = True  # the editor started this server: it ends with it

    async def serve() -> None:
        reader = _Input(sys.stdin.fileno())
        reader.start()
        await server.serve(reader)

    asyncio.run(serve())


class _Input:
    """The client's messages on standard input, read by a daemon thread with plain `os.read`:
    the server can stop reading and exit while a read waits (pygls's reader reads in a
    thread that an exit joins, through a buffered file that a daemon thread must not hold
    at exit). It reads ahead at most `_READ_AHEAD` bytes, more only while a read waits.
    Made on the loop that reads; reading starts with `start`."""

    def __init__(self, fd: int) -> None:
        self._loop = asyncio.get_running_loop()
        self._stream = asyncio.StreamReader(limit=_LINE_LIMIT)
        self._room = threading.Condition()
        self._ahead = 0
        self._waiting = 0
        self._pumping = threading.Thread(target=self._pump, args=(fd,), name="plansearch-stdin",
                                         daemon=True)

    def start(self) -> None:
        """Start reading standard input, in a daemon thread."""
        self._pumping.start()

    async def readline(self) -> bytes:
        return await self._read(self._stream.readline())

    async def readexactly(self, n: int) -> bytes:
        return await self._read(self._stream.readexactly(n))

    async def _read(self, reading: Awaitable[bytes]) -> bytes:
        with self._room:
            self._waiting += 1
            self._room.notify()
        try:
            data = await reading
        finally:
            with self._room:
                self._waiting -= 1
        with self._room:
            self._ahead -= len(data)
            self._room.notify()
        return data

    def _pump(self, fd: int) -> None:
        while True:
            with self._room:
                self._room.wait_for(lambda: self._ahead < _READ_AHEAD or self._waiting > 0)
            try:
                data = os.read(fd, 1 << 16)
            except OSError:  # a broken input: its end
                data = b""
            with self._room:
                self._ahead += len(data)
            try:
                if data:
                    self._loop.call_soon_threadsafe(self._stream.feed_data, data)
                else:
                    self._loop.call_soon_threadsafe(self._stream.feed_eof)
                    return
            except RuntimeError:  # the loop is closed: nobody reads any more
                return


class _Output:
    """Writes the protocol to standard output; when that fails, the client is gone."""

    def __init__(self, stream: BinaryIO, gone: Callable[[str], None]) -> None:
        self._stream = stream
        self._gone = gone

    def write(self, data: bytes) -> None:
        try:
            self._stream.write(data)
            self._stream.flush()
        except (OSError, ValueError) as error:
            self.close()  # nothing left unwritten for the exit to trip over
            self._gone(f"its end of the output closed: {error}")

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._stream.close()


async def _serve_tcp(server: PlanSearchServer, host: str, port: int) -> None:
    finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if finished.done() or server.protocol.writer is not None:
            writer.close()  # one client per server
            return
        server.protocol.set_writer(writer)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            keep_alive(sock)
        try:
            await server.serve(reader)
        finally:
            with contextlib.suppress(OSError):
                writer.close()
            if not finished.done():
                finished.set_result(None)

    listener = await asyncio.start_server(connection, host, port)
    address = listener.sockets[0].getsockname()
    print(f"plansearch: language server listening on {address[0]}:{address[1]}",
          file=sys.stderr, flush=True)
    async with listener:
        await finished
